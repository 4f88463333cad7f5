// syncctl verify: the verify tree the replica keeps (its sums follow every write, merge, eviction
// and repair, and equal what the records imply), the walk against the hub's answers in-process
// (exactly the damaged records are found, writes in flight are not, and a difference in 100,000
// records costs kilobytes), the hub's refusals, and end to end between a real hub and station:
// damage made behind a stopped daemon's back is found by --deep and repaired by --repair, writes
// in flight during a verify are never reported, and without a link verify exits 3.
#include <atomic>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "sync/admin/verify_answer.h"
#include "sync/admin/verify_sources.h"
#include "sync/admin/verify_walk.h"
#include "sync/codec/record_codec.h"
#include "sync/codec/sync_codec.h"
#include "sync/storage/replica.h"
#include "sync/storage/replica_keys.h"

#include "tests/support/process.h"

namespace stationsync {
namespace {

using testing::FreeTcpEndpoint;
using testing::StationDaemon;
using testing::TempDir;
using Json = nlohmann::json;

RecordPatch Officer(const std::string& id, const std::string& owner, const std::string& phone) {
  return RecordPatch{Table::kPersonnel,
                     id,
                     owner,
                     {{"name", Value(std::string("张伟"))},
                      {"role", Value(std::string("officer"))},
                      {"phone", Value(phone)}}};
}

// Writes `count` officers owned by `owner` at `replica`, 1,000 to a commit; their states.
std::vector<Record> WriteOfficers(Replica& replica, const std::string& owner, size_t count,
                                  const std::string& prefix = "A") {
  std::vector<Record> written;
  for (size_t first = 0; first < count; first += 1000) {
    std::vector<WriteRequest> requests;
    for (size_t i = first; i < std::min(count, first + 1000); ++i) {
      requests.push_back({"tester",
                          {{false, Officer(fmt::format("{}{:06}", prefix, i), owner,
                                           fmt::format("0536-{}", i))}}});
    }
    for (auto& outcome : replica.Write(requests)) {
      EXPECT_TRUE(outcome.status.ok()) << outcome.status.ToString();
      written.push_back(std::move(outcome.records.front()));
    }
  }
  return written;
}

class VerifyTreeTest : public ::testing::Test {
 protected:
  std::unique_ptr<Replica> Open(const std::string& node, const std::string& unit = "P01") {
    auto replica =
        Replica::Open({.path = dir_ / node, .node = node, .unit = unit, .clock = &clock_});
    EXPECT_TRUE(replica.ok()) << replica.status().ToString();
    return std::move(replica).value();
  }

  // A station replica holding the same states as `hub` for `owner`, received as a station does.
  std::unique_ptr<Replica> CopyOf(const std::vector<Record>& records, const std::string& owner) {
    auto station = Open(owner + "-station", owner);
    for (size_t first = 0; first < records.size(); first += 1000) {
      RemoteBatch batch;
      batch.peer = "hub";
      batch.changes.assign(
          records.begin() + static_cast<std::ptrdiff_t>(first),
          records.begin() + static_cast<std::ptrdiff_t>(std::min(records.size(), first + 1000)));
      EXPECT_TRUE(station->ApplyRemote(batch).ok());
    }
    return station;
  }

