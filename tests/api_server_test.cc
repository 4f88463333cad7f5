// The daemon's API server run in this process, so that a test can give it any role and sync status
// and a replica holding real conflicts, and drive it with the real syncctl: the hub's status (a
// table of stations) and scope (it writes anything), wait-synced against reported links, a
// station's scope against records it holds for other units, and resolving conflicts made by
// Replica::ApplyRemote. Also the pure resolution rule (sync/storage/conflict_resolution.h).
#include "daemon/api_server.h"

#include <atomic>
#include <mutex>
#include <regex>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "sync/records/hlc.h"
#include "sync/records/record_json.h"
#include "sync/storage/conflict_resolution.h"
#include "sync/transport/api_client.h"

#include "tests/support/process.h"

namespace stationsync::testing {
namespace {

using nlohmann::json;

const char kCase[] =
    R"({"kind":"criminal","title":"t","status":"filed","reported_at":"2024-03-01T08:30:00+08:00"})";

std::vector<json> JsonLines(const std::string& text) {
  std::vector<json> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line));
  return lines;
}

std::vector<std::string> Keys(const nlohmann::ordered_json& object) {
  std::vector<std::string> keys;
  for (const auto& [key, value] : object.items()) keys.push_back(key);
  return keys;
}

StationLink Link(const std::string& unit, bool connected, uint64_t pending_up = 0,
                 uint64_t lag_records = 0) {
  StationLink link;
  link.unit = unit;
  link.connected = connected;
  link.never_seen = !connected;
  link.last_seen_ms = connected ? 120 : 0;
  link.pending_up = pending_up;
  link.lag_records = lag_records;
  return link;
}

void Write(Replica& replica, RecordPatch patch, const std::string& actor = "tester") {
  const auto outcome = replica.Write({{actor, {{false, std::move(patch)}}}});
  ASSERT_TRUE(outcome.front().status.ok()) << outcome.front().status.ToString();
}

// Everything `from` logged, as one batch for `to`.
void Ship(const Replica& from, Replica& to) {
  auto changes = from.ChangesAfter(0, 1000);
  ASSERT_TRUE(changes.ok());
  RemoteBatch batch;
  batch.peer = from.node();
  for (const auto& change : *changes) batch.changes.push_back(change.delta);
  auto outcome = to.ApplyRemote(batch);
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
}

class ApiServerTest : public ::testing::Test {
 protected:
  void TearDown() override {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

  Replica& Open(const std::string& node, const std::string& unit) {
    auto replica =
        Replica::Open({.path = dir_ / node, .node = node, .unit = unit, .clock = &clock_});
    EXPECT_TRUE(replica.ok()) << replica.status().ToString();
    replicas_.push_back(std::move(replica).value());
    return *replicas_.back();
  }

  // Serves `replica` from now on; the test must not write to it any more (one writer).
  void Serve(Replica& replica, const std::string& role, bool with_sync_status = true) {
    std::function<SyncStatus()> report;
    if (with_sync_status) {
      report = [this] {
        std::lock_guard lock(mutex_);
        return sync_;
      };
    }
    server_ = std::make_unique<ApiServer>(context_, api_, replica, role, std::move(report));
    if (starter_) server_->SetLookupStarter(starter_);
    ASSERT_TRUE(server_->Bind().ok());
    thread_ = std::thread([this] {  // the daemon's loop, reduced to the API
      while (!stop_.load()) {
        zmq::pollitem_t item{server_->socket().handle(), 0, ZMQ_POLLIN, 0};
        if (zmq::poll(&item, 1, std::chrono::milliseconds(20)) > 0) server_->ServeReady();
        if (tick_) tick_();
      }
    });
  }

  void SetSync(SyncStatus sync) {
    std::lock_guard lock(mutex_);
    sync_ = std::move(sync);
  }

  CommandResult Ctl(std::vector<std::string> args, const std::string& input = "") const {
    std::vector<std::string> argv{BinPath("syncctl"), "--api", api_, "--actor", "tester"};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv, input);
  }

  TempDir dir_;
  std::string api_ = "ipc://" + dir_ / "api.sock";
  ManualClock clock_{1'700'000'000'000};
  std::vector<std::unique_ptr<Replica>> replicas_;
  zmq::context_t context_{1};
  std::unique_ptr<ApiServer> server_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mutex_;
  SyncStatus sync_;
  // Set before Serve(): the look-up starter given to the server, and work for the loop's thread
  // after each turn (where CompleteLookup may be called).
  ApiServer::LookupStarter starter_;
  std::function<void()> tick_;
};

