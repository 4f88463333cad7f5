// syncctl person merge / unmerge (sync/admin/person_merge.h): at the hub's replica, a merge fills
// the kept registration, rewrites every reference and leaves a redirecting tombstone in one
// write, and an unmerge restores both; the refusals; the hub carries an offline station's writes
// to the old number (and its references to it) over to the kept registration; and end to end
// between a real hub and station, where the station's replica follows and its offline write
// lands on the kept record.
#include "sync/admin/person_merge.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "sync/records/id_number.h"
#include "sync/storage/replica.h"
#include "sync/storage/replica_keys.h"

#include "tests/support/process.h"

namespace stationsync {
namespace {

using testing::FreeTcpEndpoint;
using testing::StationDaemon;
using testing::TempDir;
using Json = nlohmann::json;

const std::string kKeep = MakeIdNumber("370724", {1980, 5, 1}, 1, true);
const std::string kDuplicate = MakeIdNumber("370724", {1980, 5, 1}, 2, true);
const std::string kOther = MakeIdNumber("370724", {1975, 3, 9}, 3, false);

std::map<std::string, Value> Resident(const std::string& name, const std::string& sex,
                                      const std::string& birth, const std::string& household) {
  return {{"name", Value(name)},        {"sex", Value(sex)},
          {"birth_date", Value(birth)}, {"household", Value(household)},
          {"relation", Value("head")},  {"area", Value("370724001001")}};
}

std::map<std::string, Value> CaseInvolving(std::vector<std::string> involved) {
  return {{"kind", Value("criminal")},
          {"title", Value("盗窃案")},
          {"status", Value("filed")},
          {"reported_at", Value("2024-03-01T08:30:00Z")},
          {"involved", Value(std::move(involved))}};
}

Value List(std::vector<std::string> ids) {
  return Value(std::move(ids));
}

Value FieldOf(const Record& record, const std::string& name) {
  const auto it = record.fields.find(name);
  return it == record.fields.end() ? Value{} : it->second.value;
}

class PersonMergeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    hub_ = Open("hub", "hub");
    auto keep = Resident("王伟", "male", "1980-05-01", "H1");
    auto duplicate = Resident("王伟", "male", "1980-05-01", "H2");
    duplicate["address"] = Value("东关街1号");
    duplicate["ethnicity"] = Value("汉族");
    Put(*hub_, {Table::kRegistration, kKeep, "S1", keep});
    Put(*hub_, {Table::kRegistration, kDuplicate, "S1", duplicate});
    Put(*hub_,
        {Table::kRegistration, kOther, "S1", Resident("李娜", "female", "1975-03-09", "H3")});
    Put(*hub_, {Table::kPersonnel,
                "P1",
                "S1",
                {{"name", Value("王伟")},
                 {"role", Value("auxiliary")},
                 {"sex", Value("male")},
                 {"id_number", Value(kDuplicate)}}});
    Put(*hub_, {Table::kCase, "C1", "S1", CaseInvolving({kDuplicate, kOther})});
    Put(*hub_, {Table::kCase, "C2", "S1", CaseInvolving({kKeep, kDuplicate})});
    Put(*hub_, {Table::kCase, "C3", "S1", CaseInvolving({kOther})});
  }

  std::unique_ptr<Replica> Open(const std::string& node, const std::string& unit) {
    auto replica =
        Replica::Open({.path = dir_ / node, .node = node, .unit = unit, .clock = &clock_});
    EXPECT_TRUE(replica.ok()) << replica.status().ToString();
    return std::move(replica).value();
  }

  static Record Put(Replica& replica, const RecordPatch& patch,
                    const std::string& actor = "admin") {
    auto outcome = replica.Write({{actor, {{false, patch}}}});
    EXPECT_TRUE(outcome.front().status.ok()) << outcome.front().status.ToString();
    return outcome.front().status.ok() ? outcome.front().records.front() : Record{};
  }

  static Record Stored(const Replica& replica, Table table, const std::string& id) {
    auto record = replica.Get(table, id);
    EXPECT_TRUE(record.ok() && *record) << TableName(table) << " " << id;
    return record.ok() && *record ? **record : Record{};
  }

