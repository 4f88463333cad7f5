// Sync links under attack, between real syncd processes on loopback (issue 10): only enrolled
// CURVE keys link and every refusal is counted with its reason; a rotated or revoked key loses
// its live link; impostors never disturb a live session; hostile bytes from outsiders and from
// an enrolled station change nothing they may not change while the hub keeps answering; clocks
// out of bounds are refused and say why; look-ups are audited and rate-limited; what a peer
// sends reaches the log escaped and bounded.
#include <cstdio>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>

#include <capnp/message.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "schema/store.capnp.h"
#include "schema/sync.capnp.h"
#include "sync/codec/capnp_io.h"
#include "sync/codec/sync_codec.h"
#include "sync/records/hlc.h"
#include "sync/transport/api_client.h"
#include "sync/transport/curve_key.h"

#include "tests/support/process.h"
#include "tests/support/raw_sync_client.h"

namespace stationsync {
namespace {

using testing::FreeTcpEndpoint;
using testing::RawSyncClient;
using testing::StationDaemon;
using testing::WaitUntil;
using Json = nlohmann::json;

constexpr auto kSettle = std::chrono::seconds(20);  // bound on waits for a link to settle
constexpr char kSyncTimeout[] = "60";
// The hub's peak RSS during the hostile-input test must stay under this (ASan build; measured
// about 150 MB, see the issue note). A decoder that trusted a list's claimed length would need
// hundreds of MB for one 100-byte frame.
constexpr long kHostileHubPeakKbMax = 400 * 1024;

std::string PersonnelJson(const std::string& name) {
  return fmt::format(R"({{"name":"{}","role":"officer"}})", name);
}

// Peak resident memory of a process (VmHWM, kB), or -1.
long PeakRssKb(pid_t pid) {
  std::ifstream status(fmt::format("/proc/{}/status", pid));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

class SecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    hub_ = StationDaemon::Hub(endpoint_);
    ASSERT_TRUE(hub_->Start()) << hub_->Log();
  }

  void Register(const std::string& unit) {
    const auto put = hub_->Ctl(
        {"unit", "put", unit, fmt::format(R"({{"name":"{} 派出所","kind":"station"}})", unit)});
    ASSERT_EQ(put.exit_code, 0) << put.err;
  }

  // A station of `unit` linked to the hub; enrolled or not; extra syncd flags.
  StationDaemon& AddStation(const std::string& unit, bool enroll,
                            std::vector<std::string> extra_args = {}) {
    nodes_.push_back(StationDaemon::Station(unit, *hub_));
    StationDaemon& node = *nodes_.back();
    node.role().extra_args = std::move(extra_args);
    if (enroll) {
      EXPECT_EQ(node.Enroll(*hub_), 0) << unit;
    }
    EXPECT_TRUE(node.Start()) << node.Log();
    return node;
  }

  static void Put(const StationDaemon& node, const std::string& id) {
    const auto put = node.Ctl({"put", "personnel", id, PersonnelJson("民警" + id)});
    ASSERT_EQ(put.exit_code, 0) << node.unit() << ": " << put.err;
  }
  static void WaitSynced(const StationDaemon& node) {
    const auto wait = node.Ctl({"wait-synced", "--timeout", kSyncTimeout});
    ASSERT_EQ(wait.exit_code, 0) << node.unit() << ": " << wait.err << "\n" << node.Log();
  }
  static Json Status(const StationDaemon& node) {
    const auto status = node.Ctl({"status", "--json"});
    return status.exit_code == 0 ? Json::parse(status.out) : Json();
  }
  Json HubEntry(const std::string& unit) const {
    const Json status = Status(*hub_);
    for (const Json& station : status["stations"]) {
      if (station["unit"] == unit) return station;
    }
    return Json();
  }
  bool HubHolds(const std::string& id) const {
    return hub_->Ctl({"get", "personnel", id}).exit_code == 0;
  }
  // Waits until the node's status says `what` in hub_refusal.
  static bool RefusalSays(const StationDaemon& node, const std::string& what) {
    return WaitUntil(
        [&] {
          const Json status = Status(node);
          return status.is_object() &&
                 status["hub_refusal"].get<std::string>().find(what) != std::string::npos;
        },
        kSettle);
  }
  static size_t Count(const std::string& text, const std::string& what) {
    size_t count = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
      ++count;
    }
    return count;
  }