TEST_F(ApiServerTest, TheHubReportsEveryStationInTheContractShape) {
  Replica& hub = Open("HUB", "HQ");
  SyncStatus sync;
  StationLink seen = Link("370724510000", true, 2, 1);
  seen.up_total = 30;
  seen.down_total = 40;
  seen.rejected_total = 5;
  sync.stations = {seen, Link("370724520000", false)};
  SetSync(sync);
  Serve(hub, "hub");

  auto status = Ctl({"status", "--json"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  const auto s = nlohmann::ordered_json::parse(status.out);
  const std::vector<std::string> keys = Keys(s);
  ASSERT_GE(keys.size(), 4u);
  EXPECT_EQ(std::vector<std::string>(keys.begin(), keys.begin() + 4),
            (std::vector<std::string>{"role", "records", "conflicts_open", "stations"}));
  EXPECT_EQ(s["role"], "hub");
  EXPECT_EQ(s["records"], 0);
  EXPECT_EQ(s["conflicts_open"], 0);
  ASSERT_EQ(s["stations"].size(), 2u);
  const auto& first = s["stations"][0];
  const std::vector<std::string> station_keys = Keys(first);
  ASSERT_GE(station_keys.size(), 8u);
  EXPECT_EQ(std::vector<std::string>(station_keys.begin(), station_keys.begin() + 8),
            (std::vector<std::string>{"unit", "connected", "last_seen_ms", "lag_records",
                                      "pending_up", "up_total", "down_total", "rejected_total"}));
  EXPECT_EQ(first["unit"], "370724510000");
  EXPECT_EQ(first["connected"], true);
  EXPECT_EQ(first["last_seen_ms"], 120);
  EXPECT_EQ(first["lag_records"], 1);
  EXPECT_EQ(first["pending_up"], 2);
  EXPECT_EQ(first["up_total"], 30);
  EXPECT_EQ(first["down_total"], 40);
  EXPECT_EQ(first["rejected_total"], 5);
  EXPECT_EQ(s["stations"][1]["connected"], false);

  auto human = Ctl({"status"});
  ASSERT_EQ(human.exit_code, 0) << human.err;
  EXPECT_NE(human.out.find("role:           \"hub\""), std::string::npos) << human.out;
  EXPECT_NE(human.out.find("370724510000     yes       120 ms ago"), std::string::npos)
      << human.out;
  EXPECT_NE(human.out.find("370724520000     no        never"), std::string::npos) << human.out;
}

TEST_F(ApiServerTest, WaitSyncedAtTheHubWaitsForEveryStation) {
  Replica& hub = Open("HUB", "HQ");
  SyncStatus sync;
  sync.stations = {Link("S1", true), Link("S2", true, 3), Link("S3", false)};
  SetSync(sync);
  Serve(hub, "hub");

  auto pending = Ctl({"wait-synced", "--timeout", "0.5"});
  EXPECT_EQ(pending.exit_code, 1);
  EXPECT_EQ(pending.err.find("station S1"), std::string::npos) << pending.err;
  EXPECT_NE(pending.err.find("station S2: pending_up 3, lag_records 0"), std::string::npos)
      << pending.err;
  EXPECT_NE(pending.err.find("station S3: not connected"), std::string::npos) << pending.err;

  // Synced while it waits: it notices at its next poll.
  std::thread catch_up([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    SyncStatus synced;
    synced.stations = {Link("S1", true), Link("S2", true), Link("S3", true)};
    SetSync(synced);
  });
  auto done = Ctl({"wait-synced", "--timeout", "2"});
  catch_up.join();
  EXPECT_EQ(done.exit_code, 0) << done.err;
  EXPECT_EQ(done.out, "synced\n");
}

TEST_F(ApiServerTest, AStationReportsItsHubLink) {
  Replica& station = Open("P01", "P01");
  Write(station, {Table::kCase, "A1", "", FieldsFromJson(json::parse(kCase)).value()});
  SyncStatus sync;
  sync.hub_connected = true;
  sync.pending_up = 1;
  sync.lag_records = 2;
  SetSync(sync);
  Serve(station, "station");

  const json s = json::parse(Ctl({"status", "--json"}).out);
  EXPECT_EQ(s["hub_connected"], true);
  EXPECT_EQ(s["pending_up"], 1);
  EXPECT_EQ(s["lag_records"], 2);
  auto pending = Ctl({"wait-synced", "--timeout", "0.5"});
  EXPECT_EQ(pending.exit_code, 1);
  EXPECT_NE(pending.err.find("pending_up 1, lag_records 2"), std::string::npos) << pending.err;
  EXPECT_EQ(pending.err.find("hub not connected"), std::string::npos) << pending.err;

  sync.pending_up = sync.lag_records = 0;
  SetSync(sync);
  EXPECT_EQ(Ctl({"wait-synced", "--timeout", "2"}).exit_code, 0);
}

TEST_F(ApiServerTest, WithoutASyncLinkAStationReportsEveryChangePending) {
  Replica& station = Open("P01", "P01");
  Write(station, {Table::kCase, "A1", "", FieldsFromJson(json::parse(kCase)).value()});
  Serve(station, "station", /*with_sync_status=*/false);
  const json s = json::parse(Ctl({"status", "--json"}).out);
  EXPECT_EQ(s["hub_connected"], false);
  EXPECT_EQ(s["pending_up"], 1);
  EXPECT_EQ(s["lag_records"], 0);
}

TEST_F(ApiServerTest, TheHubWritesUnitsAndRecordsOfAnyUnit) {
  Replica& hub = Open("HUB", "HQ");
  Serve(hub, "hub");
  auto unit = Ctl({"unit", "put", "370724510000",
                   R"({"name":"城里派出所","kind":"station","parent":"370724000000"})"});
  ASSERT_EQ(unit.exit_code, 0) << unit.err;
  EXPECT_EQ(json::parse(unit.out)["table"], "unit");
  auto other = Ctl({"put", "case", "A1", "--owner", "370724510000", kCase});
  ASSERT_EQ(other.exit_code, 0) << other.err;
  EXPECT_EQ(json::parse(other.out)["owner"], "370724510000");

  auto list = Ctl({"unit", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("code"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("370724510000     城里派出所"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("station     -        370724000000"), std::string::npos) << list.out;
  const auto lines = JsonLines(Ctl({"unit", "list", "--json"}).out);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["id"], "370724510000");
}

TEST_F(ApiServerTest, AStationDoesNotWriteRecordsItHoldsForAnotherUnit) {
  Replica& station = Open("P01", "P01");
  Replica& hub = Open("HUB", "HQ");
  Write(hub, {Table::kCase, "A1", "P02", FieldsFromJson(json::parse(kCase)).value()});
  Ship(hub, station);
  Serve(station, "station");

  auto update = Ctl({"put", "case", "A1", R"({"title":"x"})"});
  EXPECT_EQ(update.exit_code, 4);
  EXPECT_NE(update.err.find("out of scope: owner P02, this station holds P01"), std::string::npos)
      << update.err;
  EXPECT_EQ(Ctl({"put", "case", "A1", "--owner", "P01", R"({"title":"x"})"}).exit_code, 4);
  EXPECT_EQ(Ctl({"del", "case", "A1"}).exit_code, 4);
  EXPECT_EQ(Ctl({"del", "case", "NOPE"}).exit_code, 1);  // not held: as before, not found
  EXPECT_EQ(json::parse(Ctl({"get", "case", "A1"}).out)["fields"]["title"], "t");
}

// Two offline writes to the same fields of a station's case: the hub's (later clock) wins.
class ConflictTest : public ApiServerTest {
 protected:
  void SetUp() override {
    Replica& station = Open("P01", "P01");
    Replica& hub = Open("HUB", "HQ");
    Write(station, {Table::kCase, "C1", "", FieldsFromJson(json::parse(kCase)).value()});
    Ship(station, hub);
    clock_.Advance(1000);
    Write(station,
          {Table::kCase, "C1", "", {{"title", Value("失窃")}, {"lead_officer", Value("na")}}},
          "372301");
    clock_.Advance(1000);
    Write(hub, {Table::kCase, "C1", "", {{"title", Value("盗窃")}, {"lead_officer", Value("nb")}}},
          "admin");
    auto hub_own = hub.ChangesAfter(0, 10);  // ApplyRemote did not log: only the hub's write
    ASSERT_TRUE(hub_own.ok());
    RemoteBatch batch;
    batch.peer = "hub";
    batch.changes = {hub_own->back().delta};
    ASSERT_TRUE(station.ApplyRemote(batch).ok());
    auto open = station.OpenConflicts();
    ASSERT_TRUE(open.ok());
    ASSERT_EQ(open->size(), 2u);
    conflicts_ = *open;
    Serve(station, "station");
  }

  const Conflict& On(const std::string& field) const {
    for (const auto& conflict : conflicts_) {
      if (conflict.field == field) return conflict;
    }
    ADD_FAILURE() << "no conflict on " << field;
    return conflicts_.front();
  }

  std::vector<Conflict> conflicts_;
};

TEST_F(ConflictTest, ConflictsPrintBothSides) {
  const auto lines = JsonLines(Ctl({"conflicts", "--json"}).out);
  ASSERT_EQ(lines.size(), 2u);
  const json& title = lines[0]["field"] == "title" ? lines[0] : lines[1];
  EXPECT_EQ(title["id"], On("title").Key());
  EXPECT_EQ(title["table"], "case");
  EXPECT_EQ(title["record"], "C1");
  EXPECT_EQ(title["kept"]["value"], "盗窃");
  EXPECT_EQ(title["kept"]["node"], "HUB");
  EXPECT_EQ(title["kept"]["actor"], "admin");
  EXPECT_TRUE(
      std::regex_match(title["kept"]["stamp"].get<std::string>(), std::regex("[0-9a-f]{16}-HUB")))
      << title;
  EXPECT_EQ(title["kept"]["at"].get<std::string>().back(), 'Z');
  EXPECT_EQ(title["lost"]["value"], "失窃");
  EXPECT_EQ(title["lost"]["node"], "P01");
  EXPECT_EQ(title["lost"]["actor"], "372301");
  EXPECT_EQ(json::parse(Ctl({"status", "--json"}).out)["conflicts_open"], 2);

  auto human = Ctl({"conflicts"});
  ASSERT_EQ(human.exit_code, 0) << human.err;
  EXPECT_NE(human.out.find(On("title").Key() + "  case C1 title: kept \"盗窃\" (by admin at HUB"),
            std::string::npos)
      << human.out;
  EXPECT_NE(human.out.find("lost \"失窃\" (by 372301 at P01"), std::string::npos) << human.out;
}

TEST_F(ConflictTest, ResolvingWritesTheChosenValueAsTheActorAndClosesTheConflict) {
  auto lost = Ctl({"conflicts", "resolve", On("title").Key(), "--take", "lost"});
  ASSERT_EQ(lost.exit_code, 0) << lost.err;
  const json record = json::parse(lost.out);
  EXPECT_EQ(record["fields"]["title"], "失窃");
  EXPECT_EQ(record["actor"], "tester");

  auto value = Ctl({"conflicts", "resolve", On("lead_officer").Key(), "--value", R"("na-nb")"});
  ASSERT_EQ(value.exit_code, 0) << value.err;
  EXPECT_EQ(json::parse(value.out)["fields"]["lead_officer"], "na-nb");

  EXPECT_EQ(Ctl({"conflicts", "--json"}).out, "");
  EXPECT_EQ(json::parse(Ctl({"status", "--json"}).out)["conflicts_open"], 0);
  const auto history = JsonLines(Ctl({"history", "case", "C1"}).out);
  ASSERT_FALSE(history.empty());
  EXPECT_EQ(history.back()["actor"], "tester");
  EXPECT_EQ(history.back()["changes"]["lead_officer"]["new"], "na-nb");

  // Resolved is gone: a second resolution finds nothing.
  EXPECT_EQ(Ctl({"conflicts", "resolve", On("title").Key(), "--take", "kept"}).exit_code, 1);
}

TEST_F(ConflictTest, KeepingTheStoredValueStillClosesTheConflict) {
  const json before = json::parse(Ctl({"get", "case", "C1"}).out);
  auto kept = Ctl({"conflicts", "resolve", On("title").Key(), "--take", "kept"});
  ASSERT_EQ(kept.exit_code, 0) << kept.err;
  const json after = json::parse(kept.out);
  EXPECT_EQ(after["fields"]["title"], before["fields"]["title"]);
  EXPECT_NE(after["version"], before["version"]);  // restamped: it supersedes both sides
  EXPECT_EQ(JsonLines(Ctl({"conflicts", "--json"}).out).size(), 1u);  // lead_officer is still open
}

TEST_F(ConflictTest, AResolutionTheRecordCannotTakeIsRefusedAndChangesNothing) {
  auto invalid = Ctl({"conflicts", "resolve", On("title").Key(), "--value", "null"});
  EXPECT_EQ(invalid.exit_code, 2) << invalid.err;  // a case needs its title
  EXPECT_NE(invalid.err.find("title"), std::string::npos) << invalid.err;
  auto no_actor = RunCommand({BinPath("syncctl"), "--api", api_, "conflicts", "resolve",
                              On("title").Key(), "--take", "lost"});
  EXPECT_EQ(no_actor.exit_code, 2);
  EXPECT_EQ(JsonLines(Ctl({"conflicts", "--json"}).out).size(), 2u);
}

// Concurrent writes to the two fields a rule checks together (a personnel id_number and sex):
// the station records a male id number, the hub (later) sets the sex to female. Each conflict
// names the other field, and resolving either restores one side's whole combination.
class RuleConflictTest : public ApiServerTest {
 protected:
  void SetUp() override {
    Replica& station = Open("P01", "P01");
    Replica& hub = Open("HUB", "HQ");
    Write(station, {Table::kPersonnel,
                    "P7",
                    "",
                    {{"name", Value("王芳")}, {"role", Value("officer")}, {"sex", Value("male")}}});
    Ship(station, hub);
    clock_.Advance(1000);
    Write(station, {Table::kPersonnel, "P7", "", {{"id_number", Value(kMaleId)}}}, "372301");
    clock_.Advance(1000);
    Write(hub, {Table::kPersonnel, "P7", "", {{"sex", Value("female")}}}, "admin");
    auto hub_own = hub.ChangesAfter(0, 10);
    ASSERT_TRUE(hub_own.ok());
    RemoteBatch batch;
    batch.peer = "hub";
    batch.changes = {hub_own->back().delta};
    ASSERT_TRUE(station.ApplyRemote(batch).ok());
    Serve(station, "station");
  }

  static constexpr const char* kMaleId = "370724198503090116";
};

TEST_F(RuleConflictTest, EachConflictNamesTheOtherFieldAndOneResolutionRestoresBoth) {
  const json before = json::parse(Ctl({"get", "personnel", "P7"}).out);
  EXPECT_EQ(before["fields"]["sex"], "female");
  EXPECT_FALSE(before["fields"].contains("id_number")) << "the hub's later combination is kept";
  const auto lines = JsonLines(Ctl({"conflicts", "--json"}).out);
  ASSERT_EQ(lines.size(), 2u);
  std::string on_sex;
  for (const json& line : lines) {
    if (line["field"] == "sex") {
      EXPECT_EQ(line["checked_with"], json::array({"id_number"})) << line;
      on_sex = line["id"];
    } else {
      EXPECT_EQ(line["field"], "id_number") << line;
      EXPECT_EQ(line["checked_with"], json::array({"sex"})) << line;
    }
  }
  const auto resolved = Ctl({"conflicts", "resolve", on_sex, "--take", "lost"});
  ASSERT_EQ(resolved.exit_code, 0) << resolved.err;
  const json after = json::parse(resolved.out);
  EXPECT_EQ(after["fields"]["sex"], "male");
  EXPECT_EQ(after["fields"]["id_number"], kMaleId);
  EXPECT_EQ(Ctl({"conflicts", "--json"}).out, "") << "both conflicts close";
}

// The merge policies through syncctl at a station (merge_policy.h). From one case (persons A and
// B involved, investigating), concurrently: the station takes A off and adds A back, closes the
// case and appends a note; the hub takes A off, sends the case back to `filed` (a reopen) and
// appends a note. Then each side's writes reach the other.
class PolicyConflictTest : public ApiServerTest {
 protected:
  void SetUp() override {
    Replica& station = Open("P01", "P01");
    Replica& hub = Open("HUB", "HQ");
    auto fields = FieldsFromJson(json::parse(kCase)).value();
    fields["involved"] = List({kPersonA, kPersonB});
    fields["status"] = Value("investigating");
    Write(station, {Table::kCase, "C1", "", fields}, "372301");
    Ship(station, hub);
    clock_.Advance(1000);
    Write(station, {Table::kCase, "C1", "", {{"involved", List({kPersonB})}}}, "372301");
    Write(station,
          {Table::kCase,
           "C1",
           "",
           {{"involved", List({kPersonB, kPersonA})},
            {"status", Value("closed")},
            {"notes", Value("站里：结案。")}}},
          "372301");
    clock_.Advance(1000);
    Write(hub,
          {Table::kCase,
           "C1",
           "",
           {{"involved", List({kPersonB})},
            {"status", Value("filed")},
            {"notes", Value("总部：退回补充侦查。")}}},
          "admin");
    Ship(station, hub);
    Ship(hub, station);
    Serve(station, "station");
  }

  static Value List(std::vector<std::string> items) { return Value(std::move(items)); }
  json ConflictOn(const std::string& field) {
    for (const json& line : JsonLines(Ctl({"conflicts", "--json"}).out)) {
      if (line["field"] == field) return line;
    }
    return json();
  }

  static constexpr const char* kPersonA = "370724198503090116";
  static constexpr const char* kPersonB = "370724199001010029";
};

TEST_F(PolicyConflictTest, AddWinsAReopenWinsNotesGrowAndEachIsListedForAPerson) {
  const json record = json::parse(Ctl({"get", "case", "C1"}).out);
  EXPECT_EQ(record["fields"]["involved"], json::array({kPersonB, kPersonA}))
      << "A, added back while the hub took it off, stays";
  EXPECT_EQ(record["fields"]["status"], "filed") << "the hub's reopen wins over the close";
  EXPECT_EQ(record["fields"]["notes"], "站里：结案。总部：退回补充侦查。")
      << "both notes, by stamp";

  const json involved = ConflictOn("involved");
  ASSERT_TRUE(involved.is_object()) << Ctl({"conflicts", "--json"}).out;
  EXPECT_EQ(involved["kept"]["value"], kPersonA);
  EXPECT_EQ(involved["kept"]["actor"], "372301");
  EXPECT_TRUE(involved["lost"]["value"].is_null()) << "the lost side is the removal";
  EXPECT_EQ(involved["lost"]["actor"], "admin");
  const json status = ConflictOn("status");
  ASSERT_TRUE(status.is_object());
  EXPECT_EQ(status["kept"]["value"], "filed");
  EXPECT_EQ(status["lost"]["value"], "closed");
  EXPECT_EQ(JsonLines(Ctl({"conflicts", "--json"}).out).size(), 2u) << "notes never conflict";

  // History names each person's author: A's second addition is the station officer's.
  bool a_by_officer = false;
  for (const json& entry : JsonLines(Ctl({"history", "case", "C1"}).out)) {
    if (!entry["changes"].contains("involved")) continue;
    for (const json& added : entry["changes"]["involved"].value("added", json::array())) {
      a_by_officer |= added["value"] == kPersonA && added["actor"] == "372301" &&
                      added["node"] == "P01" && added.contains("stamp");
    }
  }
  EXPECT_TRUE(a_by_officer) << Ctl({"history", "case", "C1"}).out;

  // Taking the removal takes A off; taking the close closes the case again.
  auto removed = Ctl({"conflicts", "resolve", involved["id"], "--take", "lost"});
  ASSERT_EQ(removed.exit_code, 0) << removed.err;
  EXPECT_EQ(json::parse(removed.out)["fields"]["involved"], json::array({kPersonB}));
  auto closed = Ctl({"conflicts", "resolve", status["id"], "--take", "lost"});
  ASSERT_EQ(closed.exit_code, 0) << closed.err;
  EXPECT_EQ(json::parse(closed.out)["fields"]["status"], "closed");
  EXPECT_EQ(Ctl({"conflicts", "--json"}).out, "") << "both conflicts close";

  // Notes only grow: a write that drops text is refused, naming the field, and changes nothing.
  auto shortened = Ctl({"put", "case", "C1", R"({"notes":"站里：结案。"})"});
  EXPECT_EQ(shortened.exit_code, 2);
  EXPECT_NE(shortened.err.find("field notes: is append-only"), std::string::npos) << shortened.err;
  auto appended =
      Ctl({"put", "case", "C1", R"({"notes":"站里：结案。总部：退回补充侦查。再结。"})"});
  ASSERT_EQ(appended.exit_code, 0) << appended.err;
  EXPECT_EQ(json::parse(appended.out)["fields"]["notes"], "站里：结案。总部：退回补充侦查。再结。");
}

// Hub units P01..P04 (stations), T01 (traffic), and case A1 of P01; served as the hub.
class HubRegroupTest : public ApiServerTest {
 protected:
  void SetUp() override {
    Replica& hub = Open("HUB", "HQ");
    for (const char* code : {"P01", "P02", "P03", "P04"}) {
      Write(hub, {Table::kUnit, code, "", {{"name", Value("所")}, {"kind", Value("station")}}});
    }
    Write(hub, {Table::kUnit, "T01", "", {{"name", Value("队")}, {"kind", Value("traffic")}}});
    Write(hub, {Table::kCase, "A1", "P01", FieldsFromJson(json::parse(kCase)).value()});
    Serve(hub, "hub");
  }
};

TEST_F(HubRegroupTest, MergeUnmergeAndTransferAtTheHub) {
  auto merged = Ctl({"merge", "--into", "P01", "P02", "P03", "--as", "suboffice"});
  ASSERT_EQ(merged.exit_code, 0) << merged.err;
  const auto units = JsonLines(merged.out);
  ASSERT_EQ(units.size(), 2u);
  for (size_t i = 0; i < units.size(); ++i) {
    EXPECT_EQ(units[i]["id"], i == 0 ? "P02" : "P03");
    EXPECT_EQ(units[i]["fields"]["status"], "merged");
    EXPECT_EQ(units[i]["fields"]["merged_into"], "P01");
    EXPECT_EQ(units[i]["fields"]["kind"], "suboffice");
    EXPECT_EQ(units[i]["actor"], "tester");
  }
  // Chains: the group's root merges on.
  ASSERT_EQ(Ctl({"merge", "--into", "P04", "P01"}).exit_code, 0);

  auto unmerged = Ctl({"unmerge", "P02"});
  ASSERT_EQ(unmerged.exit_code, 0) << unmerged.err;
  const json unit = json::parse(unmerged.out);
  EXPECT_EQ(unit["fields"]["status"], "active");
  EXPECT_FALSE(unit["fields"].contains("merged_into"));
  EXPECT_EQ(unit["fields"]["kind"], "station");

  auto moved = Ctl({"transfer", "case", "A1", "--to", "P02"});
  ASSERT_EQ(moved.exit_code, 0) << moved.err;
  EXPECT_EQ(json::parse(moved.out)["owner"], "P02");
  EXPECT_EQ(json::parse(moved.out)["fields"]["title"], "t");
  EXPECT_EQ(json::parse(Ctl({"get", "case", "A1"}).out)["owner"], "P02");
  // At the hub, --remote is a local read.
  EXPECT_EQ(json::parse(Ctl({"get", "--remote", "case", "A1"}).out)["owner"], "P02");
  EXPECT_EQ(Ctl({"get", "case", "NOPE", "--remote"}).exit_code, 1);
}

TEST_F(HubRegroupTest, RefusalsAndUsageErrorsHaveTheirExitCodes) {
  ASSERT_EQ(Ctl({"merge", "--into", "P01", "P02"}).exit_code, 0);
  const std::vector<std::pair<std::vector<std::string>, int>> cases = {
      {{"merge", "--into", "NOPE", "P03"}, 1},        // unknown unit
      {{"merge", "--into", "P01", "NOPE"}, 1},        // unknown member
      {{"merge", "--into", "P01", "P01"}, 2},         // into itself
      {{"merge", "--into", "P01", "P03", "P03"}, 2},  // named twice
      {{"merge", "--into", "P01"}, 2},                // no members
      {{"merge", "P03"}, 2},                          // no --into
      {{"merge", "--into", "P01", "P03", "--as", "bureau"}, 2},
      {{"merge", "--into", "P01", "P02"}, 4},  // already together
      {{"merge", "--into", "P02", "P01"}, 4},  // would loop
      {{"merge", "--into", "P03", "P02"}, 4},  // merged elsewhere
      {{"merge", "--into", "P01", "T01"}, 4},  // not a station
      {{"merge", "--into", "T01", "P03"}, 4},  // not a station
      {{"unmerge", "P01"}, 4},                 // not merged
      {{"unmerge", "NOPE"}, 1},
      {{"unmerge"}, 2},
      {{"transfer", "unit", "P03", "--to", "P01"}, 2},   // units are not transferred
      {{"transfer", "castle", "A1", "--to", "P01"}, 2},  // no such table
      {{"transfer", "case", "A1"}, 2},                   // no --to
      {{"transfer", "case", "NOPE", "--to", "P01"}, 1},
      {{"transfer", "case", "A1", "--to", "NOPE"}, 1},
  };
  for (const auto& [args, exit_code] : cases) {
    auto result = Ctl(args);
    EXPECT_EQ(result.exit_code, exit_code) << ::testing::PrintToString(args) << ": " << result.err;
    EXPECT_EQ(result.out, "") << ::testing::PrintToString(args);
  }
  auto loop = Ctl({"merge", "--into", "P02", "P01"});
  EXPECT_NE(loop.err.find("syncctl: unit P01 is already in one group with P02"), std::string::npos)
      << loop.err;
  auto no_actor = RunCommand({BinPath("syncctl"), "--api", api_, "merge", "--into", "P01", "P03"});
  EXPECT_EQ(no_actor.exit_code, 2);
  EXPECT_NE(no_actor.err.find("actor"), std::string::npos) << no_actor.err;
  // Nothing of a refused merge was stored.
  const auto after = JsonLines(Ctl({"unit", "list", "--json"}).out);
  ASSERT_EQ(after.size(), 5u);
  EXPECT_FALSE(after[2]["fields"].contains("status")) << after[2];  // P03
}

TEST_F(HubRegroupTest, TheHubDigestsANamedUnitsGroup) {
  ASSERT_EQ(Ctl({"merge", "--into", "P01", "P02"}).exit_code, 0);
  auto none = Ctl({"digest"});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_EQ(none.err, "syncctl: the hub holds every scope: name one with --scope CODE\n");
  EXPECT_EQ(Ctl({"digest", "--scope", "NOPE"}).exit_code, 1);

  auto digest = Ctl({"digest", "--scope", "P02", "--json"});
  ASSERT_EQ(digest.exit_code, 0) << digest.err;
  ASSERT_EQ(digest.out.back(), '\n');
  EXPECT_EQ(digest.out.find('\n'), digest.out.size() - 1);  // one line
  const auto d = nlohmann::ordered_json::parse(digest.out);
  EXPECT_EQ(Keys(d), (std::vector<std::string>{"scope", "records", "root"}));
  EXPECT_EQ(d["scope"], json::array({"P01", "P02"}));
  EXPECT_EQ(d["records"], 1);  // case A1
  EXPECT_TRUE(std::regex_match(d["root"].get<std::string>(), std::regex("[0-9a-f]{64}"))) << d;
  EXPECT_EQ(json::parse(Ctl({"digest", "--scope", "P01", "--json"}).out), d);  // same group

  auto human = Ctl({"digest", "--scope", "P01"});
  ASSERT_EQ(human.exit_code, 0) << human.err;
  EXPECT_EQ(human.out,
            "scope:   P01 P02\nrecords: 1\nroot:    " + d["root"].get<std::string>() + "\n");
}

TEST_F(ApiServerTest, AStationRefusesRegroupingAndDigestsOnlyItsScope) {
  Replica& station = Open("P01", "P01");
  Replica& hub = Open("HUB", "HQ");
  Write(hub, {Table::kUnit, "P01", "", {{"name", Value("所")}, {"kind", Value("station")}}});
  Write(station, {Table::kCase, "A1", "", FieldsFromJson(json::parse(kCase)).value()});
  Ship(station, hub);
  Serve(station, "station");

  auto transfer = Ctl({"transfer", "case", "A1", "--to", "P02"});
  EXPECT_EQ(transfer.exit_code, 4);
  EXPECT_EQ(transfer.err, "syncctl: transfers are made at the hub\n");
  auto merge = Ctl({"merge", "--into", "P01", "P02"});
  EXPECT_EQ(merge.exit_code, 4);
  EXPECT_NE(merge.err.find("made at the hub"), std::string::npos) << merge.err;
  EXPECT_EQ(Ctl({"unmerge", "P02"}).exit_code, 4);

  auto own = Ctl({"digest", "--json"});
  ASSERT_EQ(own.exit_code, 0) << own.err;
  const json d = json::parse(own.out);
  EXPECT_EQ(d["scope"], json::array({"P01"}));
  EXPECT_EQ(d["records"], 1);
  EXPECT_EQ(json::parse(Ctl({"digest", "--scope", "P01", "--json"}).out), d);
  auto other = Ctl({"digest", "--scope", "P02"});
  EXPECT_EQ(other.exit_code, 4);
  EXPECT_NE(other.err.find("unit P02 is not in this station's scope (it holds P01)"),
            std::string::npos)
      << other.err;

  // The hub holds the same records of P01: the same root; a changed record, another.
  const ScopeDigest at_hub = hub.Digest({"P01"});
  EXPECT_EQ(at_hub.root, d["root"]);
  EXPECT_EQ(at_hub.records, 1u);
  clock_.Advance(1000);
  Write(hub, {Table::kCase, "A1", "", {{"title", Value("changed")}}});
  EXPECT_NE(hub.Digest({"P01"}).root, d["root"]);

  EXPECT_EQ(json::parse(Ctl({"status", "--json"}).out)["scope"], json::array({"P01"}));
  auto status = ApiClient(api_, std::chrono::seconds(5), "tester").GetStatus();
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  EXPECT_EQ(status->scope, std::vector<std::string>{"P01"});
}

TEST_F(ApiServerTest, AMergedStationWritesItsGroupsRecordsButTransfersNothing) {
  Replica& station = Open("P01", "P01");
  Replica& hub = Open("HUB", "HQ");
  const auto fields = FieldsFromJson(json::parse(kCase)).value();
  Write(hub, {Table::kCase, "A2", "P02", fields});
  Write(hub, {Table::kCase, "A3", "P03", fields});
  auto changes = hub.ChangesAfter(0, 100);
  ASSERT_TRUE(changes.ok());
  RemoteBatch batch;  // as the hub sends a grown scope: the group, and its records
  batch.peer = "hub";
  batch.keep_scope_only = true;
  batch.new_scope = std::vector<std::string>{"P01", "P02"};
  for (const auto& change : *changes) batch.changes.push_back(change.delta);
  ASSERT_TRUE(station.ApplyRemote(batch).ok());
  ASSERT_EQ(station.Scope(), (std::vector<std::string>{"P01", "P02"}));
  Serve(station, "station");

  auto update = Ctl({"put", "case", "A2", R"({"title":"x"})"});
  ASSERT_EQ(update.exit_code, 0) << update.err;
  EXPECT_EQ(json::parse(update.out)["owner"], "P02");
  ASSERT_EQ(Ctl({"put", "case", "B2", "--owner", "P02", kCase}).exit_code, 0);
  ASSERT_EQ(Ctl({"del", "case", "B2"}).exit_code, 0);

  auto moved = Ctl({"put", "case", "A2", "--owner", "P01", R"({"title":"y"})"});
  EXPECT_EQ(moved.exit_code, 4);
  EXPECT_NE(
      moved.err.find("case A2: owner P02 -> P01 is a transfer; transfers are made at the hub"),
      std::string::npos)
      << moved.err;
  auto outside = Ctl({"put", "case", "B3", "--owner", "P03", kCase});
  EXPECT_EQ(outside.exit_code, 4);
  EXPECT_NE(outside.err.find("out of scope: owner P03, this station holds P01, P02"),
            std::string::npos)
      << outside.err;

  // An import checks lines against the whole group before storing any.
  json line = {{"table", "case"}, {"id", "C2"}, {"owner", "P02"}, {"fields", json::parse(kCase)}};
  ASSERT_EQ(Ctl({"import", "-"}, line.dump() + "\n").exit_code, 0);
  json foreign = line;
  foreign["id"] = "C3";
  foreign["owner"] = "P03";
  auto refused = Ctl({"import", "-"}, line.dump() + "\n" + foreign.dump() + "\n");
  EXPECT_EQ(refused.exit_code, 4) << refused.err;
  EXPECT_NE(refused.err.find("line 2: case C3: out of scope: owner P03"), std::string::npos)
      << refused.err;
  EXPECT_NE(refused.err.find("records of unit(s) P01, P02"), std::string::npos) << refused.err;
}

// A station's `get --remote` is answered when the daemon completes the look-up.
TEST_F(ApiServerTest, WithoutAHubLinkAStationCannotLookUp) {
  Replica& station = Open("P01", "P01");
  Serve(station, "station");
  auto remote = Ctl({"get", "case", "A1", "--remote"});
  EXPECT_EQ(remote.exit_code, 3);
  EXPECT_NE(remote.err.find("no hub link configured"), std::string::npos) << remote.err;
}

TEST_F(ApiServerTest, ALookUpAnsweredAtOnce) {
  Replica& station = Open("P01", "P01");
  Record hubs;
  hubs.table = Table::kCase;
  hubs.id = "Z9";
  hubs.owner = "P09";
  hubs.fields["title"] = {Value("远方"), Stamp{5, "HUB"}, "admin"};
  hubs.updated = {5, "HUB"};
  hubs.seen = {{"HUB", 5}};
  std::vector<std::string> asked;  // only the loop's thread touches it until the server stops
  starter_ = [&](uint64_t token, Table table, const std::string& id, const std::string&) {
    asked.push_back(std::string(TableName(table)) + " " + id);
    if (id == "Z9") {
      server_->CompleteLookup(token, std::optional<Record>(hubs));
    } else if (id == "GONE") {
      server_->CompleteLookup(token, std::optional<Record>());
    } else {
      server_->CompleteLookup(token, Unavailable("the hub is not connected"));
    }
    server_->CompleteLookup(token, Internal("a second answer is ignored"));
  };
  Serve(station, "station");

  auto found = Ctl({"get", "--remote", "case", "Z9"});
  ASSERT_EQ(found.exit_code, 0) << found.err;
  const json record = json::parse(found.out);
  EXPECT_EQ(record["owner"], "P09");
  EXPECT_EQ(record["fields"]["title"], "远方");
  auto gone = Ctl({"get", "--remote", "case", "GONE"});
  EXPECT_EQ(gone.exit_code, 1);
  EXPECT_NE(gone.err.find("case GONE does not exist at the hub"), std::string::npos) << gone.err;
  auto offline = Ctl({"get", "--remote", "case", "X1"});
  EXPECT_EQ(offline.exit_code, 3);
  EXPECT_EQ(offline.err, "syncctl: the hub is not connected\n");
  EXPECT_EQ(Ctl({"get", "case", "Z9"}).exit_code, 1);  // a look-up stores nothing
  TearDown();
  EXPECT_EQ(asked, (std::vector<std::string>{"case Z9", "case GONE", "case X1"}));
}

TEST_F(ApiServerTest, ALookUpAnsweredLaterDoesNotHoldUpOtherRequests) {
  Replica& station = Open("P01", "P01");
  Write(station, {Table::kCase, "A1", "", FieldsFromJson(json::parse(kCase)).value()});
  std::vector<uint64_t> started;  // under mutex_
  bool release = false;           // under mutex_
  starter_ = [&](uint64_t token, Table, const std::string&, const std::string&) {
    std::lock_guard lock(mutex_);
    started.push_back(token);
  };
  tick_ = [&] {
    std::vector<uint64_t> answer;
    {
      std::lock_guard lock(mutex_);
      if (release) answer.swap(started);
    }
    for (uint64_t token : answer) server_->CompleteLookup(token, NotFound("not at the hub"));
  };
  Serve(station, "station");

  CommandResult remote;
  std::thread waiting([&] { remote = Ctl({"get", "--remote", "case", "B1"}); });
  ASSERT_TRUE(WaitUntil(
      [&] {
        std::lock_guard lock(mutex_);
        return started.size() == 1;
      },
      std::chrono::seconds(10)));
  // Meanwhile the station answers others.
  auto local = Ctl({"get", "case", "A1"});
  EXPECT_EQ(local.exit_code, 0) << local.err;
  {
    std::lock_guard lock(mutex_);
    release = true;
  }
  waiting.join();
  EXPECT_EQ(remote.exit_code, 1) << remote.err;
  EXPECT_EQ(remote.err, "syncctl: not at the hub\n");
}

// The pure rule: which write resolves which register.
TEST(ResolutionOp, EachRegisterGetsItsOrdinaryWrite) {
  using Take = ConflictChoice::Take;
  const Conflict field{
      Table::kCase, "C1", "title", {Value("a"), {2, "HUB"}, "x"}, {Value("b"), {1, "P01"}, "y"}};
  auto op = ResolutionOp(field, {"", Take::kLost, {}});
  ASSERT_TRUE(op.ok());
  EXPECT_FALSE(op->remove);
  EXPECT_TRUE(op->restamp);
  EXPECT_EQ(op->patch, (RecordPatch{Table::kCase, "C1", "", {{"title", Value("b")}}}));
  op = ResolutionOp(field, {"", Take::kValue, Value{}});
  EXPECT_EQ(op->patch.fields.at("title"), Value{});  // clears it, if the table allows

  const Conflict owner{Table::kCase,
                       "C1",
                       "owner",
                       {Value("P02"), {2, "HUB"}, "x"},
                       {Value("P01"), {1, "P01"}, "y"}};
  op = ResolutionOp(owner, {"", Take::kKept, {}});
  EXPECT_EQ(op->patch, (RecordPatch{Table::kCase, "C1", "P02", {}}));
  EXPECT_EQ(ResolutionOp(owner, {"", Take::kValue, Value("no/code")}).status().code(),
            Code::kInvalid);

  const Conflict deleted{Table::kCase,
                         "C1",
                         "deleted",
                         {Value("true"), {2, "HUB"}, "x"},
                         {Value("false"), {1, "P01"}, "y"}};
  op = ResolutionOp(deleted, {"", Take::kKept, {}});
  EXPECT_TRUE(op->remove);
  op = ResolutionOp(deleted, {"", Take::kLost, {}});  // undelete: a put of no fields
  EXPECT_FALSE(op->remove);
  EXPECT_EQ(op->patch, (RecordPatch{Table::kCase, "C1", "", {}}));
  EXPECT_EQ(ResolutionOp(deleted, {"", Take::kValue, Value("maybe")}).status().code(),
            Code::kInvalid);

  EXPECT_EQ(FindConflict({field, owner}, owner.Key())->field, "owner");
  EXPECT_EQ(FindConflict({field}, "deadbeef").status().code(), Code::kNotFound);
}

}  // namespace
}  // namespace stationsync::testing
