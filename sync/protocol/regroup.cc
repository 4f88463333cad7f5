// See regroup.h.
#include "sync/protocol/regroup.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "sync/protocol/registry.h"

namespace stationsync {
namespace {

std::string TextOr(const Record& record, std::string_view name, std::string_view absent) {
  const std::string* text = record.Text(name);
  return text == nullptr ? std::string(absent) : *text;
}

bool HasText(const Record& record, std::string_view name, std::string_view value) {
  const std::string* text = record.Text(name);
  return text != nullptr && *text == value;
}

// The live unit record of `code`, or kNotFound.
Result<Record> LiveUnit(const Replica& hub, const std::string& code) {
  auto unit = hub.Get(Table::kUnit, code);
  if (!unit.ok()) return unit.status();
  if (!*unit || (*unit)->deleted) {
    return NotFound(fmt::format("unit {} is not in the registry", code));
  }
  return std::move(**unit);
}

std::string KindAndStatus(const Record& unit) {
  return fmt::format("kind {}, status {}", TextOr(unit, "kind", "none"),
                     TextOr(unit, "status", "active"));
}

WriteOp UnitPut(const std::string& code, std::map<std::string, Value> fields) {
  return {false, RecordPatch{Table::kUnit, code, "", std::move(fields)}, false};
}

}  // namespace

Result<WriteRequest> PlanMerge(const Replica& hub, const std::string& into,
                               const std::vector<std::string>& members, bool as_suboffice,
                               const std::string& actor) {
  if (members.empty()) return Invalid("merge: name at least one member unit");
  std::set<std::string> named;
  for (const std::string& member : members) {
    if (member == into) return Invalid(fmt::format("unit {} cannot be merged into itself", into));
    if (!named.insert(member).second) {
      return Invalid(fmt::format("merge: unit {} is named twice", member));
    }
  }

  auto target = LiveUnit(hub, into);
  if (!target.ok()) return target.status();
  if (!IsStationUnit(*target)) {
    return Refused(fmt::format(
        "unit {} cannot take a merge: it is not a station ({}); stations merge into stations", into,
        KindAndStatus(*target)));
  }
  auto groups = Groups(hub);
  if (!groups.ok()) return groups.status();

  WriteRequest write{actor, {}};
  for (const std::string& member : members) {
    auto unit = LiveUnit(hub, member);
    if (!unit.ok()) return unit.status();
    if (!IsStationUnit(*unit)) {
      return Refused(
          fmt::format("unit {} is not a station ({}): only stations and sub-offices are merged",
                      member, KindAndStatus(*unit)));
    }
    const auto group = groups->find(member);
    if (group != groups->end() &&
        std::find(group->second.begin(), group->second.end(), into) != group->second.end()) {
      return Refused(
          fmt::format("unit {} is already in one group with {} ({}): merging them again would loop",
                      member, into, fmt::join(group->second, ", ")));
    }
    if (HasText(*unit, "status", "merged")) {
      return Refused(fmt::format(
          "unit {} is already merged into {}: unmerge it first, or merge its group's root", member,
          TextOr(*unit, "merged_into", "no unit")));
    }
    std::map<std::string, Value> fields{{"status", Value("merged")}, {"merged_into", Value(into)}};
    if (as_suboffice) fields.emplace("kind", Value("suboffice"));
    write.ops.push_back(UnitPut(member, std::move(fields)));
  }
  return write;
}

Result<WriteRequest> PlanUnmerge(const Replica& hub, const std::string& code,
                                 const std::string& actor) {
  auto unit = LiveUnit(hub, code);
  if (!unit.ok()) return unit.status();
  if (!HasText(*unit, "status", "merged")) {
    return Refused(
        fmt::format("unit {} is not merged (status {})", code, TextOr(*unit, "status", "active")));
  }
  std::map<std::string, Value> fields{{"status", Value("active")}, {"merged_into", Value{}}};
  if (HasText(*unit, "kind", "suboffice")) fields.emplace("kind", Value("station"));
  return WriteRequest{actor, {UnitPut(code, std::move(fields))}};
}

Result<WriteRequest> PlanTransfer(const Replica& hub, Table table, const std::string& id,
                                  const std::string& to, const std::string& actor) {
  if (table == Table::kUnit) {
    return Invalid(fmt::format(
        "unit {}: units are not transferred (change its parent, or merge it, instead)", id));
  }
  auto record = hub.Get(table, id);
  if (!record.ok()) return record.status();
  if (!*record || (*record)->deleted) {
    return NotFound(fmt::format("{} {} does not exist", TableName(table), id));
  }
  auto unit = LiveUnit(hub, to);
  if (!unit.ok()) return unit.status();
  if (HasText(*unit, "status", "retired")) {
    return Refused(fmt::format("unit {} is retired: records are not transferred to it", to));
  }
  return WriteRequest{actor, {{false, RecordPatch{table, id, to, {}}, false}}};
}

}  // namespace stationsync