  std::string endpoint_ = FreeTcpEndpoint();
  std::unique_ptr<StationDaemon> hub_;
  std::vector<std::unique_ptr<StationDaemon>> nodes_;
};

TEST_F(SecurityTest, OnlyEnrolledKeysLinkAndEveryRefusalIsCountedWithItsReason) {
  for (const char* unit : {"P01", "P02", "P03"}) ASSERT_NO_FATAL_FAILURE(Register(unit));
  StationDaemon& p01 = AddStation("P01", /*enroll=*/true);
  ASSERT_NO_FATAL_FAILURE(Put(p01, "100001"));
  ASSERT_NO_FATAL_FAILURE(WaitSynced(p01));

  // No key at all: a plaintext station.
  testing::DaemonRole plaintext_role;
  plaintext_role.sync = endpoint_;
  plaintext_role.insecure = true;
  nodes_.push_back(std::make_unique<StationDaemon>("P01", "", plaintext_role));
  StationDaemon& plaintext = *nodes_.back();
  ASSERT_TRUE(plaintext.Start()) << plaintext.Log();
  ASSERT_NO_FATAL_FAILURE(Put(plaintext, "900001"));
  // A key the hub never saw.
  StationDaemon& unknown = AddStation("P01", /*enroll=*/false);
  ASSERT_NO_FATAL_FAILURE(Put(unknown, "900002"));
  // P02's enrolled key saying hello as P01.
  auto p02 = StationDaemon::Station("P02", *hub_);
  ASSERT_EQ(p02->Enroll(*hub_), 0);
  StationDaemon& impostor = AddStation("P01", /*enroll=*/false, {"--key", p02->secret_key_path()});
  ASSERT_NO_FATAL_FAILURE(Put(impostor, "900003"));
  // A key revoked while its station is linked.
  StationDaemon& p03 = AddStation("P03", /*enroll=*/true);
  ASSERT_NO_FATAL_FAILURE(Put(p03, "300001"));
  ASSERT_NO_FATAL_FAILURE(WaitSynced(p03));
  ASSERT_EQ(hub_->Ctl({"unit", "revoke", "P03"}).exit_code, 0);
  EXPECT_TRUE(
      WaitUntil([&] { return !HubEntry("P03")["connected"].get<bool>(); }, std::chrono::seconds(3)))
      << "the revoked key's link is still up";
  ASSERT_NO_FATAL_FAILURE(Put(p03, "900004"));

  EXPECT_TRUE(RefusalSays(plaintext, "mechanism mismatch")) << plaintext.Log();
  EXPECT_TRUE(RefusalSays(unknown, "key was refused")) << unknown.Log();
  EXPECT_TRUE(RefusalSays(impostor, "enrolled for P02")) << impostor.Log();
  EXPECT_TRUE(RefusalSays(p03, "refused")) << p03.Log();
  for (const StationDaemon* node : {&plaintext, &unknown, &impostor, &p03}) {
    EXPECT_FALSE(Status(*node)["hub_connected"].get<bool>()) << node->Log();
  }

  // Nothing of theirs was stored, and each refusal is counted with its reason.
  for (const char* id : {"900001", "900002", "900003", "900004"}) EXPECT_FALSE(HubHolds(id)) << id;
  EXPECT_TRUE(HubHolds("100001"));
  EXPECT_TRUE(HubHolds("300001"));
  const Json hub = Status(*hub_);
  EXPECT_GE(hub["refused_handshake_total"].get<int>(), 1) << hub.dump();
  EXPECT_GE(hub["refused_unknown_key_total"].get<int>(), 2) << hub.dump();  // unknown, revoked
  const Json p02_entry = HubEntry("P02");
  EXPECT_GE(p02_entry["refused_total"].get<int>(), 1) << p02_entry.dump();
  EXPECT_NE(p02_entry["last_refusal"].get<std::string>().find("named unit P01"), std::string::npos)
      << p02_entry.dump();
  const Json p03_entry = HubEntry("P03");
  EXPECT_TRUE(p03_entry["key"].is_null()) << p03_entry.dump();
  EXPECT_NE(p03_entry["last_refusal"].get<std::string>().find("revoked"), std::string::npos)
      << p03_entry.dump();
  // The real P01 was never disturbed.
  const Json p01_entry = HubEntry("P01");
  EXPECT_TRUE(p01_entry["connected"].get<bool>()) << p01_entry.dump();
  EXPECT_EQ(p01_entry["key"], p01.public_key());
  EXPECT_EQ(p01_entry["refused_total"], 0) << p01_entry.dump();
  EXPECT_EQ(Status(p01)["public_key"], p01.public_key());
  EXPECT_FALSE(hub["public_key"].get<std::string>().empty());
}

