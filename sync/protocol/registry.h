// The registry: units live in the `unit` table, written at the hub. Which units run a station
// (and so get a sync link and a scope) is decided here, in one place that the merge work grows.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "sync/base/status.h"
#include "sync/records/record.h"
#include "sync/storage/replica.h"

namespace stationsync {

// A unit that runs a station server: kind station or suboffice, not retired, not deleted.
bool IsStationUnit(const Record& unit);

// Merged units form groups: a unit's group is every unit whose `merged_into` chain ends at the
// same root (union-find over the registry; a chain that loops or names an unknown unit ends
// where it breaks). A unit that was never merged is a group of one.
//
// Every unit of the registry -> its group (unit codes, sorted, itself included).
std::map<std::string, std::vector<std::string>> GroupsOf(const std::vector<Record>& units);
Result<std::map<std::string, std::vector<std::string>>> Groups(const Replica& replica);
// The group of `code` (just {code} when the registry does not know it).
Result<std::vector<std::string>> GroupOf(const Replica& replica, const std::string& code);

// A stretch of the registry's history during which a unit's group stayed the same.
struct GroupSpell {
  std::vector<std::string> members;  // sorted, the unit itself included
  Stamp until;                       // the registry write that ended it; zero: the group now
};
// Every group `code` has belonged to, oldest first, the current one last: the unit table's
// history (each unit's status and merged_into) replayed in stamp order, as GroupsOf reads it.
// Units deleted since are left out (their history is not listed). Reads every unit's history,
// so it is for rare paths: the hub judging a write made under a scope the station has lost.
Result<std::vector<GroupSpell>> GroupHistory(const Replica& replica, const std::string& code);

// What the hub's sessions follow, from one reading of the unit table.
struct RegistryView {
  std::vector<std::string> station_units;                  // in code order
  std::map<std::string, std::vector<std::string>> groups;  // as Groups()
  // Enrolled CURVE keys of station units (Z85 -> unit). A key enrolled for two units belongs to
  // neither (listed in shared_keys), so it can never speak for the wrong one.
  std::map<std::string, std::string> unit_by_key;
  std::vector<std::string> shared_keys;
};
Result<RegistryView> ReadRegistry(const Replica& replica);

// Ok if `code` may link as a station; otherwise kRefused with the reason, for both logs.
Status CheckStationUnit(const Replica& replica, const std::string& code);

}  // namespace stationsync