  static Status Apply(Replica& replica, const PersonMergePlan& plan) {
    return replica.Write({plan.write}).front().status;
  }

  ManualClock clock_{1'700'000'000'000};
  TempDir dir_;
  std::unique_ptr<Replica> hub_;
};

// What refers to a citizen: personnel and cases, in key order; the registration is found by its
// own key, not listed (replica_keys.h: it has no id-number index key).
TEST_F(PersonMergeTest, RecordsNamingAnIdNumberAreItsPersonnelAndCasesInKeyOrder) {
  auto naming = hub_->RecordsNaming(kDuplicate, 100);
  ASSERT_TRUE(naming.ok()) << naming.status().ToString();
  std::vector<std::string> found;
  for (const RecordRef& ref : *naming) found.push_back(RecordKey(ref.table, ref.id));
  EXPECT_EQ(found, (std::vector<std::string>{"case/C1", "case/C2", "personnel/P1"}));
  EXPECT_EQ(hub_->RecordsNaming(kDuplicate, 2).status().code(), Code::kRefused);
  naming = hub_->RecordsNaming(kKeep, 100);  // a registration and one case
  ASSERT_TRUE(naming.ok()) << naming.status().ToString();
  ASSERT_EQ(naming->size(), 1u);
  EXPECT_EQ(RecordKey((*naming)[0].table, (*naming)[0].id), "case/C2");
}

TEST_F(PersonMergeTest, MergeFillsRewritesAndRedirectsInOneWriteAndUnmergeRestoresBoth) {
  auto plan = PlanPersonMerge(*hub_, kKeep, kDuplicate, "admin7");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  // Planned: KEEP's two empty fields, P1, C1 and C2 (not C3), and the tombstone.
  std::set<std::string> planned;
  for (const RecordEdit& edit : plan->edits) planned.insert(edit.id);
  EXPECT_EQ(planned, (std::set<std::string>{kKeep, kDuplicate, "P1", "C1", "C2"}));
  EXPECT_EQ(Stored(*hub_, Table::kRegistration, kDuplicate).deleted,
            false);  // a plan writes nothing
  const uint64_t seq_before = hub_->last_seq();
  ASSERT_TRUE(Apply(*hub_, *plan).ok());

  const Record keep = Stored(*hub_, Table::kRegistration, kKeep);
  EXPECT_EQ(FieldOf(keep, "address"), Value("东关街1号"));
  EXPECT_EQ(FieldOf(keep, "ethnicity"), Value("汉族"));
  EXPECT_EQ(FieldOf(keep, "household"), Value("H1"));  // its own values stay
  EXPECT_EQ(FieldOf(Stored(*hub_, Table::kPersonnel, "P1"), "id_number"), Value(kKeep));
  // A set lists persons in the order added (merge_policy.h): the rewritten one is the newest.
  EXPECT_EQ(FieldOf(Stored(*hub_, Table::kCase, "C1"), "involved"), List({kOther, kKeep}));
  EXPECT_EQ(FieldOf(Stored(*hub_, Table::kCase, "C2"), "involved"), List({kKeep}));
  EXPECT_EQ(FieldOf(Stored(*hub_, Table::kCase, "C3"), "involved"), List({kOther}));
  const Record tombstone = Stored(*hub_, Table::kRegistration, kDuplicate);
  EXPECT_TRUE(tombstone.deleted);
  EXPECT_EQ(FieldOf(tombstone, "merged_into"), Value(kKeep));
  EXPECT_EQ(FieldOf(tombstone, "address"), Value("东关街1号"));  // kept for an unmerge
  // One write: every change is in the log, with history by the merge's actor.
  EXPECT_EQ(hub_->last_seq(), seq_before + 6);
  auto history = hub_->History(Table::kCase, "C1");
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(history->back().actor, "admin7");
  // Reads of the old number lead to the kept record; nothing names it any more.
  auto followed = FollowMerged(*hub_, kDuplicate);
  ASSERT_TRUE(followed.ok() && *followed);
  EXPECT_EQ((*followed)->id, kKeep);
  auto naming = hub_->RecordsNaming(kDuplicate, 100);
  ASSERT_TRUE(naming.ok());
  EXPECT_TRUE(naming->empty());
  EXPECT_TRUE(hub_->CheckIntegrity().ok()) << hub_->CheckIntegrity().ToString();

  // A later case write naming the old number (or both numbers) lists the kept person once.
  RecordPatch later{Table::kCase, "C9", "", {{"involved", List({kDuplicate, kOther, kKeep})}}};
  ASSERT_TRUE(RedirectMergedInvolved(*hub_, later).ok());
  EXPECT_EQ(later.fields.at("involved"), List({kKeep, kOther}));

  auto again = PlanPersonMerge(*hub_, kKeep, kDuplicate, "admin7");
  EXPECT_EQ(again.status().code(), Code::kRefused) << again.status().ToString();

  auto unmerge = PlanPersonUnmerge(*hub_, kDuplicate, "admin8");
  ASSERT_TRUE(unmerge.ok()) << unmerge.status().ToString();
  ASSERT_TRUE(Apply(*hub_, *unmerge).ok());
  const Record revived = Stored(*hub_, Table::kRegistration, kDuplicate);
  EXPECT_FALSE(revived.deleted);
  EXPECT_TRUE(IsNull(FieldOf(revived, "merged_into")));
  EXPECT_EQ(FieldOf(revived, "address"), Value("东关街1号"));
  const Record unfilled = Stored(*hub_, Table::kRegistration, kKeep);
  EXPECT_TRUE(IsNull(FieldOf(unfilled, "address")));
  EXPECT_TRUE(IsNull(FieldOf(unfilled, "ethnicity")));
  EXPECT_EQ(FieldOf(Stored(*hub_, Table::kPersonnel, "P1"), "id_number"), Value(kDuplicate));
  EXPECT_EQ(FieldOf(Stored(*hub_, Table::kCase, "C1"), "involved"), List({kOther, kDuplicate}));
  EXPECT_EQ(FieldOf(Stored(*hub_, Table::kCase, "C2"), "involved"), List({kKeep, kDuplicate}));
  auto note = hub_->Annotation(std::string(kPersonMergeAnnotation) + kDuplicate);
  ASSERT_TRUE(note.ok());
  EXPECT_FALSE(note->has_value());
  EXPECT_TRUE(hub_->CheckIntegrity().ok()) << hub_->CheckIntegrity().ToString();
  auto twice = PlanPersonUnmerge(*hub_, kDuplicate, "admin8");
  EXPECT_EQ(twice.status().code(), Code::kRefused);
}