  // Runs a walk of `station` (deep or not) against `hub`'s answers for `scope`, counting the
  // bytes of every message as the sync link carries them.
  struct Outcome {
    std::vector<VerifyDifference> differences;
    size_t bytes = 0;
    size_t queries = 0;
    Status status;
  };
  Outcome Walk(Replica& station, const Replica& hub, const std::vector<std::string>& scope,
               bool deep, const std::set<std::string>& local_in_flight = {},
               const std::vector<RecordRef>& hub_in_flight = {},
               uint64_t record_reads_max = kVerifyRecordReadsMax, Replica::ReadPoint as_of = {}) {
    std::unique_ptr<ReplicaTreeSource> tree;
    if (deep) {
      auto built = RecomputedTree::Build(station);
      EXPECT_TRUE(built.ok());
      tree = std::move(built).value();
    } else {
      tree = std::make_unique<StoredTree>(station);
    }
    tree->ReadAsOf(std::move(as_of));
    VerifyWalk walk(*tree, scope,
                    [&](Table, const std::string& id) { return local_in_flight.contains(id); });
    Outcome outcome;
    while (auto query = walk.Next()) {
      ++outcome.queries;
      outcome.bytes += EncodeSyncMessage({1, *query}).size();
      const VerifyReply reply =
          AnswerVerifyQuery(hub, *query, scope, hub_in_flight, record_reads_max);
      outcome.bytes += EncodeSyncMessage({1, reply}).size();
      outcome.status = walk.OnReply(reply);
      if (!outcome.status.ok()) break;
    }
    outcome.differences = walk.differences();
    return outcome;
  }

  static std::set<std::string> Ids(const std::vector<VerifyDifference>& differences) {
    std::set<std::string> ids;
    for (const auto& d : differences) ids.insert(d.id);
    return ids;
  }

