// The pieces that decide whom and what to trust, in-process (issue 10): certificate files, the
// hub's identity rules (who a message is from comes from its key), the clock bound, decoding
// budgets on hostile bytes, and logs that escape and bound what peers send. security_test.cc
// drives the same rules through real daemons.
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <capnp/message.h>
#include <czmq.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "schema/store.capnp.h"
#include "schema/sync.capnp.h"
#include "sync/base/log_guard.h"
#include "sync/codec/capnp_io.h"
#include "sync/codec/record_codec.h"
#include "sync/codec/sync_codec.h"
#include "sync/protocol/hub.h"
#include "sync/records/clock_bound.h"
#include "sync/records/hlc.h"
#include "sync/storage/replica.h"
#include "sync/transport/curve_key.h"

#include "tests/support/process.h"

namespace stationsync {
namespace {

using testing::TempDir;

constexpr int64_t kNowMs = 1'700'000'000'000;
constexpr int64_t kDayMs = 86'400'000;

mode_t ModeOf(const std::string& path) {
  struct stat info {};
  EXPECT_EQ(::stat(path.c_str(), &info), 0) << path;
  return info.st_mode & 0777;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// --- Certificate files -------------------------------------------------------------------

TEST(CurveKey, CertificatesRoundTripInCzmqsFormatWithAPrivateSecretFile) {
  TempDir dir;
  const CurveKeyPair pair = GenerateKeyPair();
  ASSERT_TRUE(IsCurveKey(pair.public_z85));
  ASSERT_TRUE(IsCurveKey(pair.secret_z85));
  const std::string path = dir / "p01.cert";
  ASSERT_TRUE(SaveCertificate(path, pair).ok());
  EXPECT_EQ(ModeOf(path + "_secret"), 0600u);
  // The public file holds the public key only, as czmq's zcert reads it.
  const std::string public_text = ReadFile(path);
  EXPECT_NE(public_text.find("public-key = \"" + pair.public_z85 + "\""), std::string::npos);
  EXPECT_EQ(public_text.find("secret-key"), std::string::npos) << public_text;
  zcert_t* cert = zcert_load(path.c_str());
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(std::string(zcert_public_txt(cert)), pair.public_z85);
  zcert_destroy(&cert);
  // Loaded back by either name.
  for (const std::string& name : {path, path + "_secret"}) {
    auto loaded = LoadSecretCertificate(name);
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    EXPECT_EQ(loaded->public_z85, pair.public_z85);
    EXPECT_EQ(loaded->secret_z85, pair.secret_z85);
  }
}

TEST(CurveKey, DamagedMissingOrMismatchedCertificatesAreRefusedByName) {
  TempDir dir;
  const std::string path = dir / "node.cert";
  EXPECT_EQ(LoadSecretCertificate(path).status().code(), Code::kNotFound);
  ASSERT_TRUE(SaveCertificate(path, GenerateKeyPair()).ok());
  // Another pair's public key beside this secret key.
  std::string text = ReadFile(path + "_secret");
  const std::string other = GenerateKeyPair().public_z85;
  const size_t at = text.find("public-key = \"") + 14;
  text.replace(at, kCurveKeyZ85Chars, other);
  std::ofstream(path + "_secret") << text;
  auto mismatched = LoadSecretCertificate(path);
  EXPECT_EQ(mismatched.status().code(), Code::kInvalid);
  EXPECT_NE(mismatched.status().message().find("no matching"), std::string::npos);
  std::ofstream(path + "_secret") << "curve\n    secret-key = \"short\"\n";
  EXPECT_EQ(LoadSecretCertificate(path).status().code(), Code::kInvalid);
}

TEST(CurveKey, ANodeMakesItsPairOnceAndRefusesASecretOthersCanRead) {
  TempDir dir;
  auto first = LoadOrCreateNodeCertificate(dir.path());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = LoadOrCreateNodeCertificate(dir.path());
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(first->public_z85, second->public_z85);
  ASSERT_EQ(::chmod((dir / "node.cert_secret").c_str(), 0644), 0);
  auto exposed = LoadOrCreateNodeCertificate(dir.path());
  EXPECT_EQ(exposed.status().code(), Code::kRefused);
  EXPECT_NE(exposed.status().message().find("chmod 600"), std::string::npos);
}

TEST(CurveKey, PublicKeyArgumentsAreZ85OrAFileAndAKeyStartingWithAtIsAKey) {
  TempDir dir;
  const CurveKeyPair pair = GenerateKeyPair();
  ASSERT_TRUE(SaveCertificate(dir / "hub.cert", pair).ok());
  EXPECT_EQ(*ParsePublicKey(pair.public_z85), pair.public_z85);
  EXPECT_EQ(*ParsePublicKey("@" + (dir / "hub.cert")), pair.public_z85);
  EXPECT_EQ(*ParsePublicKey("@" + (dir / "hub.cert_secret")), pair.public_z85);
  // '@' is Z85: a key that starts with it is still a key.
  std::string at_key;
  for (int i = 0; i < 10'000 && at_key.empty(); ++i) {
    const std::string key = GenerateKeyPair().public_z85;
    if (key[0] == '@') at_key = key;
  }
  ASSERT_FALSE(at_key.empty());
  EXPECT_EQ(*ParsePublicKey(at_key), at_key);
  for (const std::string& bad :
       std::vector<std::string>{"", "short", std::string(40, ' '), "@" + (dir / "missing")}) {
    auto parsed = ParsePublicKey(bad);
    EXPECT_EQ(parsed.status().code(), Code::kInvalid) << bad;
  }
}

// --- Clocks ------------------------------------------------------------------------------

TEST(ClockBound, AStampBeyondTheBoundIsNeverAdoptedAndTheClockNeverRunsBack) {
  ManualClock clock(kNowMs);
  Hlc hlc(&clock, 0, kMaxClockAheadMsDefault);
  const uint64_t first = hlc.Now();
  EXPECT_FALSE(hlc.Observe(Hlc::Make(kNowMs + kDayMs, 0)));
  EXPECT_FALSE(hlc.Observe(UINT64_MAX));  // the end of the range: would wrap on the next Now
  EXPECT_EQ(hlc.last(), first);
  EXPECT_TRUE(hlc.Observe(Hlc::Make(kNowMs + 30'000, 7)));
  EXPECT_EQ(hlc.last(), Hlc::Make(kNowMs + 30'000, 7));
  clock.Set(kNowMs - kDayMs);  // the wall clock jumps back a day
  uint64_t previous = hlc.last();
  for (int i = 0; i < 1000; ++i) {
    const uint64_t next = hlc.Now();
    EXPECT_GT(next, previous);
    previous = next;
  }
}

TEST(ClockBound, StampsAheadLooksAtEveryStampOfEveryRecord) {
  Record record;
  record.updated = {Hlc::Make(kNowMs, 0), "P01"};
  EXPECT_EQ(StampsAheadMs({record}, kNowMs, kMaxClockAheadMsDefault), 0);
  Record field_ahead = record;
  field_ahead.fields["name"] = {std::string("x"), {Hlc::Make(kNowMs + kDayMs, 0), "P01"}, "a"};
  EXPECT_EQ(StampsAheadMs({record, field_ahead}, kNowMs, kMaxClockAheadMsDefault), kDayMs);
  Record seen_ahead = record;
  seen_ahead.seen["P02"] = Hlc::Make(kNowMs + 10 * 60'000, 0);
  EXPECT_EQ(StampsAheadMs({seen_ahead}, kNowMs, kMaxClockAheadMsDefault), 10 * 60'000);
}

// --- Decoding budgets --------------------------------------------------------------------

// A SyncMessage whose Up.changes claims `count` zero-sized elements (no bytes behind them).
std::string ClaimingFrame(uint32_t count) {
  capnp::MallocMessageBuilder builder;
  builder.initRoot<schema::SyncMessage>().initUp().initChanges(0);
  std::string bytes = MessageBytes(builder);
  const auto size = capnp::_::structSize<schema::Record>();
  const uint64_t empty_tag = (uint64_t{size.pointers} << 48) | (uint64_t{size.data} << 32);
  const uint64_t claim = uint64_t{count} << 2;
  for (size_t at = 8; at + 8 <= bytes.size(); at += 8) {
    if (std::memcmp(bytes.data() + at, &empty_tag, 8) == 0)
      std::memcpy(bytes.data() + at, &claim, 8);
  }
  return bytes;
}

TEST(DecodeBudget, AListClaimingMoreThanItsFrameCanHoldIsRefusedBeforeAllocation) {
  // A handful of empty records fits the budget of a small frame; a million does not.
  auto few = DecodeSyncMessage(ClaimingFrame(3));
  ASSERT_TRUE(few.ok()) << few.status().ToString();
  EXPECT_EQ(std::get<Up>(few->body).changes.size(), 3u);
  const std::string huge = ClaimingFrame(1'000'000);
  EXPECT_LT(huge.size(), 100u);
  auto refused = DecodeSyncMessage(huge);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kInvalid);
  EXPECT_NE(refused.status().message().find("malformed"), std::string::npos);
}

Record Officer() {
  Record record;
  record.table = Table::kPersonnel;
  record.id = "100001";
  record.owner = "P01";
  record.fields["name"] = {std::string("张伟"), {Hlc::Make(kNowMs, 0), "P01"}, "0101"};
  return record;
}

TEST(DecodeBudget, TruncatedAndRandomFramesAreRefusedNeverFatal) {
  const std::string valid = EncodeSyncMessage({9, Up{0, 1, {Officer()}, false, 0, false, {}}});
  ASSERT_TRUE(DecodeSyncMessage(valid).ok());
  for (size_t cut = 0; cut < valid.size(); ++cut) {
    EXPECT_FALSE(DecodeSyncMessage(valid.substr(0, cut)).ok()) << cut;
    (void)PeekSyncMessage(valid.substr(0, cut));
  }
  std::mt19937_64 random(20261201);
  for (int i = 0; i < 5000; ++i) {
    std::string bytes = valid;
    for (int flips = 1 + static_cast<int>(random() % 6); flips > 0; --flips) {
      bytes[random() % bytes.size()] = static_cast<char>(random());
    }
    (void)DecodeSyncMessage(bytes);  // ok or refused; ASan and UBSan watch the rest
    (void)PeekSyncMessage(bytes);
  }
}

// A snapshot page carries the hub's stored records as they are: on the wire they are records
// like any other, after the decoded ones; a damaged one is refused by TakeStoredRecords and,
// should the edge ever meet one, goes out as an empty record the station rejects.
TEST(SnapshotPage, StoredRecordsGoOutAsTheyAreAndDecodeAsRecords) {
  Record officer = Officer();
  officer.seen["P01"] = Hlc::Make(kNowMs, 0);
  Record unit;
  unit.table = Table::kUnit;
  unit.id = "P01";
  unit.deleted = true;
  unit.deleted_stamp = {Hlc::Make(kNowMs, 1), "hub"};
  Down page;
  page.snapshot = true;
  page.records = {unit};
  page.stored_records = {EncodeRecord(officer), EncodeRecord(unit)};
  auto decoded = DecodeSyncMessage(EncodeSyncMessage({9, page}));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  const Down& got = std::get<Down>(decoded->body);
  EXPECT_EQ(got.records, (std::vector<Record>{unit, officer, unit}));
  EXPECT_TRUE(got.stored_records.empty());

  Down in_process = page;  // handed over without the wire: the same records
  ASSERT_TRUE(TakeStoredRecords(in_process).ok());
  EXPECT_EQ(in_process, got);

  Down damaged = page;
  damaged.stored_records[1] = "not a record";
  const Down before = damaged;
  EXPECT_EQ(TakeStoredRecords(damaged).code(), Code::kInvalid);
  EXPECT_EQ(damaged, before);
  auto sent = DecodeSyncMessage(EncodeSyncMessage({9, damaged}));
  ASSERT_TRUE(sent.ok());
  ASSERT_EQ(std::get<Down>(sent->body).records.size(), 3u);
  EXPECT_EQ(std::get<Down>(sent->body).records[1], officer);
  EXPECT_EQ(std::get<Down>(sent->body).records[2], Record{});
}

// --- Logs --------------------------------------------------------------------------------

TEST(LogGuard, ControlCharactersAreEscapedAndLongTextCut) {
  EXPECT_EQ(EscapeForLog("P01\nfake line\r\t\x01\x7f\\"), R"(P01\nfake line\r\t\x01\x7f\\)");
  EXPECT_EQ(EscapeForLog("城里派出所"), "城里派出所");
  const std::string cut = EscapeForLog(std::string(5000, 'a'), 100);
  EXPECT_EQ(cut, std::string(100, 'a') + "...(+4900 bytes)");
  EXPECT_EQ(Clip("abcdef", 3), "abc...(+3 bytes)");
  EXPECT_EQ(Clip("abc", 3), "abc");
}

TEST(LogGuard, APeersFloodIsCountedNotLogged) {
  PeerLogLimiter limiter;
  for (int i = 0; i < 1000; ++i) limiter.Warn("test-flood", "bad frame {}", i);
  EXPECT_EQ(limiter.suppressed_total(), 1000u - kPeerLinesPerWindow);
  limiter.Warn("another", "a different category still gets its lines");
  EXPECT_EQ(limiter.suppressed_total(), 1000u - kPeerLinesPerWindow);
}

// --- The hub's identity rules ------------------------------------------------------------

class HubIdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto replica =
        Replica::Open({.path = dir_ / "hub", .node = "hub", .unit = "hub", .clock = &clock_});
    ASSERT_TRUE(replica.ok()) << replica.status().ToString();
    replica_ = std::move(replica).value();
    for (const auto& [unit, key] : {std::pair{"P01", p01_.public_z85}, {"P02", p02_.public_z85}}) {
      Write({Table::kUnit,
             unit,
             "",
             {{"name", Value(std::string(unit))},
              {"kind", Value("station")},
              {"public_key", Value(key)}}});
    }
    hub_ = std::make_unique<Hub>(*replica_, SessionOptions{}, /*authenticate=*/true);
  }

  void Write(RecordPatch patch) {
    const auto outcome = replica_->Write({{"admin", {{false, std::move(patch)}}}});
    ASSERT_TRUE(outcome.front().status.ok()) << outcome.front().status.ToString();
  }
  SyncMessage HelloFrom(const std::string& unit, int64_t clock_ms = kNowMs) const {
    Hello hello;
    hello.unit = hello.node = unit;
    hello.epoch = "epoch-" + unit;
    hello.scope = {unit};
    hello.clock_ms = clock_ms;
    return {42, hello};
  }
  template <typename Body>
  static const Body* Only(const std::vector<Outgoing>& out) {
    return out.size() == 1 ? std::get_if<Body>(&out.front().message.body) : nullptr;
  }
  StationLink Entry(const std::string& unit) const {
    for (const StationLink& link : hub_->Report(now_).stations) {
      if (link.unit == unit) return link;
    }
    return {};
  }

  TempDir dir_;
  ManualClock clock_{kNowMs};
  uint64_t now_ = 1000;
  CurveKeyPair p01_ = GenerateKeyPair();
  CurveKeyPair p02_ = GenerateKeyPair();
  std::unique_ptr<Replica> replica_;
  std::unique_ptr<Hub> hub_;
};

TEST_F(HubIdentityTest, TheKeyNamesTheUnitAndAHelloCannotClaimAnother) {
  EXPECT_EQ(hub_->AdmitKey(p01_.public_z85), "");
  EXPECT_NE(hub_->AdmitKey(GenerateKeyPair().public_z85), "");
  EXPECT_EQ(hub_->Report(now_).refused_unknown_key_total, 1u);

  const auto as_other = hub_->Receive({"peer-2", p02_.public_z85}, HelloFrom("P01"), now_);
  const auto* refusal = Only<Refusal>(as_other);
  ASSERT_NE(refusal, nullptr);
  EXPECT_NE(refusal->reason.find("enrolled for P02"), std::string::npos) << refusal->reason;
  EXPECT_EQ(Entry("P02").refused_total, 1u);
  EXPECT_EQ(Entry("P01").refused_total, 0u);
  EXPECT_FALSE(Entry("P01").connected);

  const auto own = hub_->Receive({"peer-1", p01_.public_z85}, HelloFrom("P01"), now_);
  ASSERT_FALSE(own.empty());
  EXPECT_TRUE(std::holds_alternative<Welcome>(own.front().message.body));
  EXPECT_TRUE(Entry("P01").connected);
  EXPECT_EQ(Entry("P01").key, p01_.public_z85);
}

TEST_F(HubIdentityTest, OnlyTheLinksOwnKeySpeaksOnItAndOthersAreDroppedBeforeDecoding) {
  ASSERT_FALSE(hub_->Receive({"peer-1", p01_.public_z85}, HelloFrom("P01"), now_).empty());
  std::vector<Outgoing> out;
  EXPECT_TRUE(hub_->Admits({"peer-1", p01_.public_z85}, false, 42, out));
  EXPECT_TRUE(out.empty());
  // The same routing id with another key (a connection that took it over), or another peer.
  EXPECT_FALSE(hub_->Admits({"peer-1", p02_.public_z85}, false, 42, out));
  EXPECT_FALSE(hub_->Admits({"peer-9", p01_.public_z85}, false, 42, out));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(std::get<Refusal>(out[0].message.body).hello_again);
  EXPECT_TRUE(hub_->Admits({"peer-9", ""}, true, 42, out));  // a Hello is always looked at
  // And messages that get through anyway change nothing.
  const uint64_t log_end = replica_->last_seq();
  const auto replies =
      hub_->Receive({"peer-1", p02_.public_z85}, {42, Up{0, 1, {}, false, 0, false, {}}}, now_);
  EXPECT_NE(Only<Refusal>(replies), nullptr);
  EXPECT_EQ(replica_->last_seq(), log_end);
  EXPECT_TRUE(Entry("P01").connected);
}

TEST_F(HubIdentityTest, RevokingOrReplacingAKeyDropsItsLiveLinkAtOnce) {
  ASSERT_FALSE(hub_->Receive({"peer-1", p01_.public_z85}, HelloFrom("P01"), now_).empty());
  Write({Table::kUnit, "P01", "", {{"public_key", Value{}}}});
  const auto out = hub_->Pump(now_);
  bool told = false;
  for (const Outgoing& outgoing : out) {
    if (const auto* refusal = std::get_if<Refusal>(&outgoing.message.body)) {
      told = outgoing.peer == "peer-1" && refusal->reason.find("revoked") != std::string::npos;
    }
  }
  EXPECT_TRUE(told);
  EXPECT_FALSE(Entry("P01").connected);
  EXPECT_EQ(Entry("P01").key, "");
  std::vector<Outgoing> refused;
  EXPECT_FALSE(hub_->Admits({"peer-1", p01_.public_z85}, false, 42, refused));
  EXPECT_NE(hub_->AdmitKey(p01_.public_z85), "");
}

TEST_F(HubIdentityTest, AKeyEnrolledForTwoUnitsAdmitsNeither) {
  Write({Table::kUnit, "P02", "", {{"public_key", Value(p01_.public_z85)}}});
  (void)hub_->Pump(now_);
  EXPECT_NE(hub_->AdmitKey(p01_.public_z85), "");
  EXPECT_FALSE(hub_->Receive({"peer-1", p01_.public_z85}, HelloFrom("P01"), now_).empty());
  EXPECT_FALSE(Entry("P01").connected);
}

TEST_F(HubIdentityTest, AClockADayAheadIsRefusedAtHelloAndInABatch) {
  const auto ahead =
      hub_->Receive({"peer-1", p01_.public_z85}, HelloFrom("P01", kNowMs + kDayMs), now_);
  const auto* refusal = Only<Refusal>(ahead);
  ASSERT_NE(refusal, nullptr);
  EXPECT_NEAR(static_cast<double>(refusal->clock_ahead_ms), kDayMs, 1000);
  EXPECT_FALSE(Entry("P01").connected);

  // A station that says hello with a fair clock but sends a stamp from tomorrow.
  ASSERT_FALSE(hub_->Receive({"peer-1", p01_.public_z85}, HelloFrom("P01"), now_).empty());
  Record change;
  change.table = Table::kPersonnel;
  change.id = "100001";
  change.owner = "P01";
  const uint64_t tomorrow = Hlc::Make(kNowMs + kDayMs, 0);
  change.owner_stamp = change.updated = {tomorrow, "P01"};
  change.fields["name"] = {std::string("甲"), {tomorrow, "P01"}, "0101"};
  change.fields["role"] = {std::string("officer"), {tomorrow, "P01"}, "0101"};
  change.seen["P01"] = tomorrow;
  const uint64_t log_end = replica_->last_seq();
  const auto replies = hub_->Receive(
      {"peer-1", p01_.public_z85}, {42, Up{0, 1, {change}, false, 0, false, change.updated}}, now_);
  refusal = Only<Refusal>(replies);
  ASSERT_NE(refusal, nullptr);
  EXPECT_NE(refusal->reason.find("ahead of the hub's clock"), std::string::npos);
  EXPECT_EQ(replica_->last_seq(), log_end);  // not applied, not acknowledged
  EXPECT_FALSE(Entry("P01").connected);
  EXPECT_EQ(Entry("P01").refused_total, 2u);
}

TEST_F(HubIdentityTest, AStationCannotReachARecordItNeverHeldByClaimingItMissedATransfer) {
  Write({Table::kPersonnel, "200001", "P02", {{"name", Value("乙")}, {"role", Value("officer")}}});
  const Record before = **replica_->Get(Table::kPersonnel, "200001");
  ASSERT_FALSE(hub_->Receive({"peer-1", p01_.public_z85}, HelloFrom("P01"), now_).empty());
  // P01 says: this record was mine, I wrote it offline and never saw it move to P02.
  Record claim;
  claim.table = Table::kPersonnel;
  claim.id = "200001";
  claim.owner = "P01";
  const uint64_t stamp = Hlc::Make(kNowMs + 1, 0);
  claim.owner_stamp = claim.updated = {stamp, "P01"};
  claim.fields["name"] = {std::string("被改"), {stamp, "P01"}, "0101"};
  claim.seen["P01"] = stamp;
  const auto replies = hub_->Receive({"peer-1", p01_.public_z85},
                                     {42, Up{0, 1, {claim}, false, 0, false, claim.updated}}, now_);
  const auto* ack = Only<UpAck>(replies);
  ASSERT_NE(ack, nullptr);
  EXPECT_EQ(ack->rejected, 1u);
  EXPECT_EQ(**replica_->Get(Table::kPersonnel, "200001"), before);
}

}  // namespace
}  // namespace stationsync
