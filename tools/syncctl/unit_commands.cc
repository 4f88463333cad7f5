#include "tools/syncctl/unit_commands.h"

#include <fmt/format.h>

#include "sync/record_json.h"

namespace stationsync {
namespace {

std::string FieldOrDash(const Record& record, std::string_view name) {
  const std::string* text = record.Text(name);
  return text == nullptr ? "-" : *text;
}

}  // namespace

int CmdUnitPut(const GlobalFlags& flags, const std::string& code, const std::string& fields_json) {
  return CmdPut(flags, "unit", code, fields_json, /*owner=*/"");
}

int CmdUnitList(const GlobalFlags& flags) {
  auto client = MakeClient(flags);
  if (!client) return 2;
  ListQuery query;
  query.table = Table::kUnit;
  if (flags.json) {
    return ForEachRecord(*client, std::move(query), 0,
                         [](const Record& record) { PrintLine(RecordToJson(record)); });
  }
  constexpr auto kRow = "{:<16} {:<24} {:<11} {:<8} {}\n";
  fmt::print(kRow, "code", "name", "kind", "status", "parent");
  return ForEachRecord(*client, std::move(query), 0, [&](const Record& record) {
    fmt::print(kRow, record.id, FieldOrDash(record, "name"), FieldOrDash(record, "kind"),
               FieldOrDash(record, "status"), FieldOrDash(record, "parent"));
  });
}

}  // namespace stationsync
