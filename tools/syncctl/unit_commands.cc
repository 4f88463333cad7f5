#include "tools/syncctl/unit_commands.h"

#include <fmt/format.h>

#include "sync/protocol/registry.h"
#include "sync/records/record_json.h"
#include "sync/transport/curve_key.h"

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

namespace {

// Writes the unit's public_key (monostate: clears it) and prints the stored unit.
int WriteKey(ApiClient& client, const std::string& code, Value key) {
  auto record = client.Put({Table::kUnit, code, "", {{"public_key", std::move(key)}}});
  if (!record.ok()) return Report(record.status());
  PrintLine(RecordToJson(*record));
  return 0;
}

}  // namespace

int CmdUnitEnroll(const GlobalFlags& flags, const std::string& code, const std::string& key) {
  auto parsed = ParsePublicKey(key);
  if (!parsed.ok()) return Report(parsed.status());
  if (Status actor = NeedActor(flags); !actor.ok()) return Report(actor);
  auto client = MakeClient(flags);
  if (!client) return 2;
  auto unit = client->Get(Table::kUnit, code);
  if (!unit.ok()) return Report(unit.status());
  if (!IsStationUnit(*unit)) {
    return Report(Refused(fmt::format(
        "unit {} runs no station (kind station or suboffice, not retired): no key to enrol",
        code)));
  }
  // A key speaks for one unit only (the hub admits a shared key for neither).
  ListQuery query;
  query.table = Table::kUnit;
  std::string holder;
  const int listed = ForEachRecord(*client, std::move(query), 0, [&](const Record& other) {
    const std::string* other_key = other.Text("public_key");
    if (other.id != code && other_key && *other_key == *parsed) holder = other.id;
  });
  if (listed != 0) return listed;
  if (!holder.empty()) {
    return Report(
        Refused(fmt::format("that key is enrolled for unit {}: revoke it there first", holder)));
  }
  return WriteKey(*client, code, *parsed);
}

int CmdUnitRevoke(const GlobalFlags& flags, const std::string& code) {
  if (Status actor = NeedActor(flags); !actor.ok()) return Report(actor);
  auto client = MakeClient(flags);
  if (!client) return 2;
  auto unit = client->Get(Table::kUnit, code);
  if (!unit.ok()) return Report(unit.status());
  if (unit->Text("public_key") == nullptr) {
    return Report(Refused(fmt::format("unit {} has no enrolled key", code)));
  }
  return WriteKey(*client, code, std::monostate{});
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
