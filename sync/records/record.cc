#include "sync/records/record.h"

#include <set>

#include <fmt/format.h>

namespace stationsync {

std::string_view TableName(Table table) {
  switch (table) {
    case Table::kUnit:
      return "unit";
    case Table::kPersonnel:
      return "personnel";
    case Table::kCase:
      return "case";
    case Table::kRegistration:
      return "registration";
  }
  return "?";
}

Result<Table> ParseTable(std::string_view name) {
  for (Table t : kAllTables) {
    if (TableName(t) == name) return t;
  }
  return Invalid(
      fmt::format("unknown table '{}' (expected unit, personnel, case or registration)", name));
}

const std::string* Record::Text(std::string_view name) const {
  const auto it = fields.find(std::string(name));
  if (it == fields.end()) return nullptr;
  return std::get_if<std::string>(&it->second.value);
}

const std::vector<std::string>* Record::List(std::string_view name) const {
  const auto it = fields.find(std::string(name));
  if (it == fields.end()) return nullptr;
  return std::get_if<std::vector<std::string>>(&it->second.value);
}

std::string StampString(const Stamp& stamp) {
  return fmt::format("{:016x}-{}", stamp.hlc, stamp.node);
}

std::string VersionString(const Record& record) {
  return StampString(record.updated);
}

std::vector<FieldChange> ChangesBetween(const std::optional<Record>& before, const Record& after) {
  std::vector<FieldChange> changes;
  const auto owner_of = [](const Record& r) { return r.owner.empty() ? Value{} : Value(r.owner); };
  const auto deleted_of = [](const Record& r) {
    return Value(std::string(r.deleted ? "true" : "false"));
  };
  if (!before || before->owner != after.owner) {
    changes.push_back({"owner", before ? owner_of(*before) : Value{}, owner_of(after)});
  }
  if (before && before->deleted != after.deleted) {
    changes.push_back({"deleted", deleted_of(*before), deleted_of(after)});
  }
  std::set<std::string> names;
  for (const auto& [name, state] : after.fields) names.insert(name);
  if (before) {
    for (const auto& [name, state] : before->fields) names.insert(name);
  }
  static const Value kAbsent;
  const auto value_in = [](const Record* r, const std::string& name) -> const Value& {
    if (r == nullptr) return kAbsent;
    const auto it = r->fields.find(name);
    return it == r->fields.end() ? kAbsent : it->second.value;
  };
  for (const auto& name : names) {
    const Value& old_value = value_in(before ? &*before : nullptr, name);
    const Value& new_value = value_in(&after, name);
    if (old_value != new_value) changes.push_back({name, old_value, new_value});
  }
  return changes;
}

}  // namespace stationsync
