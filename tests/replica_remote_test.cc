// Replica::ApplyRemote: a peer's changes merge into the same bytes as the writer holds, the
// peer position moves in the same batch, replays change nothing, invalid changes are skipped and
// reported, conflicts are kept with both sides until a later write closes them, and only the hub
// logs what it receives.
#include <algorithm>
#include <set>

#include <gtest/gtest.h>

#include "sync/records/id_number.h"
#include "sync/records/validate.h"
#include "sync/storage/conflict_resolution.h"
#include "sync/storage/replica.h"

#include "tests/support/process.h"

namespace stationsync {
namespace {

using testing::TempDir;

Value Text(const std::string& s) {
  return Value(s);
}

class RemoteTest : public ::testing::Test {
 protected:
  std::unique_ptr<Replica> Open(const std::string& node, ManualClock* clock) {
    auto replica =
        Replica::Open({.path = dir_ / node, .node = node, .unit = "P01", .clock = clock});
    EXPECT_TRUE(replica.ok()) << replica.status().ToString();
    return std::move(replica).value();
  }
  static void Put(Replica& replica, RecordPatch patch, const std::string& actor = "tester") {
    const auto outcome = replica.Write({{actor, {{false, std::move(patch)}}}});
    ASSERT_TRUE(outcome.front().status.ok()) << outcome.front().status.ToString();
  }
  // Everything `from` logged after `after`, as one batch for `to`.
  static Result<RemoteOutcome> Ship(const Replica& from, Replica& to, uint64_t after,
                                    bool log_changes) {
    auto changes = from.ChangesAfter(after, 1000);
    if (!changes.ok()) return changes.status();
    RemoteBatch batch{
        from.node(), PeerPosition{from.epoch(), from.last_seq(), {}}, {}, log_changes, false, {},
        {}};
    for (const auto& change : *changes) batch.changes.push_back(change.delta);
    return to.ApplyRemote(batch);
  }
  static Record Get(const Replica& replica, Table table, const std::string& id) {
    auto record = replica.Get(table, id);
    EXPECT_TRUE(record.ok() && record->has_value());
    return **record;
  }

