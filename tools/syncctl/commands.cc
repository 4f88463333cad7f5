#include "tools/syncctl/commands.h"

#include <iostream>
#include <iterator>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "sync/records/record_json.h"

namespace stationsync {
namespace {

Result<std::string> ReadArgumentOrStdin(const std::string& text) {
  if (text != "-") return text;
  std::string all((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  return all;
}

}  // namespace

void PrintLine(const nlohmann::ordered_json& json) {
  std::cout << json.dump() << '\n';
}

Status NeedActor(const GlobalFlags& flags) {
  if (!flags.actor.empty()) return Status::Ok();
  return Invalid("a write needs an actor: pass --actor ID or set SYNCD_ACTOR");
}

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
  if (Status actor = NeedActor(flags); !actor.ok()) return Report(actor);
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

int CmdGet(const GlobalFlags& flags, const std::string& table_name, const std::string& id,
           bool remote) {
  auto table = ParseTable(table_name);
  if (!table.ok()) return Report(table.status());
  auto client = MakeClient(flags);
  if (!client) return 2;
  std::string redirected_from;
  auto record = remote ? client->GetRemote(*table, id, &redirected_from)
                       : client->Get(*table, id, &redirected_from);
  if (!record.ok()) return Report(record.status());
  nlohmann::ordered_json json = RecordToJson(*record);
  if (!redirected_from.empty()) {
    // The kept record, and a word that it is not the one asked for (person_merge.h).
    json["redirected_from"] = redirected_from;
    std::cerr << fmt::format("syncctl: {} {} was merged into {}; showing {}\n", table_name,
                             redirected_from, record->id, record->id);
  }
  PrintLine(json);
  return 0;
}

int CmdDelete(const GlobalFlags& flags, const std::string& table_name, const std::string& id) {
  auto table = ParseTable(table_name);
  if (!table.ok()) return Report(table.status());
  if (Status actor = NeedActor(flags); !actor.ok()) return Report(actor);
  auto client = MakeClient(flags);
  if (!client) return 2;
  auto record = client->Delete(*table, id);
  if (!record.ok()) return Report(record.status());
  PrintLine(RecordToJson(*record));
  return 0;
}

int ForEachRecord(ApiClient& client, ListQuery query, size_t limit,
                  const std::function<void(const Record&)>& each) {
  size_t done = 0;
  do {
    query.limit = limit == 0 ? 1000 : std::min<size_t>(1000, limit - done);
    auto page = client.List(query);
    if (!page.ok()) return Report(page.status());
    for (const auto& record : page->records) {
      each(record);
      if (++done == limit) return 0;
    }
    query.after = page->next;
  } while (!query.after.empty());
  return 0;
}

// Prints each live record of a query as a JSON line, at most `limit` (0: all).
static int PrintPages(const GlobalFlags& flags, ListQuery query, size_t limit) {
  auto client = MakeClient(flags);
  if (!client) return 2;
  return ForEachRecord(*client, std::move(query), limit,
                       [](const Record& record) { PrintLine(RecordToJson(record)); });
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

}  // namespace stationsync
