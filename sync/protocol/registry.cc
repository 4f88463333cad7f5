// See registry.h.
#include "sync/protocol/registry.h"

#include <algorithm>
#include <variant>

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

// Every unit -> its group, from each unit's merged_into (empty: not merged).
std::map<std::string, std::vector<std::string>> GroupsByMergedInto(
    const std::map<std::string, std::string>& merged_into) {
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

std::string MergedInto(const std::string* status, const std::string* into) {
  return status && *status == "merged" && into ? *into : std::string();
}

}  // namespace

std::map<std::string, std::vector<std::string>> GroupsOf(const std::vector<Record>& units) {
  std::map<std::string, std::string> merged_into;
  for (const Record& unit : units) {
    merged_into[unit.id] = MergedInto(unit.Text("status"), unit.Text("merged_into"));
  }
  return GroupsByMergedInto(merged_into);
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

Result<std::vector<GroupSpell>> GroupHistory(const Replica& replica, const std::string& code) {
  auto units = AllUnits(replica);
  if (!units.ok()) return units.status();
  struct Event {
    Stamp at;
    std::string unit;
    std::vector<FieldChange> changes;
  };
  std::vector<Event> events;
  for (const Record& unit : *units) {
    auto history = replica.History(Table::kUnit, unit.id);
    if (!history.ok()) return history.status();
    for (HistoryEntry& entry : *history) {
      events.push_back({entry.at, unit.id, std::move(entry.changes)});
    }
  }
  std::stable_sort(events.begin(), events.end(),
                   [](const Event& a, const Event& b) { return a.at < b.at; });
  struct Registered {
    std::string status, merged_into;
    bool deleted = false;
  };
  std::map<std::string, Registered> registry;
  auto group_now = [&registry, &code] {
    std::map<std::string, std::string> merged_into;
    for (const auto& [unit, state] : registry) {
      if (!state.deleted) merged_into[unit] = MergedInto(&state.status, &state.merged_into);
    }
    const auto groups = GroupsByMergedInto(merged_into);
    const auto it = groups.find(code);
    return it == groups.end() ? std::vector<std::string>{code} : it->second;
  };
  std::vector<GroupSpell> spells{{group_now(), Stamp{}}};
  for (size_t i = 0; i < events.size(); ++i) {
    Registered& state = registry[events[i].unit];
    for (const FieldChange& change : events[i].changes) {
      const auto* text = std::get_if<std::string>(&change.new_value);
      if (change.name == "status") state.status = text ? *text : std::string();
      if (change.name == "merged_into") state.merged_into = text ? *text : std::string();
      if (change.name == "deleted") state.deleted = text && *text == "true";
    }
    // One write may change several units: the group is read once all of it is applied.
    if (i + 1 < events.size() && events[i + 1].at == events[i].at) continue;
    std::vector<std::string> group = group_now();
    if (group == spells.back().members) continue;
    spells.back().until = events[i].at;
    spells.push_back({std::move(group), Stamp{}});
  }
  return spells;
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
