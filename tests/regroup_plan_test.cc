// Planning merges, unmerges and transfers at the hub (sync/protocol/regroup.h) against a real
// replica: the exact unit fields a merge and an unmerge write, one request for all members, chains,
// records keeping their owners, a transfer's new owner, and every refusal with its code.
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include "sync/protocol/registry.h"
#include "sync/protocol/regroup.h"
#include "sync/records/hlc.h"

#include "tests/support/process.h"

namespace stationsync {
namespace {

using testing::TempDir;

const std::map<std::string, Value> kCaseFields = {
    {"kind", Value("criminal")},
    {"title", Value("盗窃")},
    {"status", Value("filed")},
    {"reported_at", Value("2024-03-01T08:30:00+08:00")}};

class RegroupPlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto replica =
        Replica::Open({.path = dir_ / "hub", .node = "HUB", .unit = "HQ", .clock = &clock_});
    ASSERT_TRUE(replica.ok()) << replica.status().ToString();
    hub_ = std::move(replica).value();
    for (const char* code : {"P01", "P02", "P03", "P04", "P05"}) AddUnit(code, "station");
    AddUnit("T01", "traffic");
    AddUnit("S01", "suboffice");
  }

  void Apply(const WriteRequest& write) {
    clock_.Advance(10);
    const auto outcome = hub_->Write({write});
    ASSERT_TRUE(outcome.front().status.ok()) << outcome.front().status.ToString();
  }
  void Apply(const Result<WriteRequest>& write) {
    ASSERT_TRUE(write.ok()) << write.status().ToString();
    Apply(*write);
  }

  void AddUnit(const std::string& code, const std::string& kind,
               std::map<std::string, Value> more = {}) {
    more.emplace("name", Value(code + "派出所"));
    more.emplace("kind", Value(kind));
    Apply(WriteRequest{"admin", {{false, {Table::kUnit, code, "", std::move(more)}}}});
  }

  Record Get(Table table, const std::string& id) {
    auto record = hub_->Get(table, id);
    EXPECT_TRUE(record.ok() && record->has_value()) << TableName(table) << " " << id;
    return record.ok() && *record ? **record : Record{};
  }
  std::string Field(const std::string& code, const std::string& name) {
    const Record unit = Get(Table::kUnit, code);
    const std::string* text = unit.Text(name);
    return text == nullptr ? "(null)" : *text;
  }
  std::vector<std::string> Group(const std::string& code) {
    auto group = GroupOf(*hub_, code);
    EXPECT_TRUE(group.ok());
    return group.ok() ? *group : std::vector<std::string>{};
  }

  Code MergeCode(const std::string& into, const std::vector<std::string>& members) {
    return PlanMerge(*hub_, into, members, false, "admin").status().code();
  }

  ManualClock clock_{1'700'000'000'000};
  TempDir dir_;
  std::unique_ptr<Replica> hub_;
};

TEST_F(RegroupPlanTest, AMergeIsOneRequestSettingExactlyStatusAndMergedInto) {
  Apply(WriteRequest{"admin", {{false, {Table::kCase, "A1", "P02", kCaseFields}}}});
  auto plan = PlanMerge(*hub_, "P01", {"P02", "P03"}, false, "372301");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->actor, "372301");
  ASSERT_EQ(plan->ops.size(), 2u);
  const std::map<std::string, Value> fields{{"status", Value("merged")},
                                            {"merged_into", Value("P01")}};
  for (size_t i = 0; i < 2; ++i) {
    const WriteOp& op = plan->ops[i];
    EXPECT_FALSE(op.remove);
    EXPECT_FALSE(op.restamp);
    EXPECT_EQ(op.patch, (RecordPatch{Table::kUnit, i == 0 ? "P02" : "P03", "", fields}));
  }
  Apply(plan);
  EXPECT_EQ(Field("P02", "status"), "merged");
  EXPECT_EQ(Field("P02", "merged_into"), "P01");
  EXPECT_EQ(Field("P02", "kind"), "station");
  EXPECT_EQ(Field("P01", "status"), "(null)");  // the target is not written
  EXPECT_EQ(Group("P01"), (std::vector<std::string>{"P01", "P02", "P03"}));
  EXPECT_EQ(Group("P03"), (std::vector<std::string>{"P01", "P02", "P03"}));
  EXPECT_EQ(Get(Table::kCase, "A1").owner, "P02");  // records keep their owners
}

