// See registry.h.
#include "sync/protocol/registry.h"

#include <fmt/format.h>

namespace stationsync {

bool IsStationUnit(const Record& unit) {
  if (unit.table != Table::kUnit || unit.deleted) return false;
  const std::string* kind = unit.Text("kind");
  const std::string* status = unit.Text("status");
  const bool runs_station = kind && (*kind == "station" || *kind == "suboffice");
  return runs_station && !(status && *status == "retired");
}

namespace {

// Every unit record of the registry (tombstones excluded).
Result<std::vector<Record>> AllUnits(const Replica& replica) {
  std::vector<Record> units;
  ListQuery query;
  query.table = Table::kUnit;
  do {
    auto page = replica.List(query);
    if (!page.ok()) return page.status();
    for (Record& unit : page->records) units.push_back(std::move(unit));
    query.after = page->next;
  } while (!query.after.empty());
  return units;
}

}  // namespace

std::map<std::string, std::vector<std::string>> GroupsOf(const std::vector<Record>& units) {
  std::map<std::string, std::string> merged_into;  // only units with status merged
  for (const Record& unit : units) {
    const std::string* status = unit.Text("status");
    const std::string* into = unit.Text("merged_into");
    merged_into[unit.id] = status && *status == "merged" && into ? *into : std::string();
  }
  auto root_of = [&merged_into](const std::string& code) {
    std::string root = code;
    for (size_t steps = 0; steps <= merged_into.size(); ++steps) {  // bounded: loops end
      const auto it = merged_into.find(root);
      if (it == merged_into.end() || it->second.empty() || it->second == code) break;
      root = it->second;
    }
    return root;
  };
  std::map<std::string, std::vector<std::string>> by_root;
  for (const auto& [code, into] : merged_into) by_root[root_of(code)].push_back(code);
  std::map<std::string, std::vector<std::string>> groups;
  for (const auto& [code, into] : merged_into) groups[code] = by_root[root_of(code)];
  return groups;
}

Result<RegistryView> ReadRegistry(const Replica& replica) {
  auto units = AllUnits(replica);
  if (!units.ok()) return units.status();
  RegistryView view;
  std::map<std::string, int> holders;  // key -> how many station units hold it
  for (const Record& unit : *units) {
    if (!IsStationUnit(unit)) continue;
    view.station_units.push_back(unit.id);
    if (const std::string* key = unit.Text("public_key")) {
      view.unit_by_key[*key] = unit.id;
      ++holders[*key];
    }
  }
  for (const auto& [key, count] : holders) {
    if (count == 1) continue;
    view.unit_by_key.erase(key);
    view.shared_keys.push_back(key);
  }
  view.groups = GroupsOf(*units);
  return view;
}

Result<std::map<std::string, std::vector<std::string>>> Groups(const Replica& replica) {
  auto units = AllUnits(replica);
  if (!units.ok()) return units.status();
  return GroupsOf(*units);
}

Result<std::vector<std::string>> GroupOf(const Replica& replica, const std::string& code) {
  auto groups = Groups(replica);
  if (!groups.ok()) return groups.status();
  const auto it = groups->find(code);
  if (it == groups->end()) return std::vector<std::string>{code};
  return it->second;
}

Status CheckStationUnit(const Replica& replica, const std::string& code) {
  auto unit = replica.Get(Table::kUnit, code);
  if (!unit.ok()) return unit.status();
  if (!*unit || (*unit)->deleted) {
    return Refused(
        fmt::format("unit {} is not in the hub's registry (syncctl unit put {} ...)", code, code));
  }
  if (!IsStationUnit(**unit)) {
    const std::string* kind = (*unit)->Text("kind");
    const std::string* status = (*unit)->Text("status");
    return Refused(fmt::format("unit {} does not run a station (kind {}, status {})", code,
                               kind ? *kind : "none", status ? *status : "none"));
  }
  return Status::Ok();
}

}  // namespace stationsync
