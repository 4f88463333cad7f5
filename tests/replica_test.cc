// The replica's contract: atomic changes (record, log, history, indexes agree after a crash at
// any point of the write-ahead log), bad input never changes what is stored, group commit,
// identity checks, and what survives a reopen.
#include "sync/storage/replica.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "sync/codec/record_codec.h"
#include "sync/records/hlc.h"
#include "sync/storage/replica_internal.h"

#include "tests/support/process.h"

namespace stationsync {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

constexpr int64_t kStartMs = 1'700'000'000'000;

Value Text(const std::string& s) {
  return Value(s);
}

RecordPatch Resident(const std::string& id, const std::string& household,
                     const std::string& name = "王伟") {
  return {Table::kRegistration,
          id,
          "",
          {{"name", Text(name)},
           {"sex", Text("male")},
           {"birth_date", Text("1987-05-12")},
           {"household", Text(household)},
           {"relation", Text("head")},
           {"area", Text("370724001001")}}};
}

RecordPatch Unit(const std::string& id, const std::string& name = "城里派出所") {
  return {Table::kUnit, id, "", {{"name", Text(name)}, {"kind", Text("station")}}};
}

WriteRequest Put(RecordPatch patch) {
  return {"tester", {{false, std::move(patch)}}};
}
WriteRequest Del(Table table, std::string id) {
  return {"tester", {{true, {table, id, "", {}}}}};
}

class ReplicaTest : public ::testing::Test {
 protected:
  ReplicaOptions Options(const std::string& path) {
    return {.path = path, .node = "P01", .unit = "P01", .clock = &clock_};
  }
  std::unique_ptr<Replica> OpenAt(const std::string& path) {
    auto replica = Replica::Open(Options(path));
    EXPECT_TRUE(replica.ok()) << replica.status().ToString();
    return replica.ok() ? std::move(replica).value() : nullptr;
  }
  Status WriteOne(Replica& replica, WriteRequest request) {
    return replica.Write({std::move(request)}).front().status;
  }
  // Every key and value of every table, as the API lists them, plus the log position.
  std::vector<std::string> Snapshot(Replica& replica) {
    std::vector<std::string> out{std::to_string(replica.last_seq()),
                                 std::to_string(replica.record_count())};
    ListQuery query;
    query.limit = 10000;
    auto page = replica.List(query);
    EXPECT_TRUE(page.ok());
    for (const auto& record : page->records) out.push_back(VersionString(record) + record.id);
    return out;
  }

  ManualClock clock_{kStartMs};
  TempDir dir_;
};

TEST_F(ReplicaTest, PutGetHistoryAndIndexes) {
  auto replica = OpenAt(dir_ / "db");
  ASSERT_TRUE(WriteOne(*replica, Put(Resident("370724198705123414", "H1"))).ok());
  clock_.Advance(1000);
  RecordPatch move{Table::kRegistration, "370724198705123414", "", {{"household", Text("H2")}}};
  ASSERT_TRUE(WriteOne(*replica, {"officer-7", {{false, move}}}).ok());

  auto record = replica->Get(Table::kRegistration, "370724870512341");  // legacy form finds it
  ASSERT_TRUE(record.ok() && record->has_value());
  EXPECT_EQ(*(*record)->Text("household"), "H2");
  EXPECT_EQ((*record)->owner, "P01");
  EXPECT_EQ((*record)->actor, "officer-7");
  EXPECT_EQ((*record)->updated.node, "P01");

  auto history = replica->History(Table::kRegistration, "370724198705123414");
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[0].actor, "tester");
  EXPECT_EQ((*history)[1].actor, "officer-7");
  ASSERT_EQ((*history)[1].changes.size(), 1u);
  EXPECT_EQ((*history)[1].changes[0].name, "household");
  EXPECT_EQ((*history)[1].changes[0].old_value, Text("H1"));
  EXPECT_EQ((*history)[1].changes[0].new_value, Text("H2"));

  ListQuery by_household;
  by_household.household = "H1";
  EXPECT_TRUE(replica->List(by_household)->records.empty());
  by_household.household = "H2";
  EXPECT_EQ(replica->List(by_household)->records.size(), 1u);
  EXPECT_TRUE(replica->CheckIntegrity().ok()) << replica->CheckIntegrity().ToString();
}