TEST_F(SecurityTest, ARotatedKeyDropsTheOldLinkAndTheNewOneResumesWithoutASnapshot) {
  ASSERT_NO_FATAL_FAILURE(Register("P01"));
  StationDaemon& p01 = AddStation("P01", /*enroll=*/true);
  ASSERT_NO_FATAL_FAILURE(Put(p01, "100001"));
  ASSERT_NO_FATAL_FAILURE(WaitSynced(p01));

  const std::string new_cert = p01.data() + "/rotated.cert";
  const auto keygen =
      testing::RunCommand({testing::BinPath("syncctl"), "keygen", "--out", new_cert});
  ASSERT_EQ(keygen.exit_code, 0) << keygen.err;
  const std::string new_key = keygen.out.substr(0, kCurveKeyZ85Chars);
  ASSERT_TRUE(IsCurveKey(new_key)) << keygen.out;
  ASSERT_EQ(hub_->Ctl({"unit", "enroll", "P01", "@" + new_cert}).exit_code, 0);
  EXPECT_TRUE(
      WaitUntil([&] { return !HubEntry("P01")["connected"].get<bool>(); }, std::chrono::seconds(3)))
      << "the old key's link is still up";
  EXPECT_EQ(HubEntry("P01")["key"], new_key);
  EXPECT_NE(HubEntry("P01")["last_refusal"].get<std::string>().find("revoked or replaced"),
            std::string::npos);

  // Written while the station cannot sync; then it restarts with the new key.
  ASSERT_NO_FATAL_FAILURE(Put(p01, "100002"));
  ASSERT_EQ(p01.Stop(), 0);
  p01.role().extra_args = {"--key", new_cert + "_secret"};
  ASSERT_TRUE(p01.Start()) << p01.Log();
  ASSERT_NO_FATAL_FAILURE(WaitSynced(p01));
  EXPECT_TRUE(HubHolds("100002"));
  EXPECT_EQ(Status(p01)["public_key"], new_key);
  // The hub linked it twice, and the second time from its stored positions.
  const std::string log = hub_->Log();
  ASSERT_EQ(Count(log, "station P01 linked"), 2u) << log;
  const std::string second = log.substr(log.rfind("station P01 linked"));
  EXPECT_EQ(second.substr(0, second.find('\n')).find("snapshot"), std::string::npos) << second;
}

TEST_F(SecurityTest, ImpostorsClaimingALiveStationNeverDisturbIt) {
  for (const char* unit : {"P01", "P02"}) ASSERT_NO_FATAL_FAILURE(Register(unit));
  StationDaemon& p01 = AddStation("P01", /*enroll=*/true);
  ASSERT_NO_FATAL_FAILURE(Put(p01, "100000"));
  ASSERT_NO_FATAL_FAILURE(WaitSynced(p01));
  const uint64_t up_before = HubEntry("P01")["up_total"].get<uint64_t>();

  auto p02 = StationDaemon::Station("P02", *hub_);
  ASSERT_EQ(p02->Enroll(*hub_), 0);
  AddStation("P01", /*enroll=*/false, {"--key", p02->secret_key_path()});
  AddStation("P01", /*enroll=*/false);
  // A hand-made link with P02's key: Hellos for P01 that would reset its positions, and stream
  // messages on links it has no session for.
  zmq::context_t context(1);
  RawSyncClient raw(context, endpoint_, testing::KeyPairIn(p02->secret_key_path()),
                    hub_->public_key());
  Hello forged;
  forged.unit = forged.node = "P01";
  forged.epoch = "forged-epoch";
  for (int i = 0; i < 20; ++i) {
    ASSERT_NO_FATAL_FAILURE(Put(p01, fmt::format("1000{:02}", i + 1)));
    raw.Send(SyncMessage{static_cast<uint64_t>(i + 1), forged});
    raw.Send(SyncMessage{static_cast<uint64_t>(i + 1), Up{0, 1, {}, false, 0, false, {}}});
    raw.Send(SyncMessage{static_cast<uint64_t>(i + 1), DownAck{0, 0, false, true, 0}});
  }
  const auto replies = raw.Receive(std::chrono::milliseconds(500));
  for (const SyncMessage& reply : replies) {
    EXPECT_FALSE(std::holds_alternative<Welcome>(reply.body)) << "an impostor was welcomed";
  }
  ASSERT_NO_FATAL_FAILURE(WaitSynced(p01));
  const Json entry = HubEntry("P01");
  EXPECT_TRUE(entry["connected"].get<bool>()) << entry.dump();
  EXPECT_EQ(entry["up_total"].get<uint64_t>(), up_before + 20) << entry.dump();
  EXPECT_EQ(entry["refused_total"], 0) << entry.dump();
  EXPECT_EQ(Count(hub_->Log(), "station P01 linked"), 1u) << hub_->Log();
  for (int i = 0; i <= 20; ++i) EXPECT_TRUE(HubHolds(fmt::format("1000{:02}", i)));
}

