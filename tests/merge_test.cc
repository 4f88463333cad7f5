// Properties of the merge rule (sync/records/merge.h), checked over seeded random histories: nodes
// with skewed clocks write one record through the real local write path while receiving each
// other's writes in random causal orders, with duplicates.
//  - Convergence: replicas that received the same writes hold equal records, whatever the order.
//  - Idempotence: a write delivered again changes nothing.
//  - Whole states merge commutatively.
//  - No silent loss: every write's value is in the record or is the lost side of a conflict.
//  - A write that saw the value it replaced never conflicts with it.
//  - Rules across fields (a personnel id_number and its sex digit, validate.h): writes that set
//    one field or the other, each valid, never merge into an invalid record, at any node, at
//    any point of any order.
//  - Merge policies (merge_policy.h), on a case record whose `involved` is a set, `notes` append
//    only and `status` a lifecycle: the set holds exactly the elements added and not removed by
//    a write that had seen them (none lost, add wins); the notes hold every piece appended, in
//    stamp order; the status is the highest-ranked write, and never moves back at any node except
//    by a reopen (a higher epoch).
// STATIONSYNC_MERGE_SEEDS raises the number of seeds (default 300).
#include "sync/records/merge.h"

#include <algorithm>
#include <cstdlib>
#include <iterator>
#include <limits>
#include <random>
#include <set>
#include <tuple>

#include <gtest/gtest.h>

#include "sync/records/calendar.h"
#include "sync/records/hlc.h"
#include "sync/records/id_number.h"
#include "sync/records/local_write.h"
#include "sync/records/merge_policy.h"
#include "sync/records/record_json.h"
#include "sync/records/validate.h"

