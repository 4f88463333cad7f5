// The files of a syncgen run: the JSON form of each generated record and where it goes.
//
// Layout of the output directory:
//   units.jsonl               one unit record per line, all owned by the bureau
//   records-<unit>.jsonl      per unit owning records: its personnel, then its registrations (by
//                             household), then its cases; importable as they are
//   planted.jsonl             one line per planted problem:
//                             {"kind","records":[{"table","id"}..],"note"[,"legacy"][,"missing"]}
// Every line is compact UTF-8 JSON with keys in the order table, id, owner, fields. A written
// record passes RecordFromPatch; registration ids are 18 digits except the planted legacy ones,
// written as their 15-digit form.
#pragma once

#include <cstddef>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "sync/base/status.h"
#include "tools/syncgen/dataset.h"

namespace stationsync::syncgen {

// Counts of what a run wrote.
struct Summary {
  size_t units = 0;
  size_t personnel = 0;
  size_t cases = 0;
  size_t registrations = 0;
  size_t planted = 0;
  size_t record_files = 0;  // records-<unit>.jsonl files
  size_t records() const { return personnel + cases + registrations; }
};

nlohmann::ordered_json UnitJson(const Layout& layout, size_t unit);
nlohmann::ordered_json PersonnelJson(const Dataset& dataset, const Officer& officer);
nlohmann::ordered_json RegistrationJson(const Dataset& dataset, const Resident& resident);
nlohmann::ordered_json CaseJson(const Dataset& dataset, const CaseRecord& record);
nlohmann::ordered_json PlantedJson(const PlantedProblem& problem);

// Writes the files into `dir`, creating it if missing; files of the same names are replaced, other
// files are left alone. Internal if a directory or file cannot be written.
Result<Summary> WriteDataset(const Dataset& dataset, const std::filesystem::path& dir);

}  // namespace stationsync::syncgen