  ManualClock clock_{1'700'000'000'000};
  TempDir dir_;
};

TEST_F(VerifyTreeTest, KeptSumsEqualWhatTheRecordsImplyThroughWritesEvictionsAndAReopen) {
  auto replica = Open("P01");
  WriteOfficers(*replica, "P01", 300);
  WriteOfficers(*replica, "P02", 50, "B");
  clock_.Advance(5);
  replica->Write({{"tester", {{true, Officer("A000007", "", "")}}}});  // a tombstone
  ASSERT_TRUE(replica->CheckIntegrity().ok()) << replica->CheckIntegrity().ToString();

  auto recomputed = RecomputedTree::Build(*replica);
  ASSERT_TRUE(recomputed.ok());
  StoredTree stored(*replica);
  const TreeNode root{"P01", Table::kPersonnel, 0, 0};
  EXPECT_EQ(stored.Sum(root)->records, 300u);
  EXPECT_EQ(*stored.Sum(root), *(*recomputed)->Sum(root));
  EXPECT_EQ(*stored.Children(root), *(*recomputed)->Children(root));
  // Down to a leaf: the kept sums of levels 4-12 and the leaf's records agree.
  TreeNode node = root;
  while (node.level < kTreeLeafLevel) {
    const auto children = *stored.Children(node);
    EXPECT_EQ(children, *(*recomputed)->Children(node));
    size_t fullest = 0;
    for (size_t i = 0; i < kTreeFanout; ++i) {
      if (children[i].records > children[fullest].records) fullest = i;
    }
    node = TreeChild(node, fullest);
  }
  const auto entries = stored.Entries({node});
  ASSERT_TRUE(entries.ok());
  EXPECT_FALSE(entries->front().empty());
  EXPECT_EQ(*entries, *(*recomputed)->Entries({node}));

  // The replica's own units' eviction (a scope change) takes the sums with it.
  RemoteBatch scope_change;
  scope_change.peer = "hub";
  scope_change.new_scope = std::vector<std::string>{"P01"};
  ASSERT_TRUE(replica->ApplyRemote(scope_change).ok());
  EXPECT_EQ(replica->TreeNodeSum({"P02", Table::kPersonnel, 0, 0})->records, 0u);
  EXPECT_TRUE(replica->CheckIntegrity().ok()) << replica->CheckIntegrity().ToString();

  const DigestBucket before = *replica->TreeNodeSum(root);
  replica.reset();
  replica = Open("P01");
  EXPECT_EQ(*replica->TreeNodeSum(root), before);
  ASSERT_TRUE(replica->RebuildDerived().ok());
  EXPECT_EQ(*replica->TreeNodeSum(root), before);
  EXPECT_TRUE(replica->CheckIntegrity().ok()) << replica->CheckIntegrity().ToString();
}

TEST_F(VerifyTreeTest, DeepFindsExactlyTheRecordsDamagedBehindTheReplicasBackAndRepairMendsThem) {
  auto hub = Open("hub", "hub");
  const std::vector<Record> records = WriteOfficers(*hub, "P01", 2000);
  auto station = CopyOf(records, "P01");
  const std::vector<std::string> scope{"P01"};
  ASSERT_EQ(station->Digest(scope), hub->Digest(scope));
  EXPECT_TRUE(Walk(*station, *hub, scope, false).differences.empty());
  EXPECT_TRUE(Walk(*station, *hub, scope, true).differences.empty());

  // 10 deleted, 10 altered, 10 extra: written straight into the records, nothing else.
  auto scratch = Open("scratch", "P01");
  const std::vector<Record> extra = WriteOfficers(*scratch, "P01", 10, "X");
  std::set<std::string> damaged;
  for (size_t i = 0; i < 10; ++i) {
    const Record& gone = records[i * 7];
    ASSERT_TRUE(station->TEST_PutRawRecord(RecordKey(gone.table, gone.id), std::nullopt).ok());
    Record altered = records[1000 + i * 13];
    altered.fields["phone"].value = Value(std::string("0536-0000000"));
    ASSERT_TRUE(
        station->TEST_PutRawRecord(RecordKey(altered.table, altered.id), EncodeRecord(altered))
            .ok());
    ASSERT_TRUE(
        station->TEST_PutRawRecord(RecordKey(extra[i].table, extra[i].id), EncodeRecord(extra[i]))
            .ok());
    damaged.insert({gone.id, altered.id, extra[i].id});
  }
  EXPECT_FALSE(station->CheckIntegrity().ok());

  const Outcome deep = Walk(*station, *hub, scope, true);
  ASSERT_TRUE(deep.status.ok()) << deep.status.ToString();
  EXPECT_EQ(Ids(deep.differences), damaged);
  EXPECT_EQ(deep.differences.size(), 30u);
  for (const auto& d : deep.differences) {
    const bool is_extra = d.id.starts_with("X");
    const bool is_gone = !is_extra && std::stoi(d.id.substr(1)) < 1000;
    EXPECT_EQ(d.station.has_value(), !is_gone) << d.id;
    EXPECT_EQ(d.hub.has_value(), !is_extra) << d.id;
  }

  // Repair: the hub's states of exactly those keys, then the kept sums rebuilt.
  std::vector<std::pair<std::string, std::optional<Record>>> states;
  for (const auto& d : deep.differences) {
    auto held = hub->Get(d.table, d.id);
    ASSERT_TRUE(held.ok());
    states.emplace_back(RecordKey(d.table, d.id), *held);
  }
  ASSERT_TRUE(station->Repair(states, "verify --repair").ok());
  ASSERT_TRUE(station->RebuildDerived().ok());
  EXPECT_TRUE(station->CheckIntegrity().ok()) << station->CheckIntegrity().ToString();
  EXPECT_EQ(station->Digest(scope), hub->Digest(scope));
  EXPECT_TRUE(Walk(*station, *hub, scope, true).differences.empty());
  EXPECT_TRUE(Walk(*station, *hub, scope, false).differences.empty());
  const auto history = station->History(Table::kPersonnel, records[1000].id);
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(history->back().actor, "verify --repair");
}

TEST_F(VerifyTreeTest, WritesInFlightEitherWayAreNotDifferences) {
  auto hub = Open("hub", "hub");
  const std::vector<Record> records = WriteOfficers(*hub, "P01", 500);
  auto station = CopyOf(records, "P01");
  const std::vector<std::string> scope{"P01"};
  clock_.Advance(10);
  // The station wrote two records the hub has not acknowledged; the hub wrote one the station
  // has not acknowledged.
  const auto local =
      station->Write({{"officer", {{false, Officer(records[3].id, "", "0536-9000001")}}},
                      {"officer", {{false, Officer(records[4].id, "", "0536-9000002")}}}});
  ASSERT_TRUE(local[0].status.ok()) << local[0].status.ToString();
  ASSERT_TRUE(local[1].status.ok()) << local[1].status.ToString();
  const auto remote =
      hub->Write({{"officer", {{false, Officer(records[5].id, "", "0536-9000003")}}}});
  ASSERT_TRUE(remote[0].status.ok()) << remote[0].status.ToString();

  EXPECT_EQ(Ids(Walk(*station, *hub, scope, false).differences),
            (std::set<std::string>{records[3].id, records[4].id, records[5].id}));
  const Outcome accounted = Walk(*station, *hub, scope, false, {records[3].id, records[4].id},
                                 {{Table::kPersonnel, records[5].id}});
  EXPECT_TRUE(accounted.differences.empty());
}

// syncd's walk reads the station's records on a thread of its own while the loop goes on writing:
// it reads them as of the hub's reply, so a write landing meanwhile is no difference.
TEST_F(VerifyTreeTest, RecordsReadAsOfAReadPointShowNoLaterWrite) {
  auto hub = Open("hub", "hub");
  const std::vector<Record> records = WriteOfficers(*hub, "P01", 500);
  auto station = CopyOf(records, "P01");
  const std::vector<std::string> scope{"P01"};
  const Replica::ReadPoint reply_taken = station->TakeReadPoint();
  clock_.Advance(10);
  const auto later = station->Write({{"officer", {{false, Officer(records[7].id, "", "0536-1")}}}});
  ASSERT_TRUE(later[0].status.ok()) << later[0].status.ToString();
  for (const bool deep : {false, true}) {
    EXPECT_EQ(Ids(Walk(*station, *hub, scope, deep).differences),
              std::set<std::string>{records[7].id})
        << "deep " << deep << ": read now, the write is a difference";
    const Outcome as_of =
        Walk(*station, *hub, scope, deep, {}, {}, kVerifyRecordReadsMax, reply_taken);
    EXPECT_TRUE(as_of.status.ok()) << as_of.status.ToString();
    EXPECT_TRUE(as_of.differences.empty()) << "deep " << deep << ": " << as_of.differences.size();
  }
}

TEST_F(VerifyTreeTest, TenDifferencesInAHundredThousandRecordsCostKilobytes) {
  auto hub = Open("hub", "hub");
  const std::vector<Record> records = WriteOfficers(*hub, "P01", 100000);
  auto station = CopyOf(records, "P01");
  const std::vector<std::string> scope{"P01"};
  const Outcome equal = Walk(*station, *hub, scope, false);
  EXPECT_TRUE(equal.differences.empty());
  EXPECT_LT(equal.bytes, 2048u) << "equal replicas exchange one sum per table";
  clock_.Advance(10);
  std::set<std::string> changed;
  for (size_t i = 0; i < 10; ++i) {
    const Record& record = records[i * 9973];
    const auto written =
        hub->Write({{"officer", {{false, Officer(record.id, "", fmt::format("0536-8{:06}", i))}}}});
    ASSERT_TRUE(written[0].status.ok()) << written[0].status.ToString();
    changed.insert(record.id);
  }
  const Outcome outcome = Walk(*station, *hub, scope, false);
  EXPECT_EQ(Ids(outcome.differences), changed);
  // The records are about 200 bytes each: 20 MB in all. Ten differences cost each about five
  // levels of 16 sums (12 bytes each) and a leaf of two records: bound it at 64 KiB.
  EXPECT_LT(outcome.bytes, 64u * 1024) << outcome.queries << " queries";
  std::cout << "[ figures ] verify of 100000 records with 10 differences: " << outcome.bytes
            << " bytes in " << outcome.queries << " queries\n";
}

// A hub that may read only a few records a query answers over_budget, and the walk asks about
// fewer nodes at once until it may: it still finds every difference.
TEST_F(VerifyTreeTest, AHubOverItsReadBudgetMakesTheWalkAskAboutFewerNodesAtOnce) {
  auto hub = Open("hub", "hub");
  const std::vector<Record> records = WriteOfficers(*hub, "P01", 3000);
  auto station = CopyOf(std::vector<Record>(records.begin(), records.begin() + 2000), "P01");
  std::set<std::string> missing;
  for (size_t i = 2000; i < records.size(); ++i) missing.insert(records[i].id);
  VerifyQuery query{0, VerifyWhat::kEntries, {}, {}};
  for (uint32_t i = 0; i < 64; ++i) {  // leaves under 64 different level-12 nodes
    query.nodes.push_back(
        TreeNodeOf("P01", Table::kPersonnel, static_cast<uint16_t>(i << 10), kTreeLeafLevel));
  }
  EXPECT_TRUE(AnswerVerifyQuery(*hub, query, {"P01"}, {}, 16).over_budget);
  const Outcome outcome = Walk(*station, *hub, {"P01"}, false, {}, {}, /*record_reads_max=*/16);
  ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  EXPECT_EQ(Ids(outcome.differences), missing);
}

TEST_F(VerifyTreeTest, TheHubAnswersOnlyAboutTheStationsScopeAndWithinItsBudgets) {
  auto hub = Open("hub", "hub");
  WriteOfficers(*hub, "P01", 10);
  const std::vector<std::string> scope{"P01"};
  VerifyQuery query;
  query.what = VerifyWhat::kSums;
  query.nodes = {{"P02", Table::kPersonnel, 0, 0}};
  EXPECT_NE(AnswerVerifyQuery(*hub, query, scope, {}).error.find("outside the station's scope"),
            std::string::npos);
  query.nodes.assign(kVerifyNodesMax + 1, TreeNode{"P01", Table::kPersonnel, 0, 0});
  EXPECT_FALSE(AnswerVerifyQuery(*hub, query, scope, {}).error.empty());
  query.nodes = {{"P01", Table::kPersonnel, 4, 0x0100}};  // bits below its level
  EXPECT_FALSE(AnswerVerifyQuery(*hub, query, scope, {}).error.empty());
  query.what = VerifyWhat::kEntries;
  query.nodes = {{"P01", Table::kPersonnel, 12, 0}};  // entries of no leaf
  EXPECT_FALSE(AnswerVerifyQuery(*hub, query, scope, {}).error.empty());
  query.what = VerifyWhat::kFetch;
  query.nodes.clear();
  query.keys = {{Table::kPersonnel, "A000001"}};
  const VerifyReply fetched = AnswerVerifyQuery(*hub, query, {"P09"}, {});
  ASSERT_TRUE(fetched.error.empty()) << fetched.error;
  ASSERT_EQ(fetched.records.size(), 1u);
  EXPECT_FALSE(fetched.records[0].record.has_value()) << "a record outside the scope is not shown";
}

// --- end to end: a real hub and station -------------------------------------------------------

class VerifyCommandTest : public ::testing::Test {
 protected:
  static constexpr size_t kRecords = 400;