TEST_F(ReplicaTest, ANewRecordStoresNoHistoryEntryThatItsArrivalEntrySaysAlready) {
  auto replica = OpenAt(dir_ / "db");
  const std::string id = "370724198705123414";
  ASSERT_TRUE(WriteOne(*replica, Put(Resident(id, "H1"))).ok());
  EXPECT_EQ(replica->TEST_StoredHistoryEntries(Table::kRegistration, id), 0u);
  auto history = replica->History(Table::kRegistration, id);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 1u);
  EXPECT_EQ((*history)[0].actor, "tester");
  ASSERT_EQ((*history)[0].changes.size(), 7u);  // the owner and six fields, each from nothing
  EXPECT_EQ((*history)[0].changes[0].name, "owner");
  EXPECT_EQ((*history)[0].changes[0].new_value, Text("P01"));
  for (const FieldChange& change : (*history)[0].changes) EXPECT_EQ(change.old_value, Value{});

  // A set field's arrival entry names who added each element, as the write's entry does.
  RecordPatch a_case{Table::kCase,
                     "C1",
                     "",
                     {{"kind", Text("criminal")},
                      {"title", Text("盗窃案")},
                      {"status", Text("filed")},
                      {"reported_at", Text("2024-03-01T08:30:00Z")},
                      {"involved", Value(std::vector<std::string>{id})}}};
  ASSERT_TRUE(WriteOne(*replica, Put(a_case)).ok());
  EXPECT_EQ(replica->TEST_StoredHistoryEntries(Table::kCase, "C1"), 0u);
  auto case_history = replica->History(Table::kCase, "C1");
  ASSERT_TRUE(case_history.ok());
  ASSERT_EQ(case_history->size(), 1u);
  for (const FieldChange& change : case_history->front().changes) {
    if (change.name != "involved") continue;
    ASSERT_EQ(change.added.size(), 1u);
    EXPECT_EQ(change.added[0].text, id);
    EXPECT_EQ(change.added[0].actor, "tester");
  }

  // A write that also sets fields its entry does not list (a personnel sex written with its id
  // number, unset: validate.h, FieldsCheckedTogether) reads otherwise: its entry is stored.
  RecordPatch officer{Table::kPersonnel,
                      "P7",
                      "",
                      {{"name", Text("王芳")}, {"role", Text("officer")}, {"sex", Text("male")}}};
  ASSERT_TRUE(WriteOne(*replica, Put(officer)).ok());
  EXPECT_EQ(replica->TEST_StoredHistoryEntries(Table::kPersonnel, "P7"), 1u);
  ASSERT_EQ(replica->History(Table::kPersonnel, "P7")->size(), 1u);
  EXPECT_TRUE(replica->CheckIntegrity().ok()) << replica->CheckIntegrity().ToString();
}