// A message whose Up.changes claims a million elements of zero size in under a hundred bytes:
// Cap'n Proto lets such a list pass its bounds check, so only a budget tied to the frame's size
// stops a decoder from reserving a million records.
std::string HugeClaimFrame() {
  capnp::MallocMessageBuilder builder;
  auto message = builder.initRoot<schema::SyncMessage>();
  message.setLink(1);
  message.initUp().initChanges(0);
  std::string bytes = MessageBytes(builder);
  const auto size = capnp::_::structSize<schema::Record>();
  const uint64_t empty_tag = (uint64_t{size.pointers} << 48) | (uint64_t{size.data} << 32);
  const uint64_t huge_tag = uint64_t{1'000'000} << 2;  // a million elements of no words each
  for (size_t at = 8; at + 8 <= bytes.size(); at += 8) {
    uint64_t word = 0;
    std::memcpy(&word, bytes.data() + at, 8);
    if (word == empty_tag) std::memcpy(bytes.data() + at, &huge_tag, 8);
  }
  return bytes;
}

TEST_F(SecurityTest, HostileBytesFromOutsidersAndAnEnrolledStationChangeOnlyWhatTheyMay) {
  for (const char* unit : {"P01", "P02"}) ASSERT_NO_FATAL_FAILURE(Register(unit));
  StationDaemon& p02 = AddStation("P02", /*enroll=*/true);
  for (const char* id : {"200001", "200002", "200003"}) ASSERT_NO_FATAL_FAILURE(Put(p02, id));
  ASSERT_NO_FATAL_FAILURE(WaitSynced(p02));
  ASSERT_EQ(p02.Stop(), 0);  // P02's records must come through untouched
  const auto digest_before = hub_->Ctl({"digest", "--scope", "P02", "--json"});
  ASSERT_EQ(digest_before.exit_code, 0) << digest_before.err;
  ASSERT_TRUE(HugeClaimFrame().size() < 100) << HugeClaimFrame().size();

  // P01's key is enrolled but P01 is a hostile program, not syncd.
  auto p01 = StationDaemon::Station("P01", *hub_);
  ASSERT_EQ(p01->Enroll(*hub_), 0);
  zmq::context_t context(1);
  RawSyncClient enrolled(context, endpoint_, testing::KeyPairIn(p01->secret_key_path()),
                         hub_->public_key());
  RawSyncClient outsider(context, endpoint_, GenerateKeyPair(), hub_->public_key());
  RawSyncClient plaintext(context, endpoint_, std::nullopt, "");
  ApiClient ping(hub_->api(), std::chrono::seconds(1), "tester");
  auto hub_answers = [&] { return ping.Ping().ok(); };

  // Valid messages, the raw material of the mutations.
  Hello hello;
  hello.unit = hello.node = "P01";
  hello.epoch = "hostile";
  Record own;  // a valid change of P01's own record, as syncd would send it
  own.table = Table::kPersonnel;
  own.id = "100001";
  own.owner = "P01";
  const uint64_t hlc = Hlc::Make(SystemClock().NowMs(), 0);
  own.owner_stamp = own.updated = {hlc, "P01"};
  own.fields["name"] = {std::string("甲"), {hlc, "P01"}, "0101"};
  own.fields["role"] = {std::string("officer"), {hlc, "P01"}, "0101"};
  own.seen["P01"] = hlc;
  own.actor = "0101";
  Record foreign = own;  // the same, claiming a P02 record
  foreign.id = "200001";
  foreign.owner = "P02";
  const std::vector<std::string> valid = {
      EncodeSyncMessage({7, hello}),
      EncodeSyncMessage({7, Up{0, 1, {own}, false, 0, false, own.updated}}),
      EncodeSyncMessage({7, Up{1, 2, {foreign}, false, 0, false, foreign.updated}}),
      EncodeSyncMessage({7, Up{0, 0, {own, foreign}, true, 0, true, {}}}),
      EncodeSyncMessage({7, DownAck{3, 0, false, false, 0}}),
      EncodeSyncMessage({7, Heartbeat{1, 0}}),
      EncodeSyncMessage({7, Lookup{1, Table::kPersonnel, "200001", "0101"}}),
  };
  std::mt19937_64 random(20261201);
  auto random_bytes = [&](size_t n) {
    std::string bytes(n, '\0');
    for (char& c : bytes) c = static_cast<char>(random() & 0xff);
    return bytes;
  };

  enrolled.Send(valid[0]);
  ASSERT_TRUE(WaitUntil(hub_answers, std::chrono::seconds(5)));
  // Claims of huge lists, from the enrolled station and from outsiders.
  for (int i = 0; i < 50; ++i) {
    for (RawSyncClient* client : {&enrolled, &outsider, &plaintext}) client->Send(HugeClaimFrame());
  }
  ASSERT_TRUE(hub_answers());
  // A pointer to itself (a cycle as deep as the reader would follow), truncated messages, one
  // frame over the size limit (libzmq drops that connection; the client reconnects).
  std::string cycle(24, '\0');
  const uint64_t segment = uint64_t{2} << 32;            // one segment of two words
  const uint64_t self = static_cast<uint64_t>(-1) << 2;  // a struct pointer at offset -1
  std::memcpy(cycle.data(), &segment, 8);
  std::memcpy(cycle.data() + 8, &self, 8);
  std::memcpy(cycle.data() + 16, &self, 8);
  for (int i = 0; i < 20; ++i) enrolled.Send(cycle);
  for (const std::string& message : valid) {
    for (size_t cut = 0; cut < message.size(); cut += 3) enrolled.Send(message.substr(0, cut));
  }
  enrolled.Send(random_bytes(kMessageBytesMax + 1024));
  ASSERT_TRUE(WaitUntil(hub_answers, std::chrono::seconds(5)));
  // Random bytes on the raw TCP port.
  for (int i = 0; i < 100; ++i) {
    testing::SendRawTcp(endpoint_, random_bytes(random() % 4096));
  }
  ASSERT_TRUE(hub_answers());
  // 10,000 seeded mutations of the valid messages, from the enrolled key.
  int slow_pings = 0;
  for (int i = 0; i < 10'000; ++i) {
    std::string bytes = valid[random() % valid.size()];
    const int flips = 1 + static_cast<int>(random() % 8);
    for (int f = 0; f < flips; ++f) {
      bytes[random() % bytes.size()] = static_cast<char>(random() & 0xff);
    }
    if (random() % 10 == 0) bytes.resize(random() % bytes.size());
    while (!enrolled.Send(bytes)) enrolled.Receive(std::chrono::milliseconds(10));
    if (i % 1000 == 999) {
      enrolled.Receive(std::chrono::milliseconds(10));  // drain the hub's answers
      if (!hub_answers()) ++slow_pings;
    }
  }
  EXPECT_EQ(slow_pings, 0) << "the hub missed a ping deadline of 1 s during the mutations";
  ASSERT_TRUE(WaitUntil(hub_answers, std::chrono::seconds(5)));
  ASSERT_TRUE(hub_->process()->running()) << hub_->Log();

  const long peak_kb = PeakRssKb(hub_->process()->pid());
  RecordProperty("hub_peak_rss_kb", std::to_string(peak_kb));
  std::printf("hub peak RSS during hostile input: %ld kB\n", peak_kb);
  EXPECT_GT(peak_kb, 0);
  EXPECT_LT(peak_kb, kHostileHubPeakKbMax);
  // P02's records are exactly as they were; whatever changed is P01's own.
  const auto digest_after = hub_->Ctl({"digest", "--scope", "P02", "--json"});
  EXPECT_EQ(digest_after.out, digest_before.out);
  const auto all = hub_->Ctl({"export", "personnel"});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  std::istringstream lines(all.out);
  for (std::string line; std::getline(lines, line);) {
    const Json record = Json::parse(line);
    if (record["owner"] != "P02") {
      EXPECT_EQ(record["owner"], "P01") << line;
    }
  }
}