namespace stationsync {
namespace {

constexpr int64_t kStartMs = 1'700'000'000'000;
// These properties are about merging, with clocks skewed by up to 10 minutes; the bound on
// peers' clocks (clock_bound.h) is tested where it is enforced.
constexpr int64_t kNoClockBound = std::numeric_limits<int64_t>::max() / 4;
const std::vector<std::string> kNodes = {"P01", "P02", "P03", "HUB"};
const std::vector<std::string> kFields = {"name", "parent", "merged_into"};

// What the nodes write: a unit's free-text fields, or a personnel record's id number and sex
// (checked together), which writers set together, one at a time, or clear.
// Or a case's policy fields: `involved` gains and loses persons, `notes` grows, `status` moves
// forward or back.
enum class Workload { kUnitFields, kPersonnelId, kCasePolicies };

struct Write {
  Change change;      // the delta, as the writer's log holds it
  uint64_t prev_own;  // the writer's previous write to this record (0: none)
};

struct Node {
  std::string name;
  ManualClock clock{kStartMs};
  Hlc hlc{&clock, 0, kNoClockBound};
  std::optional<Record> state;
  std::set<size_t> applied;  // indexes into History::writes
  std::vector<Conflict> conflicts;
  uint64_t last_own = 0;
};

struct History {
  std::vector<Write> writes;
};

// Whether `node` may apply write `w` now: it holds everything the writer had seen, and the
// writer's earlier writes (causal delivery, as the hub's log provides).
bool Deliverable(const Node& node, const Write& w) {
  const VersionVector empty;
  const VersionVector& have = node.state ? node.state->seen : empty;
  for (const auto& [origin, hlc] : w.change.delta.seen) {
    if (origin == w.change.delta.updated.node) continue;
    if (!Includes(have, {hlc, origin})) return false;
  }
  return w.prev_own == 0 || Includes(have, {w.prev_own, w.change.delta.updated.node});
}

// The lifecycle rank of a case's status (merge_policy.h): (epoch, stage, stamp).
std::tuple<uint32_t, int, Stamp> StatusRank(const FieldState& status) {
  static const std::vector<std::string> kStages = {"received", "filed", "investigating",
                                                   "transferred", "closed"};
  const auto it = std::find(kStages.begin(), kStages.end(), std::get<std::string>(status.value));
  return {status.epoch, static_cast<int>(it - kStages.begin()), status.stamp};
}

// (epoch, stage) of a state's status: what must never go down at a node.
std::pair<uint32_t, int> StageOf(const std::optional<Record>& state) {
  if (!state || !state->fields.contains("status")) return {0, -1};
  const auto [epoch, stage, stamp] = StatusRank(state->fields.at("status"));
  return {epoch, stage};
}

void Apply(Node& node, const History& history, size_t index) {
  MergeResult merged = Merge(node.state, history.writes[index].change.delta);
  if (merged.record.table == Table::kCase) {
    EXPECT_GE(StageOf(merged.record), StageOf(node.state))
        << node.name << ": status moved back by merging write " << index << " without a reopen";
  }
  node.state = std::move(merged.record);
  if (node.state->table != Table::kUnit) {
    const Status valid = ValidateRecord(*node.state);
    EXPECT_TRUE(valid.ok()) << node.name << " merged write " << index
                            << " into an invalid record: " << valid.message();
  }
  node.hlc.Observe(node.state->updated.hlc);
  for (auto& conflict : merged.conflicts) node.conflicts.push_back(std::move(conflict));
  node.applied.insert(index);
}

// A personnel write: create, or set the id number with its sex, the id number alone, the sex
// alone, or clear the id number. Writes the record's rule refuses (an id number whose sex digit
// disagrees with the sex held) are refused here as at any node, and not made.
RecordPatch PersonnelPatch(const Node& node, std::mt19937_64& rng) {
  static const std::vector<std::pair<std::string, bool>> kIds = {
      {MakeIdNumber("370724", Date{1980, 1, 5}, 1, true), true},
      {MakeIdNumber("370724", Date{1981, 2, 6}, 2, false), false},
      {MakeIdNumber("370725", Date{1982, 3, 7}, 3, true), true},
      {MakeIdNumber("370725", Date{1983, 4, 8}, 4, false), false}};
  auto sex = [](bool male) { return Value(std::string(male ? "male" : "female")); };
  RecordPatch patch{Table::kPersonnel, "P1", "", {}};
  if (!node.state) {
    patch.fields = {{"name", Value(node.name + "-created")},
                    {"role", Value(std::string("officer"))},
                    {"sex", sex(rng() % 2 == 0)}};
    return patch;
  }
  const auto& [id, male] = kIds[rng() % kIds.size()];
  switch (rng() % 5) {
    case 0:
      patch.fields = {{"id_number", Value(id)}, {"sex", sex(male)}};
      break;
    case 1:
      patch.fields = {{"id_number", Value(id)}};
      break;
    case 2:
      patch.fields = {{"sex", sex(rng() % 2 == 0)}};
      break;
    case 3:
      patch.fields = {{"id_number", Value{}}};
      break;
    default:
      patch.fields = {{"name", Value(node.name + "-renamed")}};
  }
  return patch;
}

// A case write: create, then one or two of: add a person to `involved`, remove one, append to
// `notes`, set `status` to any stage (going back is a reopen), retitle.
RecordPatch CasePatch(const Node& node, const History& history, std::mt19937_64& rng) {
  static const std::vector<std::string> kPersons = {
      MakeIdNumber("370724", Date{1980, 1, 5}, 1, true),
      MakeIdNumber("370724", Date{1981, 2, 6}, 2, false),
      MakeIdNumber("370725", Date{1982, 3, 7}, 3, true),
      MakeIdNumber("370725", Date{1983, 4, 8}, 4, false),
      MakeIdNumber("370726", Date{1984, 5, 9}, 5, true)};
  static const std::vector<std::string> kStages = {"received", "filed", "investigating",
                                                   "transferred", "closed"};
  RecordPatch patch{Table::kCase, "C1", "", {}};
  if (!node.state) {
    patch.fields = {{"kind", Value(std::string("criminal"))},
                    {"title", Value(node.name + "-created")},
                    {"status", Value(std::string("received"))},
                    {"reported_at", Value(std::string("2024-03-01T08:30:00Z"))}};
    return patch;
  }
  const std::vector<std::string>* held = node.state->List("involved");
  std::vector<std::string> involved = held ? *held : std::vector<std::string>{};
  const std::string* notes = node.state->Text("notes");
  const int count = 1 + static_cast<int>(rng() % 2);
  for (int i = 0; i < count; ++i) {
    switch (rng() % 5) {
      case 0:
        involved.push_back(kPersons[rng() % kPersons.size()]);
        patch.fields["involved"] = Value(involved);
        break;
      case 1:
        if (!involved.empty()) involved.erase(involved.begin() + rng() % involved.size());
        patch.fields["involved"] = involved.empty() ? Value{} : Value(involved);
        break;
      case 2:
        patch.fields["notes"] = Value((notes ? *notes : "") + node.name + "-" +
                                      std::to_string(history.writes.size()) + ";");
        break;
      case 3:
        patch.fields["status"] = Value(kStages[rng() % kStages.size()]);
        break;
      default:
        patch.fields["title"] = Value(node.name + "-" + std::to_string(history.writes.size()));
    }
  }
  return patch;
}

// A unit write: create, or set one or two of its free-text fields, sometimes with a new owner.
RecordPatch UnitPatch(const Node& node, const History& history, std::mt19937_64& rng) {
  RecordPatch patch{Table::kUnit, "U1", "", {}};
  if (!node.state) {
    patch.fields["kind"] = Value(std::string("station"));
    patch.fields["name"] = Value(node.name + "-created");
  }
  const int count = 1 + static_cast<int>(rng() % 2);
  for (int i = 0; i < count; ++i) {
    patch.fields[kFields[rng() % kFields.size()]] =
        Value(node.name + "-" + std::to_string(history.writes.size()) + "-" + std::to_string(i));
  }
  if (rng() % 10 == 0) patch.owner = kNodes[rng() % 3];
  return patch;
}

void LocalWrite(Node& node, History& history, std::mt19937_64& rng,
                Workload workload = Workload::kUnitFields) {
  const bool personnel = workload == Workload::kPersonnelId;
  const RecordPatch patch = personnel                             ? PersonnelPatch(node, rng)
                            : workload == Workload::kCasePolicies ? CasePatch(node, history, rng)
                                                                  : UnitPatch(node, history, rng);
  const Stamp stamp{node.hlc.Now(), node.name};
  auto plan = PlanPut(node.state, patch, stamp, "actor-" + node.name, "P01");
  if (personnel && !plan.ok()) return;  // refused by the rule, as at any node
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  if (!plan->changed) return;
  node.state = plan->record;
  history.writes.push_back({plan->change, node.last_own});
  node.last_own = stamp.hlc;
  node.applied.insert(history.writes.size() - 1);
}

// Delivers one random deliverable write this node lacks (or re-delivers one it has).
void DeliverOne(Node& node, const History& history, std::mt19937_64& rng) {
  std::vector<size_t> candidates;
  for (size_t i = 0; i < history.writes.size(); ++i) {
    if (!node.applied.count(i) && Deliverable(node, history.writes[i])) candidates.push_back(i);
  }
  if (!node.applied.empty() && rng() % 5 == 0) {  // a duplicate: must change nothing
    auto it = node.applied.begin();
    std::advance(it, static_cast<long>(rng() % node.applied.size()));
    const auto before = node.state;
    MergeResult again = Merge(node.state, history.writes[*it].change.delta);
    EXPECT_FALSE(again.changed) << "redelivering write " << *it << " changed the record";
    EXPECT_EQ(again.record, *before);
  }
  if (candidates.empty()) return;
  Apply(node, history, candidates[rng() % candidates.size()]);
}

void DeliverAll(Node& node, const History& history, std::mt19937_64& rng) {
  while (node.applied.size() < history.writes.size()) {
    const size_t before = node.applied.size();
    DeliverOne(node, history, rng);
    ASSERT_GT(node.applied.size(), before) << "no deliverable write: the history is not causal";
  }
}

// What each policy promises of the record every node converged on, computed from the writes
// alone (the specification, not the implementation): see the top of this file.
void CheckPolicies(const Node& node, const History& history) {
  const Record& record = *node.state;
  auto elements_of = [&record](const std::string& field) {
    const auto it = record.fields.find(field);
    return it == record.fields.end() ? std::vector<Element>{} : it->second.elements;
  };
  std::set<std::pair<Stamp, std::string>> added, removed, appended;
  const FieldState* highest_status = nullptr;
  for (const Write& w : history.writes) {
    const auto& fields = w.change.delta.fields;
    if (const auto it = fields.find("involved"); it != fields.end()) {
      for (const Element& e : it->second.elements) added.insert({e.stamp, e.text});
    }
    if (const auto it = fields.find("notes"); it != fields.end()) {
      for (const Element& e : it->second.elements) appended.insert({e.stamp, e.text});
    }
    if (const auto it = fields.find("status"); it != fields.end()) {
      if (highest_status == nullptr || StatusRank(it->second) > StatusRank(*highest_status)) {
        highest_status = &it->second;
      }
    }
  }
  // A dot is removed by a write of the set that had seen it and does not hold it.
  for (const Write& w : history.writes) {
    const auto it = w.change.delta.fields.find("involved");
    if (it == w.change.delta.fields.end()) continue;
    for (const auto& dot : added) {
      const bool holds = std::any_of(
          it->second.elements.begin(), it->second.elements.end(),
          [&dot](const Element& e) { return e.stamp == dot.first && e.text == dot.second; });
      if (!holds && Includes(w.change.delta.seen, dot.first)) removed.insert(dot);
    }
  }
  std::set<std::pair<Stamp, std::string>> expected_set;
  std::vector<std::pair<Stamp, std::string>> held_set, held_notes;  // duplicates would show
  std::set_difference(added.begin(), added.end(), removed.begin(), removed.end(),
                      std::inserter(expected_set, expected_set.end()));
  for (const Element& e : elements_of("involved")) held_set.push_back({e.stamp, e.text});
  for (const Element& e : elements_of("notes")) held_notes.push_back({e.stamp, e.text});
  EXPECT_EQ(held_set, std::vector(expected_set.begin(), expected_set.end()))
      << node.name << ": involved is not the added minus the removed";
  EXPECT_EQ(held_notes, std::vector(appended.begin(), appended.end()))
      << node.name << ": the notes are not every piece appended, once, in stamp order";

  // Add wins, listed for a person: an element that stays although a write that had not seen its
  // addition removed it (and the adder had not seen the removal) is a conflict at every node;
  // and every set conflict is such a pair, the kept side an addition of that element.
  auto write_at = [&history](const Stamp& stamp) -> const Write& {
    for (const Write& w : history.writes) {
      if (w.change.delta.updated == stamp) return w;
    }
    ADD_FAILURE() << "no write with stamp " << StampString(stamp);
    return history.writes.front();
  };
  auto concurrent = [&write_at](const Stamp& a, const Stamp& b) {
    return !Includes(write_at(a).change.delta.seen, b) &&
           !Includes(write_at(b).change.delta.seen, a);
  };
  std::vector<std::pair<std::string, Stamp>> removals;  // text, removing write
  for (const Write& w : history.writes) {
    const auto it = w.change.delta.fields.find("involved");
    if (it == w.change.delta.fields.end()) continue;
    for (const Element& r : it->second.removed) {
      if (r.stamp == w.change.delta.updated) removals.push_back({r.text, r.stamp});
    }
  }
  for (const auto& [stamp, text] : held_set) {
    const bool removed_concurrently =
        std::any_of(removals.begin(), removals.end(),
                    [&](const auto& r) { return r.first == text && concurrent(r.second, stamp); });
    // One conflict per removal and element, naming one of the dots it had not seen.
    const bool listed = std::any_of(
        node.conflicts.begin(), node.conflicts.end(),
        [&](const Conflict& c) { return c.field == "involved" && c.kept.value == Value(text); });
    EXPECT_TRUE(listed || !removed_concurrently)
        << node.name << ": " << text << " added at " << StampString(stamp)
        << " stays against a concurrent removal without a conflict";
  }
  for (const Conflict& c : node.conflicts) {
    if (c.field != "involved") continue;
    EXPECT_TRUE(IsNull(c.lost.value));
    EXPECT_TRUE(std::any_of(added.begin(), added.end(),
                            [&c](const auto& dot) {
                              return dot.first == c.kept.stamp && c.kept.value == Value(dot.second);
                            }))
        << node.name << ": a set conflict keeps no element that was added";
    EXPECT_TRUE(concurrent(c.kept.stamp, c.lost.stamp))
        << node.name << ": a set conflict pairs writes that are not concurrent";
  }
  ASSERT_NE(highest_status, nullptr);
  EXPECT_EQ(record.fields.at("status"), *highest_status)
      << node.name << ": status is not the highest-ranked write";
}

int Seeds() {
  const char* seeds = std::getenv("STATIONSYNC_MERGE_SEEDS");
  return seeds == nullptr ? 300 : std::atoi(seeds);
}

void RunSeed(uint64_t seed, Workload workload = Workload::kUnitFields) {
  SCOPED_TRACE("seed " + std::to_string(seed) +
               " (replay: --gtest_filter=Merge.* with "
               "STATIONSYNC_MERGE_SEEDS)");
  std::mt19937_64 rng(seed);
  std::vector<Node> nodes(kNodes.size());
  for (size_t i = 0; i < nodes.size(); ++i) {
    nodes[i].name = kNodes[i];
    // Clock skew of up to +-10 minutes.
    nodes[i].clock.Set(kStartMs + static_cast<int64_t>(rng() % 1'200'000) - 600'000);
  }
  History history;
  const int steps = 20 + static_cast<int>(rng() % 40);
  for (int step = 0; step < steps; ++step) {
    Node& node = nodes[rng() % nodes.size()];
    node.clock.Advance(static_cast<int64_t>(rng() % 1000));
    if (rng() % 2 == 0) {
      LocalWrite(node, history, rng, workload);
    } else {
      DeliverOne(node, history, rng);
    }
  }
  for (Node& node : nodes) DeliverAll(node, history, rng);

  for (const Node& node : nodes) {
    ASSERT_TRUE(node.state.has_value());
    EXPECT_EQ(*node.state, *nodes[0].state) << node.name << " diverged from " << nodes[0].name;
  }
  // Whole states merge commutatively (snapshots): a fresh node's view from two partial states.
  // No silent loss, and causal successors never conflict.
  for (const Node& node : nodes) {
    std::set<std::string> lost;
    for (const auto& conflict : node.conflicts) {
      lost.insert(conflict.field + "@" + conflict.lost.stamp.node +
                  std::to_string(conflict.lost.stamp.hlc));
    }
    if (workload == Workload::kCasePolicies) CheckPolicies(node, history);
    for (const Write& w : history.writes) {
      for (const auto& [field, state] : w.change.delta.fields) {
        // The policies' promises are checked above; this is the registers' one.
        if (TableSchema::Of(w.change.delta.table).PolicyOf(field) != MergePolicy::kRegister) {
          continue;
        }
        const auto& held = node.state->fields.at(field);
        const bool present = held.stamp == state.stamp;
        const bool logged =
            lost.count(field + "@" + state.stamp.node + std::to_string(state.stamp.hlc)) == 1;
        // Overwritten by a write that had seen it: fine. Otherwise it must be present or lost
        // in a logged conflict.
        bool superseded_causally = false;
        for (const Write& later : history.writes) {
          const auto it = later.change.delta.fields.find(field);
          if (it != later.change.delta.fields.end() && it->second.stamp != state.stamp &&
              Includes(later.change.delta.seen, state.stamp)) {
            superseded_causally = true;
          }
        }
        EXPECT_TRUE(present || logged || superseded_causally)
            << node.name << ": write " << state.stamp.node << "/" << state.stamp.hlc << " to "
            << field << " vanished without a conflict";
      }
    }
    for (const auto& conflict : node.conflicts) {
      // The kept write had not seen the lost one (else it would not be a conflict).
      for (const Write& w : history.writes) {
        if (w.change.delta.updated == conflict.kept.stamp) {
          EXPECT_FALSE(Includes(w.change.delta.seen, conflict.lost.stamp))
              << "a causal successor was logged as a conflict";
        }
      }
    }
  }
}

TEST(Merge, RandomCausalHistoriesConvergeWithoutSilentLoss) {
  for (int seed = 1; seed <= Seeds(); ++seed) {
    RunSeed(static_cast<uint64_t>(seed));
    if (HasFailure()) return;  // the first failing seed is the one to replay
  }
}

TEST(Merge, WritesAcrossARuleNeverMergeIntoAnInvalidRecord) {
  for (int seed = 1; seed <= Seeds(); ++seed) {
    RunSeed(static_cast<uint64_t>(seed), Workload::kPersonnelId);
    if (HasFailure()) return;
  }
}

TEST(Merge, EveryPolicyConvergesAndKeepsWhatItPromises) {
  for (int seed = 1; seed <= Seeds(); ++seed) {
    RunSeed(static_cast<uint64_t>(seed), Workload::kCasePolicies);
    if (HasFailure()) return;
  }
}

TEST(Merge, WholeStatesMergeCommutativelyAndIdempotently) {
  std::mt19937_64 rng(99);
  for (int round = 0; round < 400; ++round) {
    const Workload workload = round % 2 == 0 ? Workload::kUnitFields : Workload::kCasePolicies;
    std::vector<Node> nodes(2);
    nodes[0].name = "P01";
    nodes[1].name = "P02";
    History history;
    for (int step = 0; step < 12; ++step) {
      Node& node = nodes[rng() % 2];
      node.clock.Advance(static_cast<int64_t>(rng() % 100));
      LocalWrite(node, history, rng, workload);
      if (rng() % 3 == 0) DeliverOne(nodes[rng() % 2], history, rng);
    }
    if (!nodes[0].state || !nodes[1].state) continue;
    const MergeResult ab = Merge(nodes[0].state, *nodes[1].state);
    const MergeResult ba = Merge(nodes[1].state, *nodes[0].state);
    ASSERT_EQ(ab.record, ba.record) << "round " << round << "\n"
                                    << RecordToJson(ab.record).dump() << "\n"
                                    << RecordToJson(ba.record).dump();
    EXPECT_FALSE(Merge(ab.record, *nodes[1].state).changed);
    EXPECT_FALSE(Merge(ab.record, ab.record).changed);
  }
}

TEST(Merge, ConcurrentWritesToOneFieldKeepTheHigherStampAndLogTheOther) {
  Node a, b;
  a.name = "P01";
  b.name = "HUB";
  History history;
  std::mt19937_64 rng(1);
  LocalWrite(a, history, rng);
  Apply(b, history, 0);
  // Both now write `name`, each without seeing the other's write.
  auto write_name = [&](Node& node, const std::string& value) {
    node.clock.Advance(1000);
    const Stamp stamp{node.hlc.Now(), node.name};
    auto plan = PlanPut(node.state, {Table::kUnit, "U1", "", {{"name", Value(value)}}}, stamp,
                        "actor-" + node.name, "P01");
    ASSERT_TRUE(plan.ok());
    node.state = plan->record;
    history.writes.push_back({plan->change, 0});
  };
  write_name(a, "城里派出所");
  b.clock.Advance(5000);  // the hub's write is later
  write_name(b, "城关派出所");
  const MergeResult at_a = Merge(a.state, history.writes[2].change.delta);
  const MergeResult at_b = Merge(b.state, history.writes[1].change.delta);
  EXPECT_EQ(at_a.record, at_b.record);
  EXPECT_EQ(std::get<std::string>(at_a.record.fields.at("name").value), "城关派出所");
  ASSERT_EQ(at_a.conflicts.size(), 1u);
  ASSERT_EQ(at_b.conflicts.size(), 1u);
  EXPECT_EQ(at_a.conflicts[0], at_b.conflicts[0]);
  EXPECT_EQ(at_a.conflicts[0].Key(), at_b.conflicts[0].Key());
  EXPECT_EQ(at_a.conflicts[0].lost.value, Value(std::string("城里派出所")));
  EXPECT_EQ(at_a.conflicts[0].lost.actor, "actor-P01");
  EXPECT_EQ(at_a.conflicts[0].kept.actor, "actor-HUB");

  // A write made after seeing the hub's value replaces it without a conflict.
  a.state = at_a.record;
  a.hlc.Observe(a.state->updated.hlc);
  write_name(a, "城里派出所");
  const MergeResult later = Merge(at_b.record, history.writes.back().change.delta);
  EXPECT_TRUE(later.conflicts.empty());
  EXPECT_EQ(std::get<std::string>(later.record.fields.at("name").value), "城里派出所");
}

}  // namespace
}  // namespace stationsync
