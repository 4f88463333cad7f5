#include "sync/records/merge.h"

#include <cassert>

#include <fmt/format.h>

#include "sync/records/merge_policy.h"

namespace stationsync {
namespace {

Value BoolValue(bool b) {
  return Value(std::string(b ? "true" : "false"));
}

}  // namespace

std::string Conflict::Key() const {
  // FNV-1a over the identifying parts; printed as hex so it is short to type.
  uint64_t hash = 1469598103934665603ull;
  auto mix = [&hash](std::string_view part) {
    for (char c : part) {
      hash ^= static_cast<unsigned char>(c);
      hash *= 1099511628211ull;
    }
    hash ^= 0xff;
    hash *= 1099511628211ull;
  };
  mix(TableName(table));
  mix(id);
  mix(field);
  // One removal can conflict with additions of several elements of a set: each is its own.
  if (TableSchema::Of(table).PolicyOf(field) == MergePolicy::kSet) {
    if (const auto* element = std::get_if<std::string>(&kept.value)) mix(*element);
  }
  mix(lost.stamp.node);
  mix(std::to_string(lost.stamp.hlc));
  return fmt::format("{:016x}", hash);
}

Stamp RegisterStamp(const Record& record, std::string_view register_name) {
  if (register_name == "owner") return record.owner_stamp;
  if (register_name == "deleted") return record.deleted_stamp;
  const auto it = record.fields.find(std::string(register_name));
  return it == record.fields.end() ? Stamp{} : it->second.stamp;
}

HistoryEntry ArrivalEntry(const Record& record) {
  HistoryEntry entry{record.updated, record.actor, {}};
  entry.changes.reserve(record.fields.size() + 1);
  if (!record.owner_stamp.IsZero()) {
    entry.changes.push_back({"owner", Value{}, Value(record.owner)});
  }
  const TableSchema& schema = TableSchema::Of(record.table);
  for (const auto& [name, state] : record.fields) {
    entry.changes.push_back(
        {name, Value{}, state.value, AddedElements(schema.PolicyOf(name), nullptr, state)});
  }
  return entry;
}

MergeResult Merge(const std::optional<Record>& local, Record&& incoming) {
  if (local) return Merge(local, std::as_const(incoming));
  MergeResult result;
  result.record = std::move(incoming);
  result.changed = true;
  return result;
}

MergeResult Merge(const std::optional<Record>& local, const Record& incoming) {
  if (!local) return Merge(local, Record(incoming));  // new here: the incoming state, copied
  MergeResult result;
  result.history.at = incoming.updated;
  result.history.actor = incoming.actor;
  assert(local->table == incoming.table && local->id == incoming.id);
  Record& out = result.record = *local;

  if (!incoming.owner_stamp.IsZero()) {
    const FieldState mine{Value(local->owner), local->owner_stamp, local->actor};
    const FieldState theirs{Value(incoming.owner), incoming.owner_stamp, incoming.actor};
    const FieldState* held = local->owner_stamp.IsZero() ? nullptr : &mine;
    if (auto won = MergeRegister("owner", held, theirs, *local, incoming, result)) {
      out.owner = std::get<std::string>(won->value);
      out.owner_stamp = won->stamp;
    }
  }
  if (!incoming.deleted_stamp.IsZero()) {
    const FieldState mine{BoolValue(local->deleted), local->deleted_stamp, local->actor};
    const FieldState theirs{BoolValue(incoming.deleted), incoming.deleted_stamp, incoming.actor};
    const FieldState* held = local->deleted_stamp.IsZero() ? nullptr : &mine;  // never deleted
    if (auto won = MergeRegister("deleted", held, theirs, *local, incoming, result)) {
      out.deleted = incoming.deleted;
      out.deleted_stamp = won->stamp;
    }
  }
  for (const auto& [name, theirs] : incoming.fields) {
    const auto it = local->fields.find(name);
    const FieldState* mine = it == local->fields.end() ? nullptr : &it->second;
    const MergePolicy policy = TableSchema::Of(local->table).PolicyOf(name);
    if (auto won = MergeField(policy, name, mine, theirs, *local, incoming, result)) {
      out.fields[name] = std::move(*won);
    }
  }
  for (const auto& [node, hlc] : incoming.seen) {
    uint64_t& known = out.seen[node];
    known = std::max(known, hlc);
  }
  if (incoming.updated > out.updated) {
    out.updated = incoming.updated;
    out.actor = incoming.actor;
  }
  result.changed = out != *local;
  return result;
}

}  // namespace stationsync