  void SetUp() override {
    hub_ = StationDaemon::Hub(FreeTcpEndpoint());
    ASSERT_TRUE(hub_->Start()) << hub_->Log();
    const auto put = hub_->Ctl({"unit", "put", "S1", R"({"name":"S1 派出所","kind":"station"})"});
    ASSERT_EQ(put.exit_code, 0) << put.err;
    std::ofstream lines(dir_ / "records.jsonl");
    for (size_t i = 0; i < kRecords; ++i) {
      lines
          << fmt::format(
                 R"({{"table":"personnel","id":"S1-{:04}","owner":"S1","fields":{{"name":"张伟","role":"officer","phone":"0536-{}"}}}})",
                 i, i)
          << "\n";
    }
    lines.close();
    const auto imported = hub_->Ctl({"import", dir_ / "records.jsonl"});
    ASSERT_EQ(imported.exit_code, 0) << imported.err;
    station_ = StationDaemon::Station("S1", *hub_);
    ASSERT_EQ(station_->Enroll(*hub_), 0);
    ASSERT_TRUE(station_->Start()) << station_->Log();
    WaitSynced();
  }

  void TearDown() override {
    for (auto* node : {station_.get(), hub_.get()}) {
      if (node != nullptr && node->process()) {
        EXPECT_EQ(node->Stop(), 0) << node->Log();
      }
    }
  }