TEST_F(RegroupPlanTest, AsSubofficeAlsoSetsTheKind) {
  auto plan = PlanMerge(*hub_, "P01", {"P02"}, true, "admin");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->ops.size(), 1u);
  EXPECT_EQ(plan->ops[0].patch.fields,
            (std::map<std::string, Value>{{"status", Value("merged")},
                                          {"merged_into", Value("P01")},
                                          {"kind", Value("suboffice")}}));
  Apply(plan);
  EXPECT_EQ(Field("P02", "kind"), "suboffice");
  EXPECT_EQ(Field("P02", "merged_into"), "P01");
}

TEST_F(RegroupPlanTest, MergesChain) {
  Apply(PlanMerge(*hub_, "P01", {"P02"}, true, "admin"));
  // A group's root merges into another unit: the whole group follows.
  Apply(PlanMerge(*hub_, "P05", {"P01"}, false, "admin"));
  EXPECT_EQ(Group("P02"), (std::vector<std::string>{"P01", "P02", "P05"}));
  // Into a unit that is itself merged: the chain ends at the same root.
  Apply(PlanMerge(*hub_, "P02", {"P03"}, false, "admin"));
  EXPECT_EQ(Group("P05"), (std::vector<std::string>{"P01", "P02", "P03", "P05"}));
  EXPECT_EQ(Field("P03", "merged_into"), "P02");
  // A sub-office of the registry merges like a station.
  Apply(PlanMerge(*hub_, "P04", {"S01"}, false, "admin"));
  EXPECT_EQ(Group("P04"), (std::vector<std::string>{"P04", "S01"}));
}

TEST_F(RegroupPlanTest, MalformedMergesAreInvalid) {
  EXPECT_EQ(MergeCode("P01", {}), Code::kInvalid);
  auto self = PlanMerge(*hub_, "P01", {"P02", "P01"}, false, "admin");
  EXPECT_EQ(self.status().code(), Code::kInvalid);
  EXPECT_NE(self.status().message().find("P01 cannot be merged into itself"), std::string::npos)
      << self.status().message();
  auto twice = PlanMerge(*hub_, "P01", {"P02", "P02"}, false, "admin");
  EXPECT_EQ(twice.status().code(), Code::kInvalid);
  EXPECT_NE(twice.status().message().find("P02 is named twice"), std::string::npos);
}

TEST_F(RegroupPlanTest, UnknownUnitsAreNotFound) {
  auto into = PlanMerge(*hub_, "NOPE", {"P02"}, false, "admin");
  EXPECT_EQ(into.status().code(), Code::kNotFound);
  EXPECT_NE(into.status().message().find("unit NOPE is not in the registry"), std::string::npos);
  EXPECT_EQ(MergeCode("P01", {"P02", "NOPE"}), Code::kNotFound);
  Apply(WriteRequest{"admin", {{true, {Table::kUnit, "P04", "", {}}}}});  // deleted: gone
  EXPECT_EQ(MergeCode("P01", {"P04"}), Code::kNotFound);
  EXPECT_EQ(MergeCode("P04", {"P01"}), Code::kNotFound);
}

TEST_F(RegroupPlanTest, OnlyStationsMergeAndOnlyIntoStations) {
  auto traffic = PlanMerge(*hub_, "P01", {"P02", "T01"}, false, "admin");
  EXPECT_EQ(traffic.status().code(), Code::kRefused);
  EXPECT_NE(traffic.status().message().find("unit T01 is not a station (kind traffic"),
            std::string::npos)
      << traffic.status().message();
  auto into_traffic = PlanMerge(*hub_, "T01", {"P02"}, false, "admin");
  EXPECT_EQ(into_traffic.status().code(), Code::kRefused);
  EXPECT_NE(into_traffic.status().message().find("T01 cannot take a merge"), std::string::npos);

  AddUnit("R01", "station", {{"status", Value("retired")}});
  EXPECT_EQ(MergeCode("P01", {"R01"}), Code::kRefused);
  EXPECT_EQ(MergeCode("R01", {"P01"}), Code::kRefused);
}

TEST_F(RegroupPlanTest, AMergeThatWouldLoopOrRepeatIsRefused) {
  Apply(PlanMerge(*hub_, "P01", {"P02"}, false, "admin"));
  Apply(PlanMerge(*hub_, "P02", {"P03"}, false, "admin"));  // P03 -> P02 -> P01
  // The root into a member of its own group: a loop.
  auto loop = PlanMerge(*hub_, "P03", {"P01"}, false, "admin");
  EXPECT_EQ(loop.status().code(), Code::kRefused);
  EXPECT_NE(loop.status().message().find("unit P01 is already in one group with P03"),
            std::string::npos)
      << loop.status().message();
  EXPECT_EQ(MergeCode("P02", {"P01"}), Code::kRefused);
  // Merged together already (directly, and through the chain).
  EXPECT_EQ(MergeCode("P01", {"P02"}), Code::kRefused);
  EXPECT_EQ(MergeCode("P01", {"P03"}), Code::kRefused);
  // A member merged into another group is unmerged first.
  auto elsewhere = PlanMerge(*hub_, "P05", {"P04", "P02"}, false, "admin");
  EXPECT_EQ(elsewhere.status().code(), Code::kRefused);
  EXPECT_NE(elsewhere.status().message().find("unit P02 is already merged into P01"),
            std::string::npos)
      << elsewhere.status().message();
  // Nothing was planned for P04 either: all or none.
  EXPECT_EQ(Field("P04", "status"), "(null)");
}

