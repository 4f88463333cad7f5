#include "sync/records/record.h"

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

std::string VersionString(const Record& record) {
  return fmt::format("{:016x}-{}", record.updated.hlc, record.updated.node);
}

}  // namespace stationsync
