#include "tools/syncctl/regroup_commands.h"

#include "sync/records/record_json.h"

namespace stationsync {

int CmdMerge(const GlobalFlags& flags, const std::string& into,
             const std::vector<std::string>& members, const std::string& as) {
  if (!as.empty() && as != "suboffice") {
    return Report(Invalid("--as takes only suboffice (the members' new kind)"));
  }
  if (Status actor = NeedActor(flags); !actor.ok()) return Report(actor);
  auto client = MakeClient(flags);
  if (!client) return 2;
  auto units = client->Merge({into, members, as == "suboffice"});
  if (!units.ok()) return Report(units.status());
  for (const Record& unit : *units) PrintLine(RecordToJson(unit));
  return 0;
}

int CmdUnmerge(const GlobalFlags& flags, const std::string& code) {
  if (Status actor = NeedActor(flags); !actor.ok()) return Report(actor);
  auto client = MakeClient(flags);
  if (!client) return 2;
  auto unit = client->Unmerge(code);
  if (!unit.ok()) return Report(unit.status());
  PrintLine(RecordToJson(*unit));
  return 0;
}

int CmdTransfer(const GlobalFlags& flags, const std::string& table_name, const std::string& id,
                const std::string& to) {
  auto table = ParseTable(table_name);
  if (!table.ok()) return Report(table.status());
  if (Status actor = NeedActor(flags); !actor.ok()) return Report(actor);
  auto client = MakeClient(flags);
  if (!client) return 2;
  auto record = client->Transfer({*table, id, to});
  if (!record.ok()) return Report(record.status());
  PrintLine(RecordToJson(*record));
  return 0;
}

}  // namespace stationsync
