// syncctl check: the domain checks of sync/admin/domain_check.h over the records a node holds.
//
// It reads every record through the daemon's API (pages of 1,000, as export does), so it runs
// beside a serving daemon and sees what it serves; the index entries go to a scratch store under
// `scratch_dir`, so memory stays bounded. At the hub every record of the county is there and every
// check runs; a station holds only its scope and no registry, so the dangling_* checks (a
// reference may point at a record of another scope) and unknown_owner are skipped there, and the
// summary says so.
//
// Output: one line per problem (JSON with --json: {"kind","records":[{"table","id"}],"detail"}),
// then a summary {"records","problems","by_kind","skipped","ms"}. Exit 0 when nothing is found,
// 1 when something is, otherwise the error's code (2 an unknown --scope unit, 3 no daemon).
#pragma once

#include <string>

#include "tools/syncctl/commands.h"

namespace stationsync {

// `scope`: a unit code; only problems involving a record of its group are reported (empty: all).
int CmdCheck(const GlobalFlags& flags, const std::string& scope, const std::string& scratch_dir);

}  // namespace stationsync
