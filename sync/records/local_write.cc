#include "sync/records/local_write.h"

#include <algorithm>

#include <fmt/format.h>

#include "sync/records/merge_policy.h"
#include "sync/records/table_schema.h"
#include "sync/records/validate.h"

namespace stationsync {
namespace {

Value OwnerValue(const std::string& owner) {
  return owner.empty() ? Value{} : Value(owner);
}

Value DeletedValue(bool deleted) {
  return Value(std::string(deleted ? "true" : "false"));
}

// The values the patch writes: its fields, and for its removals the current value of the set
// field without those elements.
Result<std::map<std::string, Value>> WrittenValues(const std::optional<Record>& current,
                                                   const RecordPatch& patch) {
  std::map<std::string, Value> values = patch.fields;
  for (const auto& [name, elements] : patch.removals) {
    const FieldSpec* spec = TableSchema::Of(patch.table).Find(name);
    if (spec == nullptr || spec->merge != MergePolicy::kSet || values.contains(name)) {
      return Internal(fmt::format("a removal from {} names no set field it may write", name));
    }
    const std::vector<std::string>* held = current ? current->List(name) : nullptr;
    std::vector<std::string> kept = held ? *held : std::vector<std::string>{};
    std::erase_if(kept, [&removed = elements](const std::string& text) {
      return std::find(removed.begin(), removed.end(), text) != removed.end();
    });
    values.emplace(name, kept.empty() ? Value{} : Value(std::move(kept)));
  }
  return values;
}

// Normalizes every field the patch writes (canonical ids, checked formats).
Result<std::map<std::string, Value>> NormalizedFields(const std::optional<Record>& current,
                                                      const RecordPatch& patch) {
  auto values = WrittenValues(current, patch);
  if (!values.ok()) return values.status();
  std::map<std::string, Value> out;
  for (auto& [name, value] : *values) {
    auto normalized = NormalizeField(patch.table, name, value);
    if (!normalized.ok()) return normalized.status();
    out.emplace(name, std::move(normalized).value());
  }
  return out;
}

WritePlan StartPlan(const std::optional<Record>& current, Table table, const std::string& id,
                    const Stamp& stamp, std::string_view actor) {
  WritePlan plan;
  if (current) {
    plan.record = *current;
  } else {
    plan.record.table = table;
    plan.record.id = id;
  }
  plan.record.updated = stamp;
  plan.record.actor = std::string(actor);
  plan.change.delta.table = table;
  plan.change.delta.id = id;
  plan.change.delta.owner = plan.record.owner;
  plan.change.delta.updated = stamp;
  plan.change.origin = stamp.node;
  plan.change.delta.actor = std::string(actor);
  plan.history.at = stamp;
  plan.history.actor = std::string(actor);
  return plan;
}

void SetOwner(WritePlan& plan, const std::string& owner, const Stamp& stamp) {
  plan.history.changes.push_back({"owner", OwnerValue(plan.record.owner), Value(owner)});
  plan.record.owner = owner;
  plan.record.owner_stamp = stamp;
  plan.change.delta.owner = owner;
  plan.change.delta.owner_stamp = stamp;
  plan.changed = true;
}

void SetDeleted(WritePlan& plan, bool deleted, const Stamp& stamp) {
  plan.history.changes.push_back(
      {"deleted", DeletedValue(plan.record.deleted), DeletedValue(deleted)});
  plan.record.deleted = deleted;
  plan.record.deleted_stamp = stamp;
  plan.change.delta.deleted = deleted;
  plan.change.delta.deleted_stamp = stamp;
  plan.changed = true;
}

// The record now includes this write, and the delta carries everything its writer had seen:
// a receiver tells a causal successor from a concurrent write by it (merge.h).
void RecordWrite(WritePlan& plan, const Stamp& stamp) {
  plan.record.seen[stamp.node] = stamp.hlc;
  plan.change.delta.seen = plan.record.seen;
}

// A write to a field of a rule across fields writes every field of the rule, unchanged ones
// again and unset ones as null, all with this write's stamp: registers merged one by one then
// take all of them from one write, which was valid, so concurrent writes never combine into an
// invalid record (validate.h, FieldsCheckedTogether). Not in the history: no value changed.
void WriteCheckedTogether(WritePlan& plan, const Stamp& stamp, std::string_view actor) {
  std::vector<std::string> together;
  for (const auto& [name, state] : plan.change.delta.fields) {
    for (const std::string& field : FieldsCheckedTogether(plan.record.table, name)) {
      if (!plan.change.delta.fields.contains(field)) together.push_back(field);
    }
  }
  for (const std::string& field : together) {
    const auto it = plan.record.fields.find(field);
    FieldState state{it == plan.record.fields.end() ? Value{} : it->second.value, stamp,
                     std::string(actor)};
    plan.change.delta.fields[field] = state;
    plan.record.fields[field] = std::move(state);
  }
}

}  // namespace

Result<WritePlan> PlanPut(const std::optional<Record>& current, const RecordPatch& patch,
                          const Stamp& stamp, std::string_view actor,
                          std::string_view default_owner, bool restamp) {
  auto id = NormalizeId(patch.table, patch.id);
  if (!id.ok()) return id.status();
  auto fields = NormalizedFields(current, patch);
  if (!fields.ok()) return fields.status();
  if (current && current->table != patch.table) return Internal("record key names another table");

  WritePlan plan = StartPlan(current, patch.table, *id, stamp, actor);
  const std::string owner =
      !patch.owner.empty() ? patch.owner : (current ? current->owner : std::string(default_owner));
  if (!current || owner != current->owner || (restamp && !patch.owner.empty())) {
    SetOwner(plan, owner, stamp);
  }
  if (current && current->deleted) SetDeleted(plan, false, stamp);
  const TableSchema& schema = TableSchema::Of(patch.table);
  for (auto& [name, value] : *fields) {
    auto it = plan.record.fields.find(name);
    const FieldState* held = it == plan.record.fields.end() ? nullptr : &it->second;
    if (held == nullptr && IsNull(value)) continue;  // clearing nothing
    // The field's merge policy decides its new state (a set keeps the dots of elements it
    // keeps; an append field refuses to lose text; a lifecycle counts reopens).
    const FieldSpec& spec = *schema.Find(name);  // NormalizedFields refused unknown names
    auto written = WrittenField(spec, held, std::move(value), stamp, actor);
    if (!written.ok()) return written.status();
    const Value old = held == nullptr ? Value{} : held->value;
    const bool same = held != nullptr && written->value == old && written->epoch == held->epoch;
    if (same && !restamp) continue;
    plan.history.changes.push_back(
        {name, old, written->value, AddedElements(spec.merge, held, *written)});
    plan.change.delta.fields[name] = *written;
    plan.record.fields[name] = std::move(written).value();
    plan.changed = true;
  }
  if (!plan.changed) {
    plan.record = *current;  // nothing new: keep the stored stamp and actor
    return plan;
  }
  WriteCheckedTogether(plan, stamp, actor);
  SS_RETURN_IF_ERROR(ValidateRecord(plan.record));
  RecordWrite(plan, stamp);
  return plan;
}

Result<WritePlan> PlanDelete(const std::optional<Record>& current, Table table, std::string_view id,
                             const Stamp& stamp, std::string_view actor, bool restamp) {
  auto canonical = NormalizeId(table, id);
  if (!canonical.ok()) return canonical.status();
  if (!current) {
    return NotFound(fmt::format("{} {} does not exist", TableName(table), *canonical));
  }
  WritePlan plan = StartPlan(current, table, *canonical, stamp, actor);
  if (current->deleted && !restamp) {
    plan.record = *current;
    return plan;
  }
  SetDeleted(plan, true, stamp);
  RecordWrite(plan, stamp);
  return plan;
}

Result<Record> RecordFromPatch(const RecordPatch& patch, std::string_view default_owner) {
  auto plan = PlanPut(std::nullopt, patch, Stamp{1, "import-check"}, "import-check", default_owner);
  if (!plan.ok()) return plan.status();
  return std::move(plan->record);
}

}  // namespace stationsync
