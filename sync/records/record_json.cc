#include "sync/records/record_json.h"

#include <fmt/format.h>

#include "sync/records/calendar.h"
#include "sync/records/validate.h"

namespace stationsync {

using nlohmann::json;
using nlohmann::ordered_json;

ordered_json ValueToJson(const Value& value) {
  if (const auto* text = std::get_if<std::string>(&value)) return *text;
  if (const auto* list = std::get_if<std::vector<std::string>>(&value)) return *list;
  return nullptr;
}

Result<Value> ValueFromJson(std::string_view field, const json& value) {
  if (value.is_null()) return Value{};
  if (value.is_string()) return Value(value.get<std::string>());
  if (value.is_array()) {
    std::vector<std::string> list;
    for (const auto& item : value) {
      if (!item.is_string()) {
        return Invalid(fmt::format("field {}: array items must be strings", field));
      }
      list.push_back(item.get<std::string>());
    }
    return Value(std::move(list));
  }
  return Invalid(fmt::format("field {}: must be a string, an array of strings or null", field));
}

std::string StampTime(const Stamp& stamp) {
  return FormatUtcMs(static_cast<int64_t>(stamp.hlc >> 16));
}

namespace {

ordered_json SideToJson(const ConflictSide& side) {
  ordered_json out;
  out["value"] = ValueToJson(side.value);
  out["node"] = side.stamp.node;
  out["actor"] = side.actor;
  out["stamp"] = StampString(side.stamp);
  out["at"] = StampTime(side.stamp);
  return out;
}

}  // namespace

ordered_json ConflictToJson(const Conflict& conflict) {
  ordered_json out;
  out["id"] = conflict.Key();
  out["table"] = TableName(conflict.table);
  out["record"] = conflict.id;
  out["field"] = conflict.field;
  // A field of a rule across fields: its conflict comes with the rule's other fields' (the same
  // concurrent writes set all of them), and a person resolves them as one combination.
  std::vector<std::string> together;
  for (const std::string& field : FieldsCheckedTogether(conflict.table, conflict.field)) {
    if (field != conflict.field) together.push_back(field);
  }
  if (!together.empty()) out["checked_with"] = together;
  out["kept"] = SideToJson(conflict.kept);
  out["lost"] = SideToJson(conflict.lost);
  return out;
}

ordered_json RecordToJson(const Record& record) {
  ordered_json fields = ordered_json::object();
  for (const auto& [name, state] : record.fields) {
    if (!IsNull(state.value)) fields[name] = ValueToJson(state.value);
  }
  ordered_json out;
  out["table"] = TableName(record.table);
  out["id"] = record.id;
  out["owner"] = record.owner;
  out["fields"] = std::move(fields);
  out["deleted"] = record.deleted;
  out["version"] = VersionString(record);
  out["updated_at"] = StampTime(record.updated);
  out["updated_by"] = record.updated.node;
  out["actor"] = record.actor;
  return out;
}

Result<std::map<std::string, Value>> FieldsFromJson(const json& object) {
  if (!object.is_object()) return Invalid("fields must be a JSON object");
  std::map<std::string, Value> fields;
  for (const auto& [name, value] : object.items()) {
    auto parsed = ValueFromJson(name, value);
    if (!parsed.ok()) return parsed.status();
    fields.emplace(name, std::move(parsed).value());
  }
  return fields;
}

Result<RecordPatch> PatchFromJson(const json& line) {
  if (!line.is_object()) return Invalid("a record line must be a JSON object");
  for (const char* member : {"table", "id"}) {
    if (!line.contains(member) || !line[member].is_string()) {
      return Invalid(fmt::format("member '{}' must be a string", member));
    }
  }
  auto table = ParseTable(line["table"].get<std::string>());
  if (!table.ok()) return table.status();
  RecordPatch patch;
  patch.table = *table;
  patch.id = line["id"].get<std::string>();
  if (line.contains("owner")) {
    if (!line["owner"].is_string()) return Invalid("member 'owner' must be a string");
    patch.owner = line["owner"].get<std::string>();
  }
  if (!line.contains("fields")) return Invalid("member 'fields' is missing");
  auto fields = FieldsFromJson(line["fields"]);
  if (!fields.ok()) return fields.status();
  patch.fields = std::move(fields).value();
  return patch;
}

ordered_json HistoryToJson(const HistoryEntry& entry) {
  ordered_json changes = ordered_json::object();
  for (const auto& change : entry.changes) {
    changes[change.name] = {{"old", ValueToJson(change.old_value)},
                            {"new", ValueToJson(change.new_value)}};
    if (change.added.empty()) continue;
    // A set or append field: each element it added, by whom (a merge of another node's whole
    // state adds elements several writers made).
    ordered_json added = ordered_json::array();
    for (const Element& element : change.added) {
      added.push_back({{"value", element.text},
                       {"node", element.stamp.node},
                       {"actor", element.actor},
                       {"stamp", StampString(element.stamp)},
                       {"at", StampTime(element.stamp)}});
    }
    changes[change.name]["added"] = std::move(added);
  }
  ordered_json out;
  out["at"] = StampTime(entry.at);
  out["node"] = entry.at.node;
  out["actor"] = entry.actor;
  out["changes"] = std::move(changes);
  return out;
}

}  // namespace stationsync
