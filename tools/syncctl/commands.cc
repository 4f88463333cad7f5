#include "tools/syncctl/commands.h"

#include <iostream>
#include <iterator>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "sync/record_json.h"

namespace stationsync {
namespace {

void PrintLine(const nlohmann::ordered_json& json) {
  std::cout << json.dump() << '\n';
}

Result<std::string> ReadArgumentOrStdin(const std::string& text) {
  if (text != "-") return text;
  std::string all((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  return all;
}

}  // namespace

int Report(const Status& status) {
  std::cerr << "syncctl: " << status.message() << '\n';
  return ExitCode(status.code());
}

std::unique_ptr<ApiClient> MakeClient(const GlobalFlags& flags) {
  if (flags.api.empty()) {
    Report(Invalid("no daemon endpoint: pass --api ENDPOINT or set SYNCD_API"));
    return nullptr;
  }
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(flags.timeout_s * 1000));
  return std::make_unique<ApiClient>(flags.api, timeout, flags.actor);
}

int CmdPing(const GlobalFlags& flags) {
  auto client = MakeClient(flags);
  if (!client) return 2;
  if (Status s = client->Ping(); !s.ok()) return Report(s);
  std::cout << (flags.json ? R"({"ok":true})" : "pong") << '\n';
  return 0;
}

int CmdPut(const GlobalFlags& flags, const std::string& table_name, const std::string& id,
           const std::string& fields_json, const std::string& owner) {
  auto table = ParseTable(table_name);
  if (!table.ok()) return Report(table.status());
  if (flags.actor.empty()) {
    return Report(Invalid("a write needs an actor: pass --actor ID or set SYNCD_ACTOR"));
  }
  auto text = ReadArgumentOrStdin(fields_json);
  if (!text.ok()) return Report(text.status());
  const auto json = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return Report(Invalid("FIELDS_JSON is not valid JSON"));
  auto fields = FieldsFromJson(json);
  if (!fields.ok()) return Report(fields.status());
  auto client = MakeClient(flags);
  if (!client) return 2;
  auto record = client->Put({*table, id, owner, std::move(fields).value()});
  if (!record.ok()) return Report(record.status());
  PrintLine(RecordToJson(*record));
  return 0;
}

int CmdGet(const GlobalFlags& flags, const std::string& table_name, const std::string& id) {
  auto table = ParseTable(table_name);
  if (!table.ok()) return Report(table.status());
  auto client = MakeClient(flags);
  if (!client) return 2;
  auto record = client->Get(*table, id);
  if (!record.ok()) return Report(record.status());
  PrintLine(RecordToJson(*record));
  return 0;
}

int CmdDelete(const GlobalFlags& flags, const std::string& table_name, const std::string& id) {
  auto table = ParseTable(table_name);
  if (!table.ok()) return Report(table.status());
  if (flags.actor.empty()) {
    return Report(Invalid("a write needs an actor: pass --actor ID or set SYNCD_ACTOR"));
  }
  auto client = MakeClient(flags);
  if (!client) return 2;
  auto record = client->Delete(*table, id);
  if (!record.ok()) return Report(record.status());
  PrintLine(RecordToJson(*record));
  return 0;
}

// Pages through a query, printing each live record as a JSON line, at most `limit` (0: all).
static int PrintPages(const GlobalFlags& flags, ListQuery query, size_t limit) {
  auto client = MakeClient(flags);
  if (!client) return 2;
  size_t printed = 0;
  do {
    query.limit = limit == 0 ? 1000 : std::min<size_t>(1000, limit - printed);
    auto page = client->List(query);
    if (!page.ok()) return Report(page.status());
    for (const auto& record : page->records) {
      PrintLine(RecordToJson(record));
      if (++printed == limit) return 0;
    }
    query.after = page->next;
  } while (!query.after.empty());
  return 0;
}

int CmdList(const GlobalFlags& flags, const std::string& table_name, const std::string& owner,
            const std::string& household, size_t limit) {
  auto table = ParseTable(table_name);
  if (!table.ok()) return Report(table.status());
  ListQuery query;
  query.table = *table;
  query.owner = owner;
  query.household = household;
  return PrintPages(flags, std::move(query), limit);
}

int CmdExport(const GlobalFlags& flags, const std::string& table_name) {
  ListQuery query;
  if (!table_name.empty()) {
    auto table = ParseTable(table_name);
    if (!table.ok()) return Report(table.status());
    query.table = *table;
  }
  return PrintPages(flags, std::move(query), 0);
}

int CmdHistory(const GlobalFlags& flags, const std::string& table_name, const std::string& id) {
  auto table = ParseTable(table_name);
  if (!table.ok()) return Report(table.status());
  auto client = MakeClient(flags);
  if (!client) return 2;
  auto history = client->History(*table, id);
  if (!history.ok()) return Report(history.status());
  for (const auto& entry : *history) PrintLine(HistoryToJson(entry));
  return 0;
}

int CmdStatus(const GlobalFlags& flags) {
  auto client = MakeClient(flags);
  if (!client) return 2;
  auto status = client->GetStatus();
  if (!status.ok()) return Report(status.status());
  nlohmann::ordered_json json;
  json["role"] = status->role;
  json["unit"] = status->unit;
  json["node"] = status->node;
  json["records"] = status->records;
  json["pending_up"] = status->pending_up;
  json["hub_connected"] = status->hub_connected;
  json["last_seq"] = status->last_seq;
  if (flags.json) {
    PrintLine(json);
  } else {
    for (const auto& [key, value] : json.items())
      fmt::print("{:<14} {}\n", key + ":", value.dump());
  }
  return 0;
}

}  // namespace stationsync