TEST_F(SecurityTest, AClockADayAheadIsRefusedAndSaysWhyWhileThirtySecondsSyncs) {
  for (const char* unit : {"P01", "P02"}) ASSERT_NO_FATAL_FAILURE(Register(unit));
  constexpr int64_t kDayMs = 86'400'000;
  StationDaemon& ahead_day =
      AddStation("P01", /*enroll=*/true, {"--TEST-clock-offset-ms", std::to_string(kDayMs)});
  ASSERT_NO_FATAL_FAILURE(Put(ahead_day, "100001"));
  StationDaemon& ahead_30s =
      AddStation("P02", /*enroll=*/true, {"--TEST-clock-offset-ms", "30000"});
  ASSERT_NO_FATAL_FAILURE(Put(ahead_30s, "200001"));

  ASSERT_NO_FATAL_FAILURE(WaitSynced(ahead_30s));
  EXPECT_TRUE(HubHolds("200001"));
  const Json synced = Status(ahead_30s);
  EXPECT_NEAR(synced["clock_ahead_ms"].get<double>(), 30'000, 5'000) << synced.dump();
  EXPECT_EQ(synced["hub_refusal"], "") << synced.dump();

  ASSERT_TRUE(RefusalSays(ahead_day, "ahead of the hub's")) << ahead_day.Log();
  const Json refused = Status(ahead_day);
  EXPECT_NEAR(refused["clock_ahead_ms"].get<double>(), kDayMs, 60'000) << refused.dump();
  EXPECT_FALSE(refused["hub_connected"].get<bool>());
  EXPECT_NE(HubEntry("P01")["last_refusal"].get<std::string>().find("clock"), std::string::npos)
      << HubEntry("P01").dump();
  EXPECT_FALSE(HubHolds("100001"));

  // No stamp at the hub is past its clock plus the limit (versions are "<hlc hex>-<node>").
  const auto all = hub_->Ctl({"export"});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  const int64_t limit_ms = SystemClock().NowMs() + kMaxClockAheadMsDefault;
  std::istringstream lines(all.out);
  int checked = 0;
  for (std::string line; std::getline(lines, line); ++checked) {
    const std::string version = Json::parse(line)["version"];
    const uint64_t stamp = std::stoull(version.substr(0, version.find('-')), nullptr, 16);
    EXPECT_LE(Hlc::PhysicalMs(stamp), limit_ms) << line;
  }
  EXPECT_GE(checked, 3);
}

TEST_F(SecurityTest, LookUpsAreAuditedWithTheActorAndRateLimited) {
  for (const char* unit : {"P01", "P02"}) ASSERT_NO_FATAL_FAILURE(Register(unit));
  const auto put = hub_->Ctl({"put", "personnel", "200001", PersonnelJson("乙"), "--owner", "P02"});
  ASSERT_EQ(put.exit_code, 0) << put.err;
  StationDaemon& p01 = AddStation("P01", /*enroll=*/true);
  ASSERT_NO_FATAL_FAILURE(WaitSynced(p01));
  auto remote_get = [&](const std::string& actor) {
    return testing::RunCommand({testing::BinPath("syncctl"), "--api", p01.api(), "--actor", actor,
                                "get", "personnel", "200001", "--remote"});
  };
  const auto first = remote_get("0419");
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_TRUE(WaitUntil(
      [&] {
        return hub_->Log().find("audit: station P01 (actor 0419) looked up personnel 200001") !=
               std::string::npos;
      },
      std::chrono::seconds(5)))
      << hub_->Log();
  int refused = 0;
  for (int i = 0; i < 64; ++i) {
    const auto again = remote_get("0419");
    if (again.exit_code != 0) {
      EXPECT_NE(again.err.find("too many look-ups"), std::string::npos) << again.err;
      ++refused;
    }
  }
  // 60 a minute: the first 59 of these were answered, the rest refused (the loop takes well
  // under a minute; if it ever took longer, a new window would answer a few more).
  EXPECT_GE(refused, 1);
  EXPECT_LE(refused, 5);
  EXPECT_GE(HubEntry("P01")["refused_total"].get<int>(), 1);
}

TEST_F(SecurityTest, WhatAPeerSendsReachesTheLogEscapedAndBounded) {
  for (const char* unit : {"P01", "P02"}) ASSERT_NO_FATAL_FAILURE(Register(unit));
  auto p02 = StationDaemon::Station("P02", *hub_);
  ASSERT_EQ(p02->Enroll(*hub_), 0);
  zmq::context_t context(1);
  RawSyncClient raw(context, endpoint_, testing::KeyPairIn(p02->secret_key_path()),
                    hub_->public_key());
  Hello hello;
  hello.unit = "P01\n2026-12-01T00:00:00.000 info syncd[1] INJECTED\r\x1b[31m";
  hello.node = "P02";
  ASSERT_TRUE(raw.Send(SyncMessage{1, hello}));
  ASSERT_FALSE(raw.Receive(std::chrono::milliseconds(2000)).empty());
  // A flood of frames that are not messages.
  for (int i = 0; i < 500; ++i) raw.Send(std::string(16, static_cast<char>(i)));
  raw.Receive(std::chrono::milliseconds(1500));
  ASSERT_TRUE(hub_->Stop().has_value());

  const std::string log = hub_->Log();
  EXPECT_NE(log.find(R"(unit P01\n2026-12-01T00:00:00.000 info syncd[1] INJECTED\r\x1b[31m)"),
            std::string::npos)
      << log;
  const std::regex syncd_line(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3} \w+ syncd\[\d+\] )");
  std::istringstream lines(log);
  size_t malformed = 0;
  for (std::string line; std::getline(lines, line);) {
    EXPECT_TRUE(std::regex_search(line, syncd_line)) << "a line syncd did not start: " << line;
    EXPECT_EQ(line.find('\x1b'), std::string::npos) << line;
    EXPECT_EQ(line.find('\r'), std::string::npos) << line;
    if (line.find("malformed") != std::string::npos) ++malformed;
  }
  EXPECT_GE(malformed, 1u);
  EXPECT_LE(malformed, 21u);  // kPeerLinesPerWindow, plus none: the rest is counted
}

