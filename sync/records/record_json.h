// The JSON forms of records, patches and history entries: the binding contract of every tool.
//
// Record: {"table","id","owner","fields":{...},"deleted","version","updated_at","updated_by",
// "actor"} (in that order). An import line needs only table, id, owner and fields. A field value
// is a string, an array of strings, or null (clears the field).
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "sync/base/status.h"
#include "sync/records/merge.h"
#include "sync/records/record.h"

namespace stationsync {

nlohmann::ordered_json ValueToJson(const Value& value);
Result<Value> ValueFromJson(std::string_view field, const nlohmann::json& json);

nlohmann::ordered_json RecordToJson(const Record& record);

// Field values from a JSON object {"name": value, ...} (no schema check yet; see validate.h).
Result<std::map<std::string, Value>> FieldsFromJson(const nlohmann::json& json);

// An import line: {"table":..,"id":..,"owner":..,"fields":{..}}. Other members are ignored, so
// that exported records import as they are.
Result<RecordPatch> PatchFromJson(const nlohmann::json& json);

// {"at":ISO 8601,"node":..,"actor":..,"changes":{"field":{"old":..,"new":..}}}; a change of a set
// or append field also has "added":[{"value","node","actor","stamp","at"}], each element it added
// with the write that added it (its author).
nlohmann::ordered_json HistoryToJson(const HistoryEntry& entry);

// An open conflict, as `syncctl conflicts --json` prints it and the dashboard shows it:
//   {"id","table","record","field","kept":SIDE,"lost":SIDE}
//   SIDE = {"value","node","actor","stamp","at"}: the value (a string, an array of strings, or
//   null), the node and actor of the write, its stamp in the form of a record's "version"
//   (hex HLC, '-', node), and its time (ISO 8601 UTC).
nlohmann::ordered_json ConflictToJson(const Conflict& conflict);

// Physical milliseconds of a stamp as ISO 8601 UTC.
std::string StampTime(const Stamp& stamp);

}  // namespace stationsync
