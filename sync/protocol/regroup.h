// Merges, unmerges and transfers (DESIGN.md "Registry, scopes, merges, transfers"), planned at the
// hub: pure functions from the hub's replica (read only) to the one WriteRequest that makes the
// change, or the reason it may not be made. Storing it is the caller's (the API server's group
// commit); what the change does to the stations' scopes follows from the stored unit records
// (registry.h) and record owners.
//
// Invariants of a planned request:
//  1. A merge is one request: every member's unit record or none is written.
//  2. No plan makes a `merged_into` chain loop: a member may not already share a group with
//     `into` (which also refuses merging two units already merged together), and only a unit
//     that is not merged itself (a group root, or a unit never merged) is merged, so after the
//     write every member points at `into` and `into`'s chain does not pass through a member.
//  3. Records keep their owners on a merge or unmerge; only unit records change. A transfer
//     changes exactly one record's owner.
//
// Refusals, by code (the exit code of syncctl):
//   kNotFound (1)  a unit or record that is not there (absent or deleted)
//   kInvalid  (2)  a malformed request: no members, a member named twice, a member == `into`,
//                  a transfer of a unit record
//   kRefused  (4)  a request the registry does not allow: a non-station member or `into`,
//                  a member already in `into`'s group, a member already merged elsewhere,
//                  an unmerge of a unit that is not merged, a transfer to a retired unit
#pragma once

#include <string>
#include <vector>

#include "sync/base/status.h"
#include "sync/records/record.h"
#include "sync/storage/replica.h"

namespace stationsync {

// Merges each member into `into`: status `merged`, `merged_into` = into, and with `as_suboffice`
// kind `suboffice`. `into` must be a station unit (kind station or suboffice, not retired); it
// may itself be merged (merges chain). Each member must be a station unit that is not merged.
Result<WriteRequest> PlanMerge(const Replica& hub, const std::string& into,
                               const std::vector<std::string>& members, bool as_suboffice,
                               const std::string& actor);

// Undoes a merge of `code`: status `active`, `merged_into` cleared, and kind `station` if it is
// `suboffice`. Units merged into `code` stay merged into it (it becomes their group's root).
Result<WriteRequest> PlanUnmerge(const Replica& hub, const std::string& code,
                                 const std::string& actor);

// Hands the record table/id over to unit `to` (a put of its owner). `to` must be a unit of the
// registry that is not retired; unit records are not transferred. A transfer to the record's
// current owner is a put that changes nothing (so a retried transfer succeeds).
Result<WriteRequest> PlanTransfer(const Replica& hub, Table table, const std::string& id,
                                  const std::string& to, const std::string& actor);

}  // namespace stationsync
