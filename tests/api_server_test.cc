// The daemon's API server run in this process, so that a test can give it any role and sync status
// and a replica holding real conflicts, and drive it with the real syncctl: the hub's status (a
// table of stations) and scope (it writes anything), wait-synced against reported links, a
// station's scope against records it holds for other units, and resolving conflicts made by
// Replica::ApplyRemote. Also the pure resolution rule (sync/conflict_resolution.h).
#include "daemon/api_server.h"

#include <atomic>
#include <mutex>
#include <regex>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "sync/conflict_resolution.h"
#include "sync/hlc.h"
#include "sync/record_json.h"

#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

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
    ASSERT_TRUE(server_->Bind().ok());
    thread_ = std::thread([this] {  // the daemon's loop, reduced to the API
      while (!stop_.load()) {
        zmq::pollitem_t item{server_->socket().handle(), 0, ZMQ_POLLIN, 0};
        if (zmq::poll(&item, 1, std::chrono::milliseconds(50)) > 0) server_->ServeReady();
      }
    });
  }

  void SetSync(SyncStatus sync) {
    std::lock_guard lock(mutex_);
    sync_ = std::move(sync);
  }

  CommandResult Ctl(std::vector<std::string> args) const {
    std::vector<std::string> argv{BinPath("syncctl"), "--api", api_, "--actor", "tester"};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv);
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
    Write(station, {Table::kCase, "C1", "", {{"title", Value("失窃")}, {"notes", Value("na")}}},
          "372301");
    clock_.Advance(1000);
    Write(hub, {Table::kCase, "C1", "", {{"title", Value("盗窃")}, {"notes", Value("nb")}}},
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

  auto value = Ctl({"conflicts", "resolve", On("notes").Key(), "--value", R"("na; nb")"});
  ASSERT_EQ(value.exit_code, 0) << value.err;
  EXPECT_EQ(json::parse(value.out)["fields"]["notes"], "na; nb");

  EXPECT_EQ(Ctl({"conflicts", "--json"}).out, "");
  EXPECT_EQ(json::parse(Ctl({"status", "--json"}).out)["conflicts_open"], 0);
  const auto history = JsonLines(Ctl({"history", "case", "C1"}).out);
  ASSERT_FALSE(history.empty());
  EXPECT_EQ(history.back()["actor"], "tester");
  EXPECT_EQ(history.back()["changes"]["notes"]["new"], "na; nb");

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
  EXPECT_EQ(JsonLines(Ctl({"conflicts", "--json"}).out).size(), 1u);  // notes is still open
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