// Invariant 7: a new record's log entry names the record instead of copying it, reads whole,
// and is stored whole by the record's next change (a delete too), in a group commit as well
// (where a request rolled back takes what it staged with it), and across a reopen.
TEST_F(ReplicaTest, ANewRecordsLogEntryNamesTheRecordAndReadsWholeAfterItChanges) {
  const std::string id = "370724198705123414";
  std::vector<Change> expected;
  {
    auto replica = OpenAt(dir_ / "db");
    ASSERT_TRUE(WriteOne(*replica, Put(Resident(id, "H1"))).ok());
    EXPECT_TRUE(replica->TEST_LogEntryNamesRecord(1));
    auto logged = replica->ChangesAfter(0, 10);
    ASSERT_TRUE(logged.ok()) << logged.status().ToString();
    ASSERT_EQ(logged->size(), 1u);
    EXPECT_EQ(logged->front().delta, **replica->Get(Table::kRegistration, id));
    EXPECT_EQ(logged->front().owners, std::vector<std::string>{"P01"});
    EXPECT_EQ(*replica->LogStamp(1), logged->front().delta.updated);
    EXPECT_EQ(replica->ChangeHeadsAfter(0, 10)->front().delta.id, id);
    EXPECT_TRUE(replica->CheckIntegrity().ok()) << replica->CheckIntegrity().ToString();
    expected.push_back(logged->front());

    clock_.Advance(1000);
    ASSERT_TRUE(
        WriteOne(*replica, {"officer-7",
                            {{false, {Table::kRegistration, id, "", {{"household", Text("H2")}}}}}})
            .ok());
    EXPECT_FALSE(replica->TEST_LogEntryNamesRecord(1));  // stored whole, as the record was
    EXPECT_FALSE(replica->TEST_LogEntryNamesRecord(2));  // a delta of one field
    expected.push_back(replica->ChangesAfter(1, 10)->front());
    EXPECT_EQ(expected.back().delta.fields.size(), 1u);

    // One group commit: a unit created, changed by a request that fails (rolled back with the
    // whole entry it staged), then deleted; a second unit created.
    clock_.Advance(1000);
    const auto outcomes =
        replica->Write({Put(Unit("P02")),
                        {"a2",
                         {{false, {Table::kUnit, "P02", "", {{"name", Text("甲")}}}},
                          {false, {Table::kUnit, "P02", "", {{"kind", Text("no such kind")}}}}}},
                        Del(Table::kUnit, "P02"),
                        Put(Unit("P03"))});
    ASSERT_TRUE(outcomes[0].status.ok()) << outcomes[0].status.ToString();
    EXPECT_FALSE(outcomes[1].status.ok());
    ASSERT_TRUE(outcomes[2].status.ok()) << outcomes[2].status.ToString();
    ASSERT_TRUE(outcomes[3].status.ok()) << outcomes[3].status.ToString();
    EXPECT_FALSE(replica->TEST_LogEntryNamesRecord(3));  // P02, deleted since
    EXPECT_FALSE(replica->TEST_LogEntryNamesRecord(4));
    EXPECT_TRUE(replica->TEST_LogEntryNamesRecord(5));  // P03, unchanged
    auto group = replica->ChangesAfter(2, 10);
    ASSERT_TRUE(group.ok()) << group.status().ToString();
    ASSERT_EQ(group->size(), 3u);
    EXPECT_EQ((*group)[0].delta, outcomes[0].records[0]);  // P02 as its creation left it
    EXPECT_TRUE((*group)[1].delta.deleted);
    EXPECT_EQ((*group)[2].delta, outcomes[3].records[0]);
    expected.insert(expected.end(), group->begin(), group->end());
    EXPECT_TRUE(replica->CheckIntegrity().ok()) << replica->CheckIntegrity().ToString();
  }
  auto reopened = OpenAt(dir_ / "db");
  auto after_reopen = reopened->ChangesAfter(0, 10);
  ASSERT_TRUE(after_reopen.ok()) << after_reopen.status().ToString();
  EXPECT_EQ(*after_reopen, expected);
  EXPECT_TRUE(reopened->CheckIntegrity().ok()) << reopened->CheckIntegrity().ToString();
}

TEST_F(ReplicaTest, RepeatedPutChangesNothing) {
  auto replica = OpenAt(dir_ / "db");
  ASSERT_TRUE(WriteOne(*replica, Put(Unit("P02"))).ok());
  const uint64_t seq = replica->last_seq();
  ASSERT_TRUE(WriteOne(*replica, Put(Unit("P02"))).ok());
  EXPECT_EQ(replica->last_seq(), seq);
  EXPECT_EQ(replica->History(Table::kUnit, "P02")->size(), 1u);
}

// The hub routes each log entry by its head alone: the same entries as ChangesAfter, with what
// routing reads (seq, origin, owners, table, id, owner) equal and the fields left out.
TEST_F(ReplicaTest, ChangeHeadsAreTheLogsRoutingFields) {
  auto replica = OpenAt(dir_ / "db");
  ASSERT_TRUE(WriteOne(*replica, Put(Unit("P02"))).ok());
  ASSERT_TRUE(WriteOne(*replica, Put(Resident("370724198705123414", "H1"))).ok());
  auto changes = replica->ChangesAfter(0, 10);
  auto heads = replica->ChangeHeadsAfter(0, 10);
  ASSERT_TRUE(changes.ok() && heads.ok());
  ASSERT_EQ(heads->size(), 2u);
  ASSERT_EQ(heads->size(), changes->size());
  for (size_t i = 0; i < heads->size(); ++i) {
    const Change& head = (*heads)[i];
    const Change& full = (*changes)[i];
    EXPECT_EQ(head.seq, full.seq);
    EXPECT_EQ(head.origin, full.origin);
    EXPECT_EQ(head.owners, full.owners);
    EXPECT_EQ(head.delta.table, full.delta.table);
    EXPECT_EQ(head.delta.id, full.delta.id);
    EXPECT_EQ(head.delta.owner, full.delta.owner);
    EXPECT_FALSE(full.delta.fields.empty());
    EXPECT_TRUE(head.delta.fields.empty());
  }
  EXPECT_EQ(replica->ChangeHeadsAfter(1, 10)->size(), 1u);
}