TEST_F(RegroupPlanTest, UnmergeRestoresAStation) {
  Apply(PlanMerge(*hub_, "P01", {"P02"}, true, "admin"));
  auto plan = PlanUnmerge(*hub_, "P02", "372301");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->actor, "372301");
  ASSERT_EQ(plan->ops.size(), 1u);
  EXPECT_EQ(
      plan->ops[0].patch,
      (RecordPatch{
          Table::kUnit,
          "P02",
          "",
          {{"status", Value("active")}, {"merged_into", Value{}}, {"kind", Value("station")}}}));
  Apply(plan);
  EXPECT_EQ(Field("P02", "status"), "active");
  EXPECT_EQ(Field("P02", "merged_into"), "(null)");
  EXPECT_EQ(Field("P02", "kind"), "station");
  EXPECT_EQ(Group("P01"), (std::vector<std::string>{"P01"}));
  EXPECT_EQ(Group("P02"), (std::vector<std::string>{"P02"}));

  // Merged as a station: the kind is left alone.
  Apply(PlanMerge(*hub_, "P01", {"P03"}, false, "admin"));
  plan = PlanUnmerge(*hub_, "P03", "admin");
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->ops[0].patch.fields,
            (std::map<std::string, Value>{{"status", Value("active")}, {"merged_into", Value{}}}));
}

TEST_F(RegroupPlanTest, UnmergingTheMiddleOfAChainKeepsWhatMergedIntoIt) {
  Apply(PlanMerge(*hub_, "P01", {"P02"}, false, "admin"));
  Apply(PlanMerge(*hub_, "P02", {"P03"}, false, "admin"));
  Apply(PlanUnmerge(*hub_, "P02", "admin"));
  EXPECT_EQ(Group("P03"), (std::vector<std::string>{"P02", "P03"}));
  EXPECT_EQ(Group("P01"), (std::vector<std::string>{"P01"}));
}

// The groups a unit belonged to, replayed from the registry's history, each ended by the stamp
// of the write that changed it: what the hub judges a write made under a lost scope by.
TEST_F(RegroupPlanTest, GroupHistoryReplaysEveryGroupAUnitBelongedTo) {
  auto unchanged = GroupHistory(*hub_, "P02");
  ASSERT_TRUE(unchanged.ok()) << unchanged.status().ToString();
  ASSERT_EQ(unchanged->size(), 1u);
  EXPECT_EQ(unchanged->front().members, (std::vector<std::string>{"P02"}));
  EXPECT_TRUE(unchanged->front().until.IsZero());

  // One request for both members, but each unit's write has its own stamp: for an instant the
  // group held P01 and P02 only.
  Apply(PlanMerge(*hub_, "P01", {"P02", "P03"}, false, "admin"));
  const Stamp merged = Get(Table::kUnit, "P02").updated;
  const Stamp merged_p03 = Get(Table::kUnit, "P03").updated;
  Apply(PlanUnmerge(*hub_, "P02", "admin"));
  const Stamp unmerged = Get(Table::kUnit, "P02").updated;
  Apply(PlanMerge(*hub_, "P04", {"P02"}, false, "admin"));
  const Stamp merged_again = Get(Table::kUnit, "P02").updated;
  Apply(PlanMerge(*hub_, "P05", {"P04"}, false, "admin"));  // a chain: P02's group grows
  const Stamp chained = Get(Table::kUnit, "P04").updated;
  AddUnit("P06", "station");  // no change to P02's group: no new spell

  auto spells = GroupHistory(*hub_, "P02");
  ASSERT_TRUE(spells.ok()) << spells.status().ToString();
  const std::vector<std::pair<std::vector<std::string>, Stamp>> expected = {
      {{"P02"}, merged},       {{"P01", "P02"}, merged_p03}, {{"P01", "P02", "P03"}, unmerged},
      {{"P02"}, merged_again}, {{"P02", "P04"}, chained},    {{"P02", "P04", "P05"}, Stamp{}}};
  std::string got;
  for (const GroupSpell& spell : *spells) {
    got += fmt::format("{{{}}} until {}\n", fmt::join(spell.members, ","), spell.until.hlc);
  }
  ASSERT_EQ(spells->size(), expected.size()) << got;
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ((*spells)[i].members, expected[i].first) << "spell " << i;
    EXPECT_EQ((*spells)[i].until, expected[i].second) << "spell " << i;
  }
  EXPECT_EQ(spells->back().members, Group("P02")) << "the last spell is the group now";
}