TEST_F(PersonMergeTest, UnmergeLeavesWhatWasChangedSinceTheMerge) {
  auto plan = PlanPersonMerge(*hub_, kKeep, kDuplicate, "admin7");
  ASSERT_TRUE(plan.ok());
  ASSERT_TRUE(Apply(*hub_, *plan).ok());
  // Since the merge: KEEP's filled address corrected, C1 edited to drop the person.
  Put(*hub_, {Table::kRegistration, kKeep, "", {{"address", Value("西关街9号")}}});
  Put(*hub_, {Table::kCase, "C1", "", {{"involved", List({kOther})}}});
  auto unmerge = PlanPersonUnmerge(*hub_, kDuplicate, "admin8");
  ASSERT_TRUE(unmerge.ok());
  ASSERT_TRUE(Apply(*hub_, *unmerge).ok());
  const Record keep = Stored(*hub_, Table::kRegistration, kKeep);
  EXPECT_EQ(FieldOf(keep, "address"), Value("西关街9号"));
  EXPECT_TRUE(IsNull(FieldOf(keep, "ethnicity")));
  EXPECT_EQ(FieldOf(Stored(*hub_, Table::kCase, "C1"), "involved"), List({kOther}));
}

TEST_F(PersonMergeTest, RefusesWhatIsNotOnePersonOrNotThere) {
  auto same = PlanPersonMerge(*hub_, kKeep, kKeep, "a");
  EXPECT_EQ(same.status().code(), Code::kInvalid);
  auto malformed = PlanPersonMerge(*hub_, kKeep, "12345", "a");
  EXPECT_EQ(malformed.status().code(), Code::kInvalid);
  EXPECT_NE(malformed.status().message().find("DUPLICATE"), std::string::npos);
  const std::string absent = MakeIdNumber("370724", {1980, 5, 1}, 9, true);
  EXPECT_EQ(PlanPersonMerge(*hub_, kKeep, absent, "a").status().code(), Code::kNotFound);
  auto two_people = PlanPersonMerge(*hub_, kKeep, kOther, "a");
  EXPECT_EQ(two_people.status().code(), Code::kRefused);
  EXPECT_NE(two_people.status().message().find("sex"), std::string::npos);
  EXPECT_EQ(PlanPersonUnmerge(*hub_, kKeep, "a").status().code(), Code::kRefused);
  // KEEP itself merged away: merge into where it went.
  const std::string third = MakeIdNumber("370724", {1980, 5, 1}, 4, true);
  Put(*hub_, {Table::kRegistration, third, "S1", Resident("王伟", "male", "1980-05-01", "H4")});
  ASSERT_TRUE(Apply(*hub_, *PlanPersonMerge(*hub_, kKeep, kDuplicate, "a")).ok());
  auto into_merged = PlanPersonMerge(*hub_, kDuplicate, third, "a");
  EXPECT_EQ(into_merged.status().code(), Code::kRefused);
  EXPECT_NE(into_merged.status().message().find(kKeep), std::string::npos);
}