TEST_F(ReplicaTest, DeleteLeavesATombstoneAndHistory) {
  auto replica = OpenAt(dir_ / "db");
  ASSERT_TRUE(WriteOne(*replica, Put(Resident("370724198705123414", "H1"))).ok());
  ASSERT_TRUE(WriteOne(*replica, Del(Table::kRegistration, "370724198705123414")).ok());
  auto record = replica->Get(Table::kRegistration, "370724198705123414");
  ASSERT_TRUE(record->has_value());
  EXPECT_TRUE((*record)->deleted);
  EXPECT_EQ(replica->record_count(), 0u);
  EXPECT_EQ(replica->History(Table::kRegistration, "370724198705123414")->size(), 2u);
  ListQuery all;
  EXPECT_TRUE(replica->List(all)->records.empty());
  EXPECT_EQ(WriteOne(*replica, Del(Table::kUnit, "NOPE")).code(), Code::kNotFound);
  EXPECT_TRUE(replica->CheckIntegrity().ok()) << replica->CheckIntegrity().ToString();
}

TEST_F(ReplicaTest, BadInputNeverChangesWhatIsStored) {
  auto replica = OpenAt(dir_ / "db");
  ASSERT_TRUE(WriteOne(*replica, Put(Resident("370724198705123414", "H1"))).ok());
  const auto before = Snapshot(*replica);
  RecordPatch bad_date{
      Table::kRegistration, "370724198705123414", "", {{"birth_date", Text("1987-02-30")}}};
  RecordPatch bad_sex{Table::kRegistration, "370724198705123414", "", {{"sex", Text("female")}}};
  RecordPatch unknown{Table::kUnit, "P02", "", {{"colour", Text("red")}}};
  RecordPatch clears_required{Table::kRegistration, "370724198705123414", "", {{"name", Value{}}}};
  // A request whose second op is bad stores neither op.
  WriteRequest half_bad{"tester", {{false, Unit("P09")}, {false, bad_sex}}};
  const auto outcomes =
      replica->Write({Put(bad_date), Put(bad_sex), Put(unknown), Put(clears_required), half_bad});
  for (const auto& outcome : outcomes) EXPECT_EQ(outcome.status.code(), Code::kInvalid);
  EXPECT_EQ(outcomes[4].failed_op, 1u);
  EXPECT_EQ(Snapshot(*replica), before);
  EXPECT_FALSE(replica->Get(Table::kUnit, "P09")->has_value());
  EXPECT_TRUE(replica->CheckIntegrity().ok());
}

TEST_F(ReplicaTest, GroupCommitKeepsGoodRequestsAndDenseSequences) {
  auto replica = OpenAt(dir_ / "db");
  std::vector<WriteRequest> group;
  for (int i = 0; i < 50; ++i) group.push_back(Put(Unit("U" + std::to_string(i))));
  group.push_back(Put({Table::kUnit, "BAD", "", {{"kind", Text("castle")}}}));
  group.push_back(Put(Unit("U7", "renamed")));  // sees U7 written earlier in the same group
  const auto outcomes = replica->Write(group);
  for (size_t i = 0; i < 50; ++i) EXPECT_TRUE(outcomes[i].status.ok());
  EXPECT_FALSE(outcomes[50].status.ok());
  EXPECT_TRUE(outcomes[51].status.ok());
  EXPECT_EQ(replica->last_seq(), 51u);
  EXPECT_EQ(replica->record_count(), 50u);
  EXPECT_EQ(*(*replica->Get(Table::kUnit, "U7"))->Text("name"), "renamed");
  auto changes = replica->ChangesAfter(0, 1000);
  ASSERT_EQ(changes->size(), 51u);
  for (size_t i = 0; i < changes->size(); ++i) EXPECT_EQ((*changes)[i].seq, i + 1);
  EXPECT_TRUE(replica->CheckIntegrity().ok());
}