  void WaitSynced() {
    const auto wait = station_->Ctl({"wait-synced", "--timeout", "60"});
    ASSERT_EQ(wait.exit_code, 0) << wait.err << station_->Log();
  }

  struct Verified {
    int exit_code = 0;
    std::vector<Json> differences;
    Json summary;
    std::string err;
  };
  Verified Verify(std::vector<std::string> flags) {
    flags.insert(flags.begin(), {"verify", "--json"});
    const auto run = station_->Ctl(flags);
    Verified verified{run.exit_code, {}, nullptr, run.err};
    std::istringstream out(run.out);
    for (std::string line; std::getline(out, line);) {
      const Json json = Json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (json.is_discarded()) {
        ADD_FAILURE() << "not a JSON line: " << line;
      } else if (json.contains("id")) {
        verified.differences.push_back(json);
      } else {
        verified.summary = json;
      }
    }
    return verified;
  }

  TempDir dir_;
  std::unique_ptr<StationDaemon> hub_;
  std::unique_ptr<StationDaemon> station_;
};

TEST_F(VerifyCommandTest, DeepFindsDamageBehindAStoppedDaemonAndRepairMakesTheDigestsEqual) {
  const Verified clean = Verify({});
  EXPECT_EQ(clean.exit_code, 0) << clean.err;
  EXPECT_TRUE(clean.differences.empty());
  EXPECT_EQ(clean.summary["records"], kRecords);
  EXPECT_EQ(clean.summary["differences"], 0);
  EXPECT_GT(clean.summary["bytes_exchanged"].get<int>(), 0);

  // Damage made with the daemon stopped, straight into its store's records.
  ASSERT_EQ(station_->Stop(), 0);
  std::set<std::string> damaged;
  {
    auto store = Replica::Open({.path = station_->data() + "/db", .node = "S1", .unit = "S1"});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    for (size_t i = 0; i < 10; ++i) {
      const std::string gone = fmt::format("S1-{:04}", i * 3);
      ASSERT_TRUE(
          (*store)->TEST_PutRawRecord(RecordKey(Table::kPersonnel, gone), std::nullopt).ok());
      const std::string altered_id = fmt::format("S1-{:04}", 100 + i * 7);
      auto altered = (*store)->Get(Table::kPersonnel, altered_id);
      ASSERT_TRUE(altered.ok() && altered->has_value());
      (*altered)->fields["phone"].value = Value(std::string("0536-0000000"));
      ASSERT_TRUE(
          (*store)
              ->TEST_PutRawRecord(RecordKey(Table::kPersonnel, altered_id), EncodeRecord(**altered))
              .ok());
      Record extra = **altered;
      extra.id = fmt::format("S1-{:04}", 900 + i);
      ASSERT_TRUE(
          (*store)
              ->TEST_PutRawRecord(RecordKey(Table::kPersonnel, extra.id), EncodeRecord(extra))
              .ok());
      damaged.insert({gone, altered_id, extra.id});
    }
  }
  ASSERT_TRUE(station_->Start()) << station_->Log();
  WaitSynced();

  const Verified deep = Verify({"--deep"});
  EXPECT_EQ(deep.exit_code, 1) << deep.err;
  std::set<std::string> found;
  for (const Json& d : deep.differences) {
    found.insert(d["id"].get<std::string>());
    EXPECT_EQ(d["table"], "personnel");
    EXPECT_TRUE(d["station"].is_string() || d["hub"].is_string()) << d;
  }
  EXPECT_EQ(found, damaged);
  EXPECT_EQ(deep.summary["differences"], 30);

  const Verified repaired = Verify({"--deep", "--repair"});
  EXPECT_EQ(repaired.exit_code, 0) << repaired.err << station_->Log();
  EXPECT_EQ(repaired.summary["repaired"], 30);
  EXPECT_EQ(repaired.summary["remaining"], 0);
  const auto station_digest = station_->Ctl({"digest", "--json"});
  const auto hub_digest = hub_->Ctl({"digest", "--scope", "S1", "--json"});
  ASSERT_EQ(station_digest.exit_code, 0) << station_digest.err;
  ASSERT_EQ(hub_digest.exit_code, 0) << hub_digest.err;
  EXPECT_EQ(Json::parse(station_digest.out)["root"], Json::parse(hub_digest.out)["root"]);
  EXPECT_EQ(Verify({}).exit_code, 0);
  const auto history = station_->Ctl({"history", "personnel", "S1-0100"});
  EXPECT_NE(history.out.find("syncctl verify --repair"), std::string::npos) << history.out;
}

TEST_F(VerifyCommandTest, WritesInFlightDuringAVerifyAreNeverReported) {
  std::atomic<bool> stop{false};
  std::thread writers([&] {
    auto at_station = station_->Client("officer-1");
    auto at_hub = hub_->Client("officer-2");
    for (size_t i = 0; !stop.load(); ++i) {
      const std::string id = fmt::format("S1-{:04}", i % kRecords);
      RecordPatch patch{
          Table::kPersonnel, id, "", {{"phone", Value(fmt::format("0536-7{:06}", i))}}};
      // A refused write (the hub's record moved on) is fine here: only verify is tested.
      (void)(i % 2 == 0 ? at_station : at_hub)->Put(patch);
    }
  });
  for (int run = 0; run < 3; ++run) {
    const Verified verified = Verify({});
    EXPECT_EQ(verified.exit_code, 0) << verified.err;
    EXPECT_TRUE(verified.differences.empty()) << verified.differences.front();
  }
  stop = true;
  writers.join();
}

TEST_F(VerifyCommandTest, TheHubAsksAStationToVerifyAndKeepsItsLastVerifyInStatus) {
  const auto before = Json::parse(hub_->Ctl({"status", "--json"}).out);
  EXPECT_TRUE(before["stations"][0]["last_verify"].is_null()) << before;
  const auto asked = hub_->Ctl({"verify", "--station", "S1", "--json"});
  EXPECT_EQ(asked.exit_code, 0) << asked.err << station_->Log();
  const Json summary = Json::parse(asked.out.substr(asked.out.rfind('{')));
  EXPECT_EQ(summary["records"], kRecords);
  EXPECT_EQ(summary["differences"], 0);
  const auto after = Json::parse(hub_->Ctl({"status", "--json"}).out);
  const Json& last = after["stations"][0]["last_verify"];
  ASSERT_TRUE(last.is_object()) << after;
  EXPECT_EQ(last["records"], kRecords);
  EXPECT_EQ(last["differences"], 0);
  EXPECT_EQ(last["error"], "");
  EXPECT_GT(last["at_ms"].get<int64_t>(), 0);

  EXPECT_EQ(hub_->Ctl({"verify", "--station", "S9"}).exit_code, 2) << "no such station";
  EXPECT_EQ(station_->Ctl({"verify", "--station", "S1"}).exit_code, 2) << "--station at a station";
  ASSERT_EQ(station_->Stop(), 0);
  const auto away = hub_->Ctl({"verify", "--station", "S1"});
  EXPECT_EQ(away.exit_code, 3) << away.err;
}

TEST_F(VerifyCommandTest, WithoutALinkToTheHubVerifyExits3AndTheHubRefusesIt) {
  const auto at_hub = hub_->Ctl({"verify"});
  EXPECT_EQ(at_hub.exit_code, 2) << at_hub.err;
  ASSERT_EQ(hub_->Stop(), 0);
  // The station notices the hub is gone within its silence limit; until then the query times out
  // or the link drops, and either way the answer is exit 3.
  const Verified verified = Verify({"--timeout", "90"});
  EXPECT_EQ(verified.exit_code, 3) << verified.err;
}

}  // namespace
}  // namespace stationsync
