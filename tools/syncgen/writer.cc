// JSON lines and files; see writer.h.
#include "tools/syncgen/writer.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <string>
#include <system_error>

#include <fmt/format.h>

#include "sync/records/calendar.h"
#include "tools/syncgen/divisions.h"

namespace stationsync::syncgen {
namespace {

using Json = nlohmann::ordered_json;

Json Line(std::string_view table, std::string_view id, std::string_view owner, Json fields) {
  Json line;
  line["table"] = table;
  line["id"] = id;
  line["owner"] = owner;
  line["fields"] = std::move(fields);
  return line;
}

std::string_view KindName(CaseKind kind) {
  switch (kind) {
    case CaseKind::kCriminal:
      return "criminal";
    case CaseKind::kAdministrative:
      return "administrative";
    case CaseKind::kTraffic:
      return "traffic";
  }
  return "criminal";
}

// 临朐县城关街道西坦村123号
std::string Address(const Dataset& dataset, const Household& household) {
  const Division& d = dataset.layout.villages[household.village].division;
  return fmt::format("{}{}{}{}号", d.county_name, d.street_name, ShortVillageName(d.village_name),
                     household.house_number);
}

void AppendLine(std::string& buffer, const Json& line) {
  buffer += line.dump();
  buffer += '\n';
}

Status WriteFile(const std::filesystem::path& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (out) out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  if (out) out.close();
  if (!out) return Internal(fmt::format("cannot write {}", path.string()));
  return Status::Ok();
}

// Indexes of the items each unit owns, in dataset order.
struct Owned {
  std::vector<std::vector<size_t>> personnel, residents, cases;
};

Owned ByUnit(const Dataset& dataset) {
  const size_t units = dataset.layout.units.size();
  Owned owned{std::vector<std::vector<size_t>>(units), std::vector<std::vector<size_t>>(units),
              std::vector<std::vector<size_t>>(units)};
  for (size_t i = 0; i < dataset.personnel.size(); ++i) {
    owned.personnel[dataset.personnel[i].unit].push_back(i);
  }
  for (size_t i = 0; i < dataset.residents.size(); ++i) {
    const Resident& r = dataset.residents[i];
    if (!r.omitted) owned.residents[dataset.households[r.household].owner].push_back(i);
  }
  for (size_t i = 0; i < dataset.cases.size(); ++i) {
    if (dataset.cases[i].owner_code.empty()) owned.cases[dataset.cases[i].unit].push_back(i);
  }
  return owned;
}

// Writes one unit's records, streaming (a file is a unit's share of the data, not all of it).
Status WriteUnitRecords(const Dataset& dataset, const Owned& owned, size_t unit,
                        const std::filesystem::path& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  std::string buffer;
  const auto flush = [&] {
    out.write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    buffer.clear();
  };
  constexpr size_t kFlushBytes = 1 << 20;
  for (size_t i : owned.personnel[unit])
    AppendLine(buffer, PersonnelJson(dataset, dataset.personnel[i]));
  for (size_t i : owned.residents[unit]) {
    AppendLine(buffer, RegistrationJson(dataset, dataset.residents[i]));
    if (buffer.size() >= kFlushBytes) flush();
  }
  for (size_t i : owned.cases[unit]) AppendLine(buffer, CaseJson(dataset, dataset.cases[i]));
  flush();
  if (out) out.close();
  if (!out) return Internal(fmt::format("cannot write {}", path.string()));
  return Status::Ok();
}

}  // namespace

Json UnitJson(const Layout& layout, size_t unit) {
  const UnitPlan& u = layout.units[unit];
  Json fields;
  fields["name"] = u.name;
  fields["kind"] = u.kind;
  if (!u.parent.empty()) fields["parent"] = u.parent;
  fields["status"] = "active";
  return Line("unit", u.code, layout.units[0].code, std::move(fields));
}

Json PersonnelJson(const Dataset& dataset, const Officer& o) {
  Json fields;
  fields["name"] = o.name;
  fields["id_number"] = o.id_number;
  fields["sex"] = o.male ? "male" : "female";
  fields["role"] = o.role;
  if (!o.rank.empty()) fields["rank"] = o.rank;
  fields["post"] = o.post;
  fields["phone"] = o.phone;
  fields["status"] = o.status;
  return Line("personnel", o.police_number, dataset.layout.units[o.unit].code, std::move(fields));
}

Json RegistrationJson(const Dataset& dataset, const Resident& r) {
  const Household& h = dataset.households[r.household];
  Json fields;
  fields["name"] = r.name;
  fields["sex"] = r.male ? "male" : "female";
  fields["ethnicity"] = r.ethnicity;
  fields["birth_date"] = FormatDate(r.birth);
  fields["household"] = h.code;
  fields["relation"] = r.relation;
  fields["address"] = Address(dataset, h);
  fields["area"] = dataset.layout.villages[h.village].division.village_code;
  fields["status"] = r.status;
  return Line("registration", r.legacy_id.empty() ? r.id : r.legacy_id,
              dataset.layout.units[h.owner].code, std::move(fields));
}

Json CaseJson(const Dataset& dataset, const CaseRecord& c) {
  Json fields;
  fields["kind"] = KindName(c.kind);
  fields["title"] = c.title;
  fields["status"] = c.status;
  fields["reported_at"] = c.reported_at;
  fields["area"] = dataset.layout.villages[c.village].division.village_code;
  fields["lead_officer"] = c.lead_officer;
  if (!c.involved.empty()) fields["involved"] = c.involved;
  if (!c.notes.empty()) fields["notes"] = c.notes;
  const std::string& owner =
      c.owner_code.empty() ? dataset.layout.units[c.unit].code : c.owner_code;
  return Line("case", c.number, owner, std::move(fields));
}

Json PlantedJson(const PlantedProblem& p) {
  Json line;
  line["kind"] = p.kind;
  Json records = Json::array();
  for (const auto& [table, id] : p.records) records.push_back(Json{{"table", table}, {"id", id}});
  line["records"] = std::move(records);
  line["note"] = p.note;
  if (!p.legacy.empty()) line["legacy"] = p.legacy;
  if (!p.missing.empty()) line["missing"] = p.missing;
  return line;
}

Result<Summary> WriteDataset(const Dataset& dataset, const std::filesystem::path& dir) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) return Internal(fmt::format("cannot create {}: {}", dir.string(), error.message()));
  const Layout& layout = dataset.layout;
  Summary summary;
  std::string units;
  for (size_t u = 0; u < layout.units.size(); ++u) AppendLine(units, UnitJson(layout, u));
  summary.units = layout.units.size();
  SS_RETURN_IF_ERROR(WriteFile(dir / "units.jsonl", units));

  const Owned owned = ByUnit(dataset);
  for (size_t u = 0; u < layout.units.size(); ++u) {
    const size_t records =
        owned.personnel[u].size() + owned.residents[u].size() + owned.cases[u].size();
    if (records == 0) continue;
    const auto path = dir / fmt::format("records-{}.jsonl", layout.units[u].code);
    SS_RETURN_IF_ERROR(WriteUnitRecords(dataset, owned, u, path));
    summary.personnel += owned.personnel[u].size();
    summary.registrations += owned.residents[u].size();
    summary.cases += owned.cases[u].size();
    ++summary.record_files;
  }

  // The planted unknown_owner cases, in a file of their own per (nonexistent) owner, as an
  // export of a unit that is gone would be.
  std::map<std::string, std::string> orphans;
  for (const CaseRecord& c : dataset.cases) {
    if (!c.owner_code.empty()) AppendLine(orphans[c.owner_code], CaseJson(dataset, c));
  }
  for (const auto& [code, lines] : orphans) {
    SS_RETURN_IF_ERROR(WriteFile(dir / fmt::format("records-{}.jsonl", code), lines));
    summary.cases += static_cast<size_t>(std::count(lines.begin(), lines.end(), '\n'));
    ++summary.record_files;
  }

  std::string planted;
  for (const PlantedProblem& p : dataset.planted) AppendLine(planted, PlantedJson(p));
  summary.planted = dataset.planted.size();
  SS_RETURN_IF_ERROR(WriteFile(dir / "planted.jsonl", planted));
  return summary;
}

}  // namespace stationsync::syncgen