TEST_F(PersonMergeTest, TheHubCarriesAnOfflineStationsWritesToTheOldNumberOverToTheKeptOne) {
  // The station holds S1's records as the hub sent them.
  auto station = Open("S1", "S1");
  auto hub_log = hub_->ChangesAfter(0, 1000);
  ASSERT_TRUE(hub_log.ok());
  RemoteBatch down;
  down.peer = "hub";
  down.position = PeerPosition{hub_->epoch(), hub_->last_seq(), {}};
  for (const Change& change : *hub_log) down.changes.push_back(change.delta);
  ASSERT_TRUE(station->ApplyRemote(down).ok());
  const uint64_t station_mark = station->last_seq();

  // Offline, the station writes to the old number and lists it in a case; the hub merges.
  clock_.Advance(1000);
  Put(*station, {Table::kRegistration, kDuplicate, "", {{"address", Value("新村3号")}}},
      "officer7");
  Put(*station, {Table::kCase, "C3", "", {{"involved", List({kOther, kDuplicate})}}}, "officer7");
  Put(*station, {Table::kCase, "C4", "S1", CaseInvolving({kDuplicate})}, "officer7");
  ASSERT_TRUE(Apply(*hub_, *PlanPersonMerge(*hub_, kKeep, kDuplicate, "admin7")).ok());
  const uint64_t hub_mark = hub_->last_seq();

  // The station's changes reach the hub.
  auto up = station->ChangesAfter(station_mark, 1000);
  ASSERT_TRUE(up.ok());
  RemoteBatch batch;
  batch.peer = "S1";
  batch.log_changes = true;
  for (const Change& change : *up) batch.changes.push_back(change.delta);
  auto applied = hub_->ApplyRemote(batch);
  ASSERT_TRUE(applied.ok());
  EXPECT_TRUE(applied->rejected.empty()) << applied->rejected.front();
  const Record keep = Stored(*hub_, Table::kRegistration, kKeep);
  EXPECT_EQ(FieldOf(keep, "address"), Value("新村3号"));
  EXPECT_EQ(keep.fields.at("address").actor, "officer7");
  EXPECT_TRUE(Stored(*hub_, Table::kRegistration, kDuplicate).deleted);
  EXPECT_EQ(FieldOf(Stored(*hub_, Table::kCase, "C3"), "involved"), List({kOther, kKeep}));
  EXPECT_EQ(FieldOf(Stored(*hub_, Table::kCase, "C4"), "involved"), List({kKeep}));
  // Delivered again (a resend), it changes nothing more.
  const uint64_t after_once = hub_->last_seq();
  ASSERT_TRUE(hub_->ApplyRemote(batch).ok());
  EXPECT_EQ(hub_->last_seq(), after_once);

  // The hub's changes since the merge reach the station: both hold the same records.
  auto since = hub_->ChangesAfter(hub_mark - 6, 1000);
  ASSERT_TRUE(since.ok());
  RemoteBatch back;
  back.peer = "hub";
  back.position = PeerPosition{hub_->epoch(), hub_->last_seq(), {}};
  for (const Change& change : *since) back.changes.push_back(change.delta);
  ASSERT_TRUE(station->ApplyRemote(back).ok());
  EXPECT_EQ(station->Digest({"S1"}).root, hub_->Digest({"S1"}).root);
  EXPECT_TRUE(station->CheckIntegrity().ok()) << station->CheckIntegrity().ToString();
  EXPECT_TRUE(hub_->CheckIntegrity().ok()) << hub_->CheckIntegrity().ToString();

  // A station may not write merged_into itself.
  Record forged = Stored(*station, Table::kRegistration, kOther);
  forged.fields["merged_into"] = FieldState{Value(kKeep), Stamp{forged.updated.hlc + 1, "S1"}, "x"};
  forged.seen["S1"] = forged.updated.hlc + 1;
  RemoteBatch forging;
  forging.peer = "S1";
  forging.changes = {forged};
  forging.log_changes = true;
  auto refused = hub_->ApplyRemote(forging);
  ASSERT_TRUE(refused.ok());
  ASSERT_EQ(refused->rejected.size(), 1u);
  EXPECT_NE(refused->rejected.front().find("merged_into"), std::string::npos);
}