// Pages through the records family and through the owner index (read in batches), with
// tombstones skipped or listed: every record once, in key order, no page over its limit.
TEST_F(ReplicaTest, ListPagesThroughEverything) {
  auto replica = OpenAt(dir_ / "db");
  std::vector<WriteRequest> group;
  for (int i = 0; i < 95; ++i) {
    RecordPatch unit = Unit(fmt::format("U{:03}", i));
    unit.owner = i % 2 == 0 ? "P01" : "P02";
    group.push_back(Put(unit));
  }
  replica->Write(group);
  group.clear();
  for (int i = 1; i < 95; i += 6) group.push_back(Del(Table::kUnit, fmt::format("U{:03}", i)));
  replica->Write(group);  // 16 of P02's 47 units
  for (const bool include_deleted : {false, true}) {
    for (const std::string owner : {"", "P02"}) {
      ListQuery query;
      query.table = Table::kUnit;
      query.owner = owner;
      query.limit = 10;
      query.include_deleted = include_deleted;
      std::vector<std::string> seen;
      do {
        auto page = replica->List(query);
        ASSERT_TRUE(page.ok());
        EXPECT_LE(page->records.size(), 10u);
        for (const auto& record : page->records) {
          if (!owner.empty()) {
            EXPECT_EQ(record.owner, owner);
          }
          if (!include_deleted) {
            EXPECT_FALSE(record.deleted) << record.id;
          }
          seen.push_back(record.id);
        }
        query.after = page->next;
      } while (!query.after.empty());
      EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
      EXPECT_EQ(std::adjacent_find(seen.begin(), seen.end()), seen.end());
      const size_t all = owner.empty() ? 95u : 47u;
      EXPECT_EQ(seen.size(), include_deleted ? all : all - 16u) << owner;
    }
  }
}

// A snapshot page's listing passes records through as stored: the same records, tombstones
// included, in the same pages as a decoded listing; an unreadable one fails the page by name.
TEST_F(ReplicaTest, ListingAsStoredGivesTheDecodedPagesBytesAndRefusesAnUnreadableRecord) {
  auto replica = OpenAt(dir_ / "db");
  std::vector<WriteRequest> group;
  for (int i = 0; i < 25; ++i) group.push_back(Put(Unit(fmt::format("U{:03}", i))));
  replica->Write(group);
  ASSERT_TRUE(WriteOne(*replica, Del(Table::kUnit, "U007")).ok());
  ListQuery decoded;
  decoded.owner = "P01";
  decoded.limit = 10;
  decoded.include_deleted = true;
  ListQuery stored = decoded;
  stored.stored = true;
  stored.include_deleted = false;  // as stored: tombstones whatever this says
  size_t pages = 0;
  do {
    auto want = replica->List(decoded);
    auto got = replica->List(stored);
    ASSERT_TRUE(want.ok() && got.ok());
    EXPECT_TRUE(got->records.empty());
    ASSERT_EQ(got->stored.size(), want->records.size());
    for (size_t i = 0; i < want->records.size(); ++i) {
      EXPECT_EQ(got->stored[i], EncodeRecord(want->records[i])) << want->records[i].id;
    }
    EXPECT_EQ(got->next, want->next);
    decoded.after = stored.after = want->next;
    ++pages;
  } while (!decoded.after.empty());
  EXPECT_EQ(pages, 3u);

  ASSERT_TRUE(replica->TEST_PutRawRecord(RecordKey(Table::kUnit, "U011"), "not a record").ok());
  stored.after.clear();
  stored.limit = 100;
  auto refused = replica->List(stored);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("unit/U011 is unreadable"), std::string::npos)
      << refused.status().ToString();
}

TEST_F(ReplicaTest, ReopenKeepsCountersAndNeverReusesAStamp) {
  uint64_t last_hlc = 0;
  {
    auto replica = OpenAt(dir_ / "db");
    ASSERT_TRUE(WriteOne(*replica, Put(Unit("P02"))).ok());
    last_hlc = (*replica->Get(Table::kUnit, "P02"))->updated.hlc;
  }
  clock_.Set(kStartMs - 3'600'000);  // the wall clock went back an hour
  auto replica = OpenAt(dir_ / "db");
  EXPECT_EQ(replica->last_seq(), 1u);
  EXPECT_EQ(replica->record_count(), 1u);
  ASSERT_TRUE(WriteOne(*replica, Put(Unit("P02", "renamed"))).ok());
  EXPECT_GT((*replica->Get(Table::kUnit, "P02"))->updated.hlc, last_hlc);
}

TEST_F(ReplicaTest, RefusesAnotherNodesStore) {
  { OpenAt(dir_ / "db"); }
  auto options = Options(dir_ / "db");
  options.node = "P02";
  auto replica = Replica::Open(options);
  ASSERT_FALSE(replica.ok());
  EXPECT_EQ(replica.status().code(), Code::kRefused);
  EXPECT_NE(replica.status().message().find("belongs to node 'P01'"), std::string::npos);
}