TEST_F(SecurityTest, InsecureLinksRunOnLoopbackOnPurposeWithIdentityFromHello) {
  testing::DaemonRole role;
  role.hub = true;
  role.sync = FreeTcpEndpoint();
  role.insecure = true;
  StationDaemon plain_hub("hub", "", role);
  ASSERT_TRUE(plain_hub.Start()) << plain_hub.Log();
  EXPECT_EQ(Status(plain_hub)["public_key"], "");
  const auto put =
      plain_hub.Ctl({"unit", "put", "P01", R"({"name":"P01 派出所","kind":"station"})"});
  ASSERT_EQ(put.exit_code, 0) << put.err;
  auto p01 = StationDaemon::Station("P01", plain_hub);
  auto stranger = StationDaemon::Station("P09", plain_hub);
  ASSERT_TRUE(p01->Start()) << p01->Log();
  ASSERT_TRUE(stranger->Start()) << stranger->Log();
  ASSERT_NO_FATAL_FAILURE(Put(*p01, "100001"));
  ASSERT_NO_FATAL_FAILURE(WaitSynced(*p01));
  EXPECT_EQ(plain_hub.Ctl({"get", "personnel", "100001"}).exit_code, 0);
  // Identity from Hello: an unregistered unit is refused, with the reason in both logs.
  ASSERT_TRUE(RefusalSays(*stranger, "not in the hub's registry")) << stranger->Log();
  EXPECT_NE(plain_hub.Log().find("refused a station link from unit P09"), std::string::npos)
      << plain_hub.Log();
  EXPECT_EQ(stranger->Ctl({"wait-synced", "--timeout", "1"}).exit_code, 1);
  // A CURVE station cannot talk to a plaintext hub either.
  auto curve_station = StationDaemon::Station("P01", *hub_);
  curve_station->role().sync = plain_hub.role().sync;
  ASSERT_TRUE(curve_station->Start()) << curve_station->Log();
  EXPECT_TRUE(RefusalSays(*curve_station, "mechanism mismatch")) << curve_station->Log();
}

}  // namespace
}  // namespace stationsync