// End to end: syncctl at a real hub, a real station following, its offline write redirected.
class PersonMergeCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    hub_ = StationDaemon::Hub(FreeTcpEndpoint());
    ASSERT_TRUE(hub_->Start()) << hub_->Log();
    ASSERT_EQ(
        hub_->Ctl({"unit", "put", "S1", R"({"name":"S1 派出所","kind":"station"})"}).exit_code, 0);
    PutAtHub("registration", kKeep,
             R"({"name":"王伟","sex":"male","birth_date":"1980-05-01","household":"H1",)"
             R"("relation":"head","area":"370724001001"})");
    PutAtHub("registration", kDuplicate,
             R"({"name":"王伟","sex":"male","birth_date":"1980-05-01","household":"H2",)"
             R"("relation":"head","area":"370724001001","ethnicity":"汉族"})");
    PutAtHub("case", "C1",
             fmt::format(R"({{"kind":"criminal","title":"盗窃案","status":"filed",)"
                         R"("reported_at":"2024-03-01T08:30:00Z","involved":["{}"]}})",
                         kDuplicate));
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

  void PutAtHub(const std::string& table, const std::string& id, const std::string& fields) {
    const auto put = hub_->Ctl({"--actor", "admin", "put", table, id, fields, "--owner", "S1"});
    ASSERT_EQ(put.exit_code, 0) << put.err;
  }

  void WaitSynced() {
    const auto wait = station_->Ctl({"wait-synced", "--timeout", "60"});
    ASSERT_EQ(wait.exit_code, 0) << wait.err << station_->Log();
  }

  static Json Get(const StationDaemon& node, const std::string& table, const std::string& id) {
    const auto get = node.Ctl({"get", table, id});
    EXPECT_EQ(get.exit_code, 0) << get.err;
    return Json::parse(get.out, nullptr, /*allow_exceptions=*/false);
  }

  // The JSON lines of a run of syncctl person ...; the last is the summary.
  static std::vector<Json> Lines(const std::string& out) {
    std::vector<Json> lines;
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);) lines.push_back(Json::parse(line));
    return lines;
  }

  std::unique_ptr<StationDaemon> hub_;
  std::unique_ptr<StationDaemon> station_;
};

