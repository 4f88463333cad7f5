// The hub's follow-up writes for merged persons (Replica::ApplyRemote; sync/admin/person_merge.h
// makes the merges). A station that was offline during a person merge still writes to the old
// id number, or lists it in a case; the hub carries such a write over to the kept registration
// in the same batch as the station's change, as a write of its own by the change's actor, so the
// write reaches the record it was meant for and every replica sees the same follow-up.
//
// Invariants: a follow-up is staged only for a change that changed something at the hub (a
// re-delivered change changes nothing, so follow-ups are not repeated); it never touches the
// station's change itself, which stays where it landed (on the tombstone, in history).
#include <algorithm>

#include <fmt/format.h>

#include "sync/records/local_write.h"
#include "sync/storage/replica.h"
#include "sync/storage/replica_internal.h"
#include "sync/storage/replica_keys.h"

namespace stationsync {
namespace {

constexpr char kMergedInto[] = "merged_into";

bool IsMergedTombstone(const Record& record) {
  return record.table == Table::kRegistration && record.deleted &&
         record.Text(kMergedInto) != nullptr;
}

bool Changed(const HistoryEntry& history, std::string_view name) {
  return std::any_of(history.changes.begin(), history.changes.end(),
                     [name](const FieldChange& change) { return change.name == name; });
}

}  // namespace

Status Replica::StageMergedPersonFollowUps(const Record& change, const Record& record,
                                           const HistoryEntry& history, rocksdb::WriteBatch& batch,
                                           Overlay& overlay, Tally& tally, uint64_t& seq,
                                           RemoteOutcome& outcome) {
  // The registration a merged one leads to, as this batch leaves them; nullopt when `id` is not
  // merged, or its chain leads to nothing held, or (unless `deleted_too`) to a deleted record:
  // then nothing is rewritten. A write to a registration needs a live one to land on; a case
  // naming a person names the record kept even while it is deleted (it may be written again).
  auto kept_of = [&](const std::string& id,
                     bool deleted_too = false) -> Result<std::optional<std::string>> {
    std::string at = id;
    for (int hop = 0; hop <= kMergedPersonHopsMax; ++hop) {
      auto held = Current(RecordKey(Table::kRegistration, at), {&overlay});
      if (!held.ok()) return held.status();
      if (!*held || !IsMergedTombstone(**held)) {
        if (hop == 0 || !*held || ((*held)->deleted && !deleted_too)) {
          return std::optional<std::string>();
        }
        return std::optional<std::string>(at);
      }
      at = *(*held)->Text(kMergedInto);
    }
    return std::optional<std::string>();
  };

  std::optional<RecordPatch> follow_up;
  if (IsMergedTombstone(record)) {
    std::map<std::string, Value> fields;
    for (const FieldChange& written : history.changes) {
      if (written.name == "owner" || written.name == "deleted" || written.name == kMergedInto) {
        continue;
      }
      fields[written.name] = written.new_value;
    }
    if (fields.empty()) return Status::Ok();
    auto kept = kept_of(record.id);
    if (!kept.ok()) return kept.status();
    if (!*kept) {
      outcome.rejected.push_back(fmt::format(
          "registration {}: written after it was merged into {}, which is no live registration",
          record.id, *record.Text(kMergedInto)));
      return Status::Ok();
    }
    follow_up = RecordPatch{Table::kRegistration, **kept, "", std::move(fields)};
  } else if (!record.deleted && record.table == Table::kCase && Changed(history, "involved")) {
    const auto it = record.fields.find("involved");
    const auto* involved = std::get_if<std::vector<std::string>>(&it->second.value);
    if (involved == nullptr) return Status::Ok();
    std::vector<std::string> rewritten;
    bool any = false;
    for (const std::string& person : *involved) {
      auto kept = kept_of(person, /*deleted_too=*/true);
      if (!kept.ok()) return kept.status();
      any = any || kept->has_value();
      const std::string& now = kept->value_or(person);
      if (std::find(rewritten.begin(), rewritten.end(), now) == rewritten.end()) {
        rewritten.push_back(now);
      }
    }
    if (!any) return Status::Ok();
    follow_up = RecordPatch{Table::kCase, record.id, "", {{"involved", Value(rewritten)}}};
  } else if (!record.deleted && record.table == Table::kPersonnel &&
             Changed(history, "id_number")) {
    const std::string* id_number = record.Text("id_number");
    if (id_number == nullptr) return Status::Ok();
    auto kept = kept_of(*id_number);
    if (!kept.ok()) return kept.status();
    if (!*kept) return Status::Ok();
    follow_up = RecordPatch{Table::kPersonnel, record.id, "", {{"id_number", Value(**kept)}}};
  }
  if (!follow_up) return Status::Ok();

  const std::string key = RecordKey(follow_up->table, follow_up->id);
  auto current = Current(key, {&overlay});
  if (!current.ok()) return current.status();
  const Stamp stamp{hlc_->Now(), options_.node};
  auto plan = PlanPut(*current, *follow_up, stamp, change.actor, options_.unit);
  if (!plan.ok()) {
    outcome.rejected.push_back(fmt::format(
        "{} {}: a station's write meeting a merged person could not be carried over to {} {}: {}",
        TableName(change.table), change.id, TableName(follow_up->table), follow_up->id,
        plan.status().message()));
    return Status::Ok();
  }
  if (!plan->changed) return Status::Ok();
  SS_RETURN_IF_ERROR(StageLocalPlan(batch, key, *current, *plan, tally, seq));
  overlay[key] = std::move(plan->record);
  return Status::Ok();
}

}  // namespace stationsync