  ManualClock station_clock_{1'700'000'000'000};
  // Four minutes behind: skewed, yet within the bound on peers' clocks (clock_bound.h).
  ManualClock hub_clock_{1'700'000'000'000 - 240'000};
  TempDir dir_;
};

const RecordPatch kUnit{
    Table::kUnit, "U1", "", {{"name", Text("城里")}, {"kind", Text("station")}}};

TEST_F(RemoteTest, ChangesArriveAsTheSameBytesAndTheCursorMovesWithThem) {
  auto station = Open("P01", &station_clock_);
  auto hub = Open("HUB", &hub_clock_);
  Put(*station, kUnit);
  station_clock_.Advance(10);
  Put(*station, {Table::kUnit, "U1", "", {{"parent", Text("BUREAU")}}}, "372301");
  auto outcome = Ship(*station, *hub, 0, /*log_changes=*/true);
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  EXPECT_EQ(outcome->changed, 2u);
  EXPECT_EQ(Get(*hub, Table::kUnit, "U1"), Get(*station, Table::kUnit, "U1"));
  EXPECT_EQ(hub->Peer("P01").cursor, 2u);
  EXPECT_EQ(hub->Peer("P01").epoch, station->epoch());
  EXPECT_EQ(hub->last_seq(), 2u);
  EXPECT_EQ(hub->ChangesAfter(0, 10)->front().origin,
            "P01");  // the hub logs what it received, for the other stations
  EXPECT_EQ(hub->History(Table::kUnit, "U1")->size(), 2u);
  EXPECT_EQ(hub->History(Table::kUnit, "U1")->back().actor, "372301");

  // A replay changes nothing; a later write made at the hub comes after the station's (HLC).
  EXPECT_EQ(Ship(*station, *hub, 0, true)->changed, 0u);
  Put(*hub, {Table::kUnit, "U1", "", {{"name", Text("城里派出所")}}});
  EXPECT_GT(Get(*hub, Table::kUnit, "U1").updated, Get(*station, Table::kUnit, "U1").updated);
  ASSERT_TRUE(Ship(*hub, *station, 2, /*log_changes=*/false).ok());
  EXPECT_EQ(Get(*hub, Table::kUnit, "U1"), Get(*station, Table::kUnit, "U1"));
  EXPECT_EQ(station->last_seq(), 2u);  // a station logs only its own writes
  EXPECT_TRUE(hub->CheckIntegrity().ok()) << hub->CheckIntegrity().ToString();
  EXPECT_TRUE(station->CheckIntegrity().ok()) << station->CheckIntegrity().ToString();
}

TEST_F(RemoteTest, ARecordThatArrivesWholeStoresNoHistoryYetReadsAsTheWritersHistory) {
  auto station = Open("P01", &station_clock_);
  auto hub = Open("HUB", &hub_clock_);
  Put(*station, kUnit, "372301");
  ASSERT_TRUE(Ship(*station, *hub, 0, /*log_changes=*/true).ok());
  auto arrived = hub->History(Table::kUnit, "U1");
  ASSERT_TRUE(arrived.ok()) << arrived.status().ToString();
  EXPECT_EQ(hub->TEST_StoredHistoryEntries(Table::kUnit, "U1"), 0u);
  ASSERT_EQ(arrived->size(), 1u);
  EXPECT_EQ(*arrived, *station->History(Table::kUnit, "U1"));  // as the writer stored it
  EXPECT_EQ(arrived->front().actor, "372301");
  EXPECT_TRUE(hub->CheckIntegrity().ok()) << hub->CheckIntegrity().ToString();

  // Its next change stores the arrival entry first, from the record as it arrived.
  Put(*hub, {Table::kUnit, "U1", "", {{"name", Text("城里派出所")}}}, "admin");
  auto changed = hub->History(Table::kUnit, "U1");
  ASSERT_TRUE(changed.ok());
  EXPECT_EQ(hub->TEST_StoredHistoryEntries(Table::kUnit, "U1"), 2u);
  ASSERT_EQ(changed->size(), 2u);
  EXPECT_EQ(changed->front(), arrived->front());
  EXPECT_EQ(changed->back().actor, "admin");
  EXPECT_EQ(hub->History(Table::kUnit, "U2")->size(), 0u);  // not held: no history
}

TEST_F(RemoteTest, ChangesToAnArrivedRecordInOneGroupCommitKeepEveryEntry) {
  auto station = Open("P01", &station_clock_);
  auto hub = Open("HUB", &hub_clock_);
  Put(*station, kUnit, "372301");
  ASSERT_TRUE(Ship(*station, *hub, 0, /*log_changes=*/true).ok());
  const HistoryEntry arrival = hub->History(Table::kUnit, "U1")->front();
  // A request that fails rolls back, and the arrival entry it staged with it; the next stores it.
  const auto outcomes =
      hub->Write({{"a1", {{false, {Table::kUnit, "U1", "", {{"status", Text("active")}}}}}},
                  {"a2",
                   {{false, {Table::kUnit, "U1", "", {{"name", Text("甲")}}}},
                    {false, {Table::kUnit, "U1", "", {{"kind", Text("no such kind")}}}}}},
                  {"a3", {{false, {Table::kUnit, "U1", "", {{"name", Text("乙")}}}}}}});
  ASSERT_TRUE(outcomes[0].status.ok()) << outcomes[0].status.ToString();
  EXPECT_FALSE(outcomes[1].status.ok());
  ASSERT_TRUE(outcomes[2].status.ok()) << outcomes[2].status.ToString();
  auto history = hub->History(Table::kUnit, "U1");
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 3u);
  EXPECT_EQ((*history)[0], arrival);
  auto names = [](const HistoryEntry& entry) {
    std::vector<std::string> changed;
    for (const FieldChange& change : entry.changes) changed.push_back(change.name);
    return changed;
  };
  EXPECT_EQ((*history)[1].actor, "a1");
  EXPECT_EQ(names((*history)[1]), std::vector<std::string>{"status"});
  EXPECT_EQ((*history)[2].actor, "a3");
  EXPECT_EQ(names((*history)[2]), std::vector<std::string>{"name"});
  EXPECT_EQ(hub->TEST_StoredHistoryEntries(Table::kUnit, "U1"), 3u);
  EXPECT_TRUE(hub->CheckIntegrity().ok()) << hub->CheckIntegrity().ToString();
}

// Invariant 7 at the hub: a station's new record is logged naming the record, read as the
// station sent it, and stored whole once the record changes. At a station, an eviction stores
// whole the entry of its own write, which its log keeps.
TEST_F(RemoteTest, ANewRecordsLogEntryNamesItUntilItChangesOrIsEvicted) {
  auto station = Open("P01", &station_clock_);
  auto hub = Open("HUB", &hub_clock_);
  Put(*station, kUnit, "372301");
  const Change written = station->ChangesAfter(0, 10)->front();
  EXPECT_TRUE(station->TEST_LogEntryNamesRecord(1));
  ASSERT_TRUE(Ship(*station, *hub, 0, /*log_changes=*/true).ok());
  EXPECT_TRUE(hub->TEST_LogEntryNamesRecord(1));
  auto logged = hub->ChangesAfter(0, 10);
  ASSERT_TRUE(logged.ok()) << logged.status().ToString();
  ASSERT_EQ(logged->size(), 1u);
  EXPECT_EQ(logged->front().delta, written.delta);
  EXPECT_EQ(logged->front().origin, "P01");
  EXPECT_TRUE(hub->CheckIntegrity().ok()) << hub->CheckIntegrity().ToString();

  Put(*hub, {Table::kUnit, "U1", "", {{"name", Text("城里派出所")}}}, "admin");
  EXPECT_FALSE(hub->TEST_LogEntryNamesRecord(1));
  EXPECT_EQ(hub->ChangesAfter(0, 10)->front(), logged->front());
  EXPECT_TRUE(hub->CheckIntegrity().ok()) << hub->CheckIntegrity().ToString();

  RemoteBatch leave{"hub", std::nullopt, {}, false, true, std::nullopt, {{Table::kUnit, "U1"}}};
  auto evicted = station->ApplyRemote(leave);
  ASSERT_TRUE(evicted.ok()) << evicted.status().ToString();
  EXPECT_EQ(evicted->evicted, 1u);
  EXPECT_FALSE(station->TEST_LogEntryNamesRecord(1));
  auto kept = station->ChangesAfter(0, 10);
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  EXPECT_EQ(*kept, std::vector<Change>{written});
  EXPECT_TRUE(station->CheckIntegrity().ok()) << station->CheckIntegrity().ToString();
}

TEST_F(RemoteTest, AnInvalidChangeIsSkippedAndReportedAndTheRestApplies) {
  auto station = Open("P01", &station_clock_);
  auto hub = Open("HUB", &hub_clock_);
  Put(*station, kUnit);
  auto changes = station->ChangesAfter(0, 10);
  Record bad = changes->front().delta;
  bad.id = "U2";
  bad.fields["kind"].value = Text("castle");
  Record unstamped = changes->front().delta;
  unstamped.id = "U3";
  unstamped.seen.clear();
  RemoteBatch batch{
      "P01", PeerPosition{"e", 3, {}}, {bad, changes->front().delta, unstamped}, true, false, {},
      {}};
  auto outcome = hub->ApplyRemote(batch);
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  ASSERT_EQ(outcome->rejected.size(), 2u);
  EXPECT_NE(outcome->rejected[0].find("unit U2"), std::string::npos) << outcome->rejected[0];
  EXPECT_NE(outcome->rejected[1].find("unit U3"), std::string::npos) << outcome->rejected[1];
  EXPECT_TRUE(hub->Get(Table::kUnit, "U1")->has_value());
  EXPECT_FALSE(hub->Get(Table::kUnit, "U2")->has_value());
  EXPECT_EQ(hub->last_seq(), 1u);  // only the valid change is logged
  EXPECT_EQ(hub->Peer("P01").cursor, 3u);
  EXPECT_TRUE(hub->CheckIntegrity().ok()) << hub->CheckIntegrity().ToString();
}

// A station takes a batch's records (ApplyRemote(RemoteBatch&&)): what it stores and reports is
// what copying them stores and reports, a record it already held is merged (its change left as it
// was sent), and a taken record refused after the merge is still named.
TEST_F(RemoteTest, TakingABatchsRecordsStoresWhatCopyingThemStores) {
  auto writer = Open("P01", &station_clock_);
  auto copying = Open("P02", &hub_clock_);
  auto taking = Open("P03", &hub_clock_);
  Put(*writer, kUnit);
  for (Replica* to : {copying.get(), taking.get()}) {
    ASSERT_TRUE(Ship(*writer, *to, 0, /*log_changes=*/false).ok());
  }
  station_clock_.Advance(10);
  Put(*writer, {Table::kUnit, "U1", "", {{"parent", Text("BUREAU")}}});
  Put(*writer, {Table::kUnit, "U2", "", {{"name", Text("城外")}, {"kind", Text("station")}}});
  auto changes = writer->ChangesAfter(1, 10);
  ASSERT_TRUE(changes.ok() && changes->size() == 2u);
  Record nameless = changes->back().delta;  // valid as a change, not as a record new here
  nameless.id = "U3";
  nameless.fields.erase("name");
  RemoteBatch batch{"P01",
                    PeerPosition{writer->epoch(), 3, {}},
                    {changes->front().delta, changes->back().delta, nameless},
                    false,
                    false,
                    {},
                    {}};
  const RemoteBatch sent = batch;
  auto copied = copying->ApplyRemote(batch);
  ASSERT_TRUE(copied.ok()) << copied.status().ToString();
  EXPECT_EQ(batch.changes, sent.changes);  // the const overload copies
  auto took = taking->ApplyRemote(std::move(batch));
  ASSERT_TRUE(took.ok()) << took.status().ToString();
  EXPECT_EQ(took->changed, copied->changed);
  EXPECT_EQ(took->changed, 2u);
  EXPECT_EQ(took->rejected, copied->rejected);
  ASSERT_EQ(took->rejected.size(), 1u);
  EXPECT_NE(took->rejected[0].find("unit U3"), std::string::npos) << took->rejected[0];
  for (const char* id : {"U1", "U2"}) {
    EXPECT_EQ(Get(*taking, Table::kUnit, id), Get(*copying, Table::kUnit, id)) << id;
    EXPECT_EQ(Get(*taking, Table::kUnit, id), Get(*writer, Table::kUnit, id)) << id;
  }
  EXPECT_FALSE(taking->Get(Table::kUnit, "U3")->has_value());
  EXPECT_EQ(taking->Digest({"P01"}), copying->Digest({"P01"}));
  EXPECT_EQ(taking->Peer("P01").cursor, 3u);
  EXPECT_EQ(batch.changes.front(), sent.changes.front());  // U1 was held: merged, not taken
  EXPECT_TRUE(taking->CheckIntegrity().ok()) << taking->CheckIntegrity().ToString();
}

TEST_F(RemoteTest, LogStampNamesTheNewestWriteOfAnEntry) {
  auto station = Open("P01", &station_clock_);
  Put(*station, kUnit);
  auto stamp = station->LogStamp(1);
  ASSERT_TRUE(stamp.ok());
  EXPECT_EQ(*stamp, Get(*station, Table::kUnit, "U1").updated);
  EXPECT_EQ(station->LogStamp(2).status().code(), Code::kNotFound);
}

TEST_F(RemoteTest, ConcurrentWritesConvergeAndTheLoserIsKept) {
  auto station = Open("P01", &station_clock_);
  auto hub = Open("HUB", &hub_clock_);
  Put(*station, kUnit);
  ASSERT_TRUE(Ship(*station, *hub, 0, true).ok());
  // Offline: both rename the unit.
  station_clock_.Advance(1000);
  Put(*station, {Table::kUnit, "U1", "", {{"name", Text("城里所")}}}, "372301");
  hub_clock_.Advance(420'000);  // the hub's clock is now 3 min ahead: its write wins
  Put(*hub, {Table::kUnit, "U1", "", {{"name", Text("城关所")}}}, "admin");
  ASSERT_TRUE(Ship(*station, *hub, 1, true).ok());
  ASSERT_TRUE(Ship(*hub, *station, 1, false).ok());
  const Record at_hub = Get(*hub, Table::kUnit, "U1");
  EXPECT_EQ(at_hub, Get(*station, Table::kUnit, "U1"));
  EXPECT_EQ(at_hub.fields.at("name").value, Text("城关所"));
  for (const Replica* replica : {hub.get(), station.get()}) {
    auto conflicts = replica->OpenConflicts();
    ASSERT_TRUE(conflicts.ok());
    ASSERT_EQ(conflicts->size(), 1u) << replica->node();
    EXPECT_EQ(conflicts->front().field, "name");
    EXPECT_EQ(conflicts->front().lost.value, Text("城里所"));
    EXPECT_EQ(conflicts->front().lost.actor, "372301");
    EXPECT_EQ(conflicts->front().kept.actor, "admin");
  }
  EXPECT_EQ(hub->OpenConflicts()->front().Key(), station->OpenConflicts()->front().Key());

  // A later write to the field, at either side, closes the conflict everywhere it arrives.
  hub_clock_.Advance(10);
  Put(*station, {Table::kUnit, "U1", "", {{"name", Text("城里派出所")}}}, "admin2");
  EXPECT_TRUE(station->OpenConflicts()->empty());
  ASSERT_TRUE(Ship(*station, *hub, 2, true).ok());
  EXPECT_TRUE(hub->OpenConflicts()->empty());
  EXPECT_EQ(Get(*hub, Table::kUnit, "U1"), Get(*station, Table::kUnit, "U1"));
}

// A conflict closes only by a write to its own register that saw both sides. A write to another
// field, even by a writer that saw everything, leaves it open while the register's value comes
// from a write that never saw the losing side (simulation seeds 50121, 65588 and others lost the
// hub's write that way).
TEST_F(RemoteTest, AWriteToAnotherFieldClosesNoConflict) {
  auto station = Open("P01", &station_clock_);
  auto hub = Open("HUB", &hub_clock_);
  Put(*station, kUnit);
  ASSERT_TRUE(Ship(*station, *hub, 0, true).ok());
  // Offline: both rename the unit; the station's clock is ahead, so its rename wins.
  Put(*hub, {Table::kUnit, "U1", "", {{"name", Text("城关所")}}}, "admin");
  station_clock_.Advance(1000);
  Put(*station, {Table::kUnit, "U1", "", {{"name", Text("城里所")}}}, "372301");
  ASSERT_TRUE(Ship(*station, *hub, 1, true).ok());
  ASSERT_EQ(hub->OpenConflicts()->size(), 1u);
  // The station renames again, still without having seen the hub's rename.
  station_clock_.Advance(1000);
  Put(*station, {Table::kUnit, "U1", "", {{"name", Text("城里派出所")}}}, "372301");
  ASSERT_TRUE(Ship(*station, *hub, 2, true).ok());
  ASSERT_EQ(hub->OpenConflicts()->size(), 1u) << "the new name never saw the hub's";
  // The hub, which has seen every write, sets another field: the hub's rename is still lost.
  hub_clock_.Advance(10);
  Put(*hub, {Table::kUnit, "U1", "", {{"status", Text("active")}}}, "admin");
  ASSERT_EQ(hub->OpenConflicts()->size(), 1u);
  EXPECT_EQ(hub->OpenConflicts()->front().lost.value, Text("城关所"));
  // A rename at the hub, which saw both sides, closes it.
  hub_clock_.Advance(10);
  Put(*hub, {Table::kUnit, "U1", "", {{"name", Text("城关派出所")}}}, "admin");
  EXPECT_TRUE(hub->OpenConflicts()->empty());
}

// Two writes, each valid, to the two fields of a rule across fields (a personnel id_number and
// sex, whose id's sex digit must agree): a write to either field writes both, so every replica
// takes both from one write and holds the same valid record, in either order of arrival, and
// lists the combination as conflicts on both fields, which one resolution restores together.
TEST_F(RemoteTest, ConcurrentWritesAcrossARuleConvergeOnOneValidRecord) {
  const std::string male_id = MakeIdNumber("370724", Date{1985, 3, 9}, 11, /*male=*/true);
  for (const bool station_ships_first : {true, false}) {
    SCOPED_TRACE(station_ships_first ? "the station's write arrives first"
                                     : "the hub's write arrives first");
    TempDir dir;
    auto open = [&dir](const std::string& node, ManualClock* clock) {
      return std::move(
                 Replica::Open({.path = dir / node, .node = node, .unit = "P01", .clock = clock}))
          .value();
    };
    ManualClock station_clock{1'700'000'000'000};
    ManualClock hub_clock{1'700'000'000'000};
    auto station = open("P01", &station_clock);
    auto hub = open("HUB", &hub_clock);
    Put(*station, {Table::kPersonnel,
                   "P7",
                   "P01",
                   {{"name", Text("王芳")}, {"role", Text("officer")}, {"sex", Text("male")}}});
    ASSERT_TRUE(Ship(*station, *hub, 0, true).ok());
    // Offline: the station records the officer's id number (male, as the record says); the hub,
    // later, corrects the sex to female (valid: there is no id number to disagree with).
    station_clock.Advance(1000);
    Put(*station, {Table::kPersonnel, "P7", "", {{"id_number", Text(male_id)}}}, "372301");
    hub_clock.Advance(2000);
    Put(*hub, {Table::kPersonnel, "P7", "", {{"sex", Text("female")}}}, "admin");
    if (station_ships_first) {
      ASSERT_TRUE(Ship(*station, *hub, 1, true).ok());
      ASSERT_TRUE(Ship(*hub, *station, 1, false).ok());
    } else {
      ASSERT_TRUE(Ship(*hub, *station, 1, false).ok());
      ASSERT_TRUE(Ship(*station, *hub, 1, true).ok());
    }
    const Record at_hub = Get(*hub, Table::kPersonnel, "P7");
    EXPECT_EQ(at_hub, Get(*station, Table::kPersonnel, "P7"));
    EXPECT_TRUE(ValidateRecord(at_hub).ok()) << ValidateRecord(at_hub).ToString();
    // The hub's write is the later one: its whole combination (no id number, female) is kept.
    EXPECT_EQ(at_hub.fields.at("sex").value, Text("female"));
    EXPECT_TRUE(IsNull(at_hub.fields.at("id_number").value));
    for (const Replica* replica : {hub.get(), station.get()}) {
      auto conflicts = replica->OpenConflicts();
      ASSERT_TRUE(conflicts.ok());
      std::set<std::string> fields;
      for (const Conflict& conflict : *conflicts) {
        fields.insert(conflict.field);
        EXPECT_EQ(conflict.lost.actor, "372301") << replica->node();
      }
      EXPECT_EQ(fields, (std::set<std::string>{"id_number", "sex"})) << replica->node();
    }
    EXPECT_TRUE(hub->CheckIntegrity().ok()) << hub->CheckIntegrity().ToString();
    EXPECT_TRUE(station->CheckIntegrity().ok()) << station->CheckIntegrity().ToString();

    // Taking the lost side of either conflict restores the station's whole combination, and
    // closes both conflicts.
    auto open_conflicts = hub->OpenConflicts();
    ASSERT_TRUE(open_conflicts.ok());
    const Conflict& on_sex =
        *std::find_if(open_conflicts->begin(), open_conflicts->end(),
                      [](const Conflict& conflict) { return conflict.field == "sex"; });
    auto op =
        ResolutionOp(on_sex, {on_sex.Key(), ConflictChoice::Take::kLost, {}}, *open_conflicts);
    ASSERT_TRUE(op.ok()) << op.status().ToString();
    hub_clock.Advance(10);
    const auto resolved = hub->Write({{"admin", {*op}}});
    ASSERT_TRUE(resolved.front().status.ok()) << resolved.front().status.ToString();
    const Record after = Get(*hub, Table::kPersonnel, "P7");
    EXPECT_EQ(after.fields.at("id_number").value, Text(male_id));
    EXPECT_EQ(after.fields.at("sex").value, Text("male"));
    EXPECT_TRUE(hub->OpenConflicts()->empty());
  }
}

TEST_F(RemoteTest, CursorsSurviveAReopen) {
  {
    auto station = Open("P01", &station_clock_);
    auto hub = Open("HUB", &hub_clock_);
    Put(*station, kUnit);
    ASSERT_TRUE(Ship(*station, *hub, 0, true).ok());
  }
  auto hub = Open("HUB", &hub_clock_);
  EXPECT_EQ(hub->Peer("P01").cursor, 1u);
  EXPECT_EQ(hub->last_seq(), 1u);
  EXPECT_TRUE(hub->CheckIntegrity().ok()) << hub->CheckIntegrity().ToString();
}

}  // namespace
}  // namespace stationsync