TEST_F(PersonMergeCommandTest, AnOfflineStationsWriteToTheOldNumberLandsOnTheKeptRecord) {
  const auto dry =
      hub_->Ctl({"--actor", "admin", "person", "merge", kKeep, kDuplicate, "--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  const auto planned = Lines(dry.out);
  ASSERT_FALSE(planned.empty());
  EXPECT_EQ(planned.back()["dry_run"], true);
  EXPECT_EQ(planned.back()["records"], 3);  // KEEP (ethnicity), C1, the tombstone
  EXPECT_EQ(Get(*hub_, "registration", kDuplicate)["deleted"], false);

  // The station writes to the old number while the hub is away; the hub merges meanwhile.
  ASSERT_EQ(hub_->Stop(), 0);
  const auto offline = station_->Ctl(
      {"--actor", "officer7", "put", "registration", kDuplicate, R"({"address":"新村3号"})"});
  ASSERT_EQ(offline.exit_code, 0) << offline.err;
  ASSERT_EQ(station_->Stop(), 0);
  ASSERT_TRUE(hub_->Start()) << hub_->Log();
  const auto merged = hub_->Ctl({"--actor", "admin", "person", "merge", kKeep, kDuplicate});
  ASSERT_EQ(merged.exit_code, 0) << merged.err;
  EXPECT_EQ(Lines(merged.out).back()["dry_run"], false);
  ASSERT_TRUE(station_->Start()) << station_->Log();
  WaitSynced();

  for (const StationDaemon* node : {hub_.get(), station_.get()}) {
    const Json read = Get(*node, "registration", kDuplicate);
    EXPECT_EQ(read["id"], kKeep) << node->unit();
    EXPECT_EQ(read["redirected_from"], kDuplicate);
    EXPECT_EQ(read["fields"]["address"], "新村3号") << node->unit();
    EXPECT_EQ(read["fields"]["ethnicity"], "汉族");
    EXPECT_EQ(Get(*node, "case", "C1")["fields"]["involved"], Json::array({kKeep}));
  }
  const auto remote = station_->Ctl({"get", "registration", kDuplicate, "--remote"});
  ASSERT_EQ(remote.exit_code, 0) << remote.err;
  EXPECT_EQ(Json::parse(remote.out)["id"], kKeep);
  EXPECT_EQ(Json::parse(remote.out)["redirected_from"], kDuplicate);
  // Online now, a write to the old number is redirected at the station itself.
  const auto online = station_->Ctl(
      {"--actor", "officer7", "put", "registration", kDuplicate, R"({"address":"新村4号"})"});
  ASSERT_EQ(online.exit_code, 0) << online.err;
  EXPECT_EQ(Json::parse(online.out)["id"], kKeep);
  EXPECT_EQ(Get(*station_, "registration", kKeep)["fields"]["address"], "新村4号");
  const auto forged = station_->Ctl({"--actor", "officer7", "put", "registration", kKeep,
                                     fmt::format(R"({{"merged_into":"{}"}})", kDuplicate)});
  EXPECT_EQ(forged.exit_code, 2) << forged.err;

  const auto unmerged = hub_->Ctl({"--actor", "admin", "person", "unmerge", kDuplicate});
  ASSERT_EQ(unmerged.exit_code, 0) << unmerged.err;
  WaitSynced();
  const Json revived = Get(*station_, "registration", kDuplicate);
  EXPECT_EQ(revived["id"], kDuplicate);
  EXPECT_EQ(revived["deleted"], false);
  EXPECT_FALSE(revived["fields"].contains("merged_into") &&
               !revived["fields"]["merged_into"].is_null());
  EXPECT_EQ(Get(*station_, "case", "C1")["fields"]["involved"], Json::array({kDuplicate}));
  EXPECT_EQ(station_->Ctl({"digest"}).out, hub_->Ctl({"digest", "--scope", "S1"}).out);

  // Refusals keep their exit codes.
  EXPECT_EQ(station_->Ctl({"--actor", "a", "person", "merge", kKeep, kDuplicate}).exit_code, 4);
  EXPECT_EQ(hub_->Ctl({"--actor", "a", "person", "merge", kKeep, kKeep}).exit_code, 2);
  EXPECT_EQ(hub_->Ctl({"--actor", "a", "person", "merge", kKeep,
                       MakeIdNumber("370724", {1980, 5, 1}, 9, true)})
                .exit_code,
            1);
  EXPECT_EQ(hub_->Ctl({"--actor", "a", "person", "unmerge", kKeep}).exit_code, 4);
}

}  // namespace
}  // namespace stationsync
