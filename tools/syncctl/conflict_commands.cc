#include "tools/syncctl/conflict_commands.h"

#include <fmt/format.h>

#include "sync/records/record_json.h"

namespace stationsync {
namespace {

using nlohmann::ordered_json;

std::string SideLine(const ConflictSide& side) {
  return fmt::format("{} (by {} at {}, {})", ValueToJson(side.value).dump(), side.actor,
                     side.stamp.node, StampTime(side.stamp));
}

// A conflict's chosen value from --value: JSON true/false stand for the "true"/"false" that the
// deleted flag holds, so `--value false` undeletes.
Result<Value> ParseChosenValue(const std::string& text) {
  const auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return Invalid("--value is not valid JSON (quote a string: '\"x\"')");
  if (json.is_boolean()) return Value(std::string(json.get<bool>() ? "true" : "false"));
  return ValueFromJson("--value", json);
}

}  // namespace

int CmdConflicts(const GlobalFlags& flags) {
  auto client = MakeClient(flags);
  if (!client) return 2;
  auto conflicts = client->Conflicts();
  if (!conflicts.ok()) return Report(conflicts.status());
  for (const Conflict& conflict : *conflicts) {
    if (flags.json) {
      PrintLine(ConflictToJson(conflict));
    } else {
      fmt::print("{}  {} {} {}: kept {}; lost {}\n", conflict.Key(), TableName(conflict.table),
                 conflict.id, conflict.field, SideLine(conflict.kept), SideLine(conflict.lost));
    }
  }
  if (!flags.json && conflicts->empty()) fmt::print("no open conflicts\n");
  return 0;
}

int CmdResolveConflict(const GlobalFlags& flags, const std::string& id, const std::string& take,
                       const std::string& value_json) {
  if (take.empty() == value_json.empty()) {
    return Report(Invalid("conflicts resolve: give exactly one of --take kept|lost and --value"));
  }
  ConflictChoice choice{id, ConflictChoice::Take::kValue, {}};
  if (take == "kept") {
    choice.take = ConflictChoice::Take::kKept;
  } else if (take == "lost") {
    choice.take = ConflictChoice::Take::kLost;
  } else if (!take.empty()) {
    return Report(Invalid("--take must be kept or lost"));
  } else {
    auto value = ParseChosenValue(value_json);
    if (!value.ok()) return Report(value.status());
    choice.value = std::move(value).value();
  }
  if (Status actor = NeedActor(flags); !actor.ok()) return Report(actor);
  auto client = MakeClient(flags);
  if (!client) return 2;
  auto record = client->ResolveConflict(choice);
  if (!record.ok()) return Report(record.status());
  PrintLine(RecordToJson(*record));
  return 0;
}

}  // namespace stationsync
