#include "tools/syncctl/person_commands.h"

#include "sync/records/record_json.h"

namespace stationsync {
namespace {

int PrintReport(const Result<PersonMergeReport>& report) {
  if (!report.ok()) return Report(report.status());
  size_t fields = 0;
  for (const RecordEdit& edit : report->edits) {
    for (const FieldChange& change : edit.changes) {
      nlohmann::ordered_json line;
      line["table"] = TableName(edit.table);
      line["id"] = edit.id;
      line["field"] = change.name;
      line["old"] = ValueToJson(change.old_value);
      line["new"] = ValueToJson(change.new_value);
      PrintLine(line);
      ++fields;
    }
  }
  nlohmann::ordered_json summary;
  summary["keep"] = report->keep;
  summary["duplicate"] = report->duplicate;
  summary["dry_run"] = report->dry_run;
  summary["records"] = report->edits.size();
  summary["fields"] = fields;
  PrintLine(summary);
  return 0;
}

}  // namespace

int CmdPersonMerge(const GlobalFlags& flags, const std::string& keep, const std::string& duplicate,
                   bool dry_run) {
  if (Status actor = NeedActor(flags); !actor.ok() && !dry_run) return Report(actor);
  auto client = MakeClient(flags);
  if (!client) return 2;
  return PrintReport(client->PersonMerge({keep, duplicate, dry_run}));
}

int CmdPersonUnmerge(const GlobalFlags& flags, const std::string& duplicate, bool dry_run) {
  if (Status actor = NeedActor(flags); !actor.ok() && !dry_run) return Report(actor);
  auto client = MakeClient(flags);
  if (!client) return 2;
  return PrintReport(client->PersonUnmerge({"", duplicate, dry_run}));
}

}  // namespace stationsync