TEST_F(ReplicaTest, MissingCurrentIsDamageNotANewStore) {
  {
    auto replica = OpenAt(dir_ / "db");
    ASSERT_TRUE(WriteOne(*replica, Put(Unit("P02"))).ok());
  }
  fs::remove(dir_ / "db/CURRENT");
  auto replica = Replica::Open(Options(dir_ / "db"));
  ASSERT_FALSE(replica.ok());
  EXPECT_EQ(replica.status().code(), Code::kInternal);
  EXPECT_NE(replica.status().message().find("CURRENT"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir_ / "db/CURRENT"));  // not recreated
}

// Cuts the write-ahead log at many points, as a crash in the middle of writing it would, and
// checks that each cut store opens with whole changes only: records, log, history, indexes and
// counters agree, and what is there is a prefix of what was written.
// A node killed over and over (rural stations lose power often) must not start slower each time:
// each start adds a log file, and past a few a start flushes so that the old ones go.
TEST_F(ReplicaTest, StartsReplayABoundedLogHoweverOftenTheNodeWasStopped) {
  const std::string path = dir_ / "db";
  constexpr int kLives = 12;
  for (int life = 0; life < kLives; ++life) {
    auto replica = OpenAt(path);
    ASSERT_NE(replica, nullptr);
    // Closed with its memtables unflushed, as a kill leaves it.
    ASSERT_TRUE(WriteOne(*replica, Put(Unit(fmt::format("U{:02}", life)))).ok());
  }
  size_t logs = 0;
  for (const auto& entry : fs::directory_iterator(path)) logs += entry.path().extension() == ".log";
  EXPECT_LE(logs, replica_internal::kRecoveredLogsKept + 1);
  auto replica = OpenAt(path);
  ASSERT_NE(replica, nullptr);
  EXPECT_EQ(replica->record_count(), static_cast<uint64_t>(kLives));
  EXPECT_TRUE(replica->CheckIntegrity().ok()) << replica->CheckIntegrity().ToString();
}

TEST_F(ReplicaTest, EveryWalCutPointLeavesWholeChanges) {
  const std::string original = dir_ / "db";
  std::vector<uint64_t> seq_after_write;
  {
    auto replica = OpenAt(original);
    std::mt19937_64 rng(7);
    for (int i = 0; i < 40; ++i) {
      const std::string id = "370724198705123414";
      WriteRequest request =
          i % 9 == 8 ? Del(Table::kRegistration, id)
          : i % 3 == 0
              ? Put(Unit("U" + std::to_string(rng() % 10)))
              : Put(Resident(id, "H" + std::to_string(rng() % 4), "名" + std::to_string(i)));
      clock_.Advance(10);
      replica->Write({request});
      seq_after_write.push_back(replica->last_seq());
    }
  }
  std::string wal;
  for (const auto& entry : fs::directory_iterator(original)) {
    if (entry.path().extension() == ".log") wal = entry.path().filename();
  }
  ASSERT_FALSE(wal.empty());
  const auto wal_size = fs::file_size(fs::path(original) / wal);
  for (int cut = 0; cut <= 60; ++cut) {
    const auto length = wal_size * static_cast<uintmax_t>(cut) / 60;
    SCOPED_TRACE("WAL cut at byte " + std::to_string(length) + " of " + std::to_string(wal_size));
    const std::string copy = dir_ / ("cut" + std::to_string(cut));
    fs::copy(original, copy);
    fs::resize_file(fs::path(copy) / wal, length);
    auto replica = OpenAt(copy);
    ASSERT_NE(replica, nullptr);
    EXPECT_TRUE(replica->CheckIntegrity().ok()) << replica->CheckIntegrity().ToString();
    const bool whole_writes_only =
        replica->last_seq() == 0 || std::find(seq_after_write.begin(), seq_after_write.end(),
                                              replica->last_seq()) != seq_after_write.end();
    EXPECT_TRUE(whole_writes_only) << "a partial write survived: last_seq " << replica->last_seq();
    if (cut == 60) {
      EXPECT_EQ(replica->last_seq(), seq_after_write.back());
    }
    replica.reset();
    fs::remove_all(copy);
  }
}

}  // namespace
}  // namespace stationsync
