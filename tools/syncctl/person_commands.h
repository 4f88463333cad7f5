// syncctl person merge / unmerge: one resident registered under two citizen id numbers made one,
// at the hub, and undone (sync/admin/person_merge.h says what changes and why it is refused).
//
// Output: one JSON line per field changed (or, with --dry-run, that would change),
//   {"table","id","field","old","new"}
// then a summary {"keep","duplicate","dry_run","records","fields"}.
//
// Exit codes: 0 done (or planned); 1 a registration that is not there; 2 usage errors, a
// malformed id number, KEEP == DUPLICATE; 3 no daemon; 4 refused: at a station, DUPLICATE
// already merged, KEEP itself merged, sex or birth date differing, an unmerge of a registration
// that is not merged.
#pragma once

#include <string>

#include "tools/syncctl/commands.h"

namespace stationsync {

int CmdPersonMerge(const GlobalFlags& flags, const std::string& keep, const std::string& duplicate,
                   bool dry_run);
int CmdPersonUnmerge(const GlobalFlags& flags, const std::string& duplicate, bool dry_run);

}  // namespace stationsync