TEST_F(RegroupPlanTest, UnmergeRefusals) {
  auto active = PlanUnmerge(*hub_, "P01", "admin");
  EXPECT_EQ(active.status().code(), Code::kRefused);
  EXPECT_NE(active.status().message().find("unit P01 is not merged"), std::string::npos);
  EXPECT_EQ(PlanUnmerge(*hub_, "NOPE", "admin").status().code(), Code::kNotFound);
  Apply(PlanMerge(*hub_, "P01", {"P02"}, false, "admin"));
  Apply(PlanUnmerge(*hub_, "P02", "admin"));
  EXPECT_EQ(PlanUnmerge(*hub_, "P02", "admin").status().code(), Code::kRefused);  // twice
}

TEST_F(RegroupPlanTest, ATransferChangesOnlyTheOwner) {
  Apply(WriteRequest{"admin", {{false, {Table::kCase, "A1", "P01", kCaseFields}}}});
  auto plan = PlanTransfer(*hub_, Table::kCase, "A1", "P02", "372301");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->actor, "372301");
  ASSERT_EQ(plan->ops.size(), 1u);
  EXPECT_FALSE(plan->ops[0].remove);
  EXPECT_EQ(plan->ops[0].patch, (RecordPatch{Table::kCase, "A1", "P02", {}}));
  Apply(plan);
  const Record moved = Get(Table::kCase, "A1");
  EXPECT_EQ(moved.owner, "P02");
  EXPECT_EQ(*moved.Text("title"), "盗窃");
  auto history = hub_->History(Table::kCase, "A1");
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ(history->back().actor, "372301");
  ASSERT_EQ(history->back().changes.size(), 1u);
  EXPECT_EQ(history->back().changes[0],
            (FieldChange{"owner", Value("P01"), Value("P02")}));  // the hand-over

  // To a merged unit, and (a retry) to the current owner: the second changes nothing.
  Apply(PlanMerge(*hub_, "P01", {"P03"}, false, "admin"));
  Apply(PlanTransfer(*hub_, Table::kCase, "A1", "P03", "admin"));
  const Record again = Get(Table::kCase, "A1");
  Apply(PlanTransfer(*hub_, Table::kCase, "A1", "P03", "admin"));
  EXPECT_EQ(Get(Table::kCase, "A1"), again);
  // To a unit that runs no station.
  Apply(PlanTransfer(*hub_, Table::kCase, "A1", "T01", "admin"));
  EXPECT_EQ(Get(Table::kCase, "A1").owner, "T01");
}

TEST_F(RegroupPlanTest, TransferRefusals) {
  Apply(WriteRequest{"admin", {{false, {Table::kCase, "A1", "P01", kCaseFields}}}});
  auto unit = PlanTransfer(*hub_, Table::kUnit, "P02", "P01", "admin");
  EXPECT_EQ(unit.status().code(), Code::kInvalid);
  EXPECT_NE(unit.status().message().find("units are not transferred"), std::string::npos);
  auto missing = PlanTransfer(*hub_, Table::kCase, "NOPE", "P02", "admin");
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_NE(missing.status().message().find("case NOPE does not exist"), std::string::npos);
  auto nowhere = PlanTransfer(*hub_, Table::kCase, "A1", "NOPE", "admin");
  EXPECT_EQ(nowhere.status().code(), Code::kNotFound);
  EXPECT_NE(nowhere.status().message().find("unit NOPE is not in the registry"), std::string::npos);
  AddUnit("R01", "station", {{"status", Value("retired")}});
  auto retired = PlanTransfer(*hub_, Table::kCase, "A1", "R01", "admin");
  EXPECT_EQ(retired.status().code(), Code::kRefused);
  EXPECT_NE(retired.status().message().find("unit R01 is retired"), std::string::npos);

  Apply(WriteRequest{"admin", {{true, {Table::kCase, "A1", "", {}}}}});
  EXPECT_EQ(PlanTransfer(*hub_, Table::kCase, "A1", "P02", "admin").status().code(),
            Code::kNotFound);  // a deleted record is not handed over
}

}  // namespace
}  // namespace stationsync
