// syncctl conflicts: the open conflicts of the node's replica, and resolving one.
//
// conflicts --json prints one JSON line per conflict, like `list` (ConflictToJson,
// sync/records/record_json.h).
// conflicts resolve ID --take kept|lost, or --value JSON, writes that value to the conflict's
// register as an ordinary write by --actor (sync/storage/conflict_resolution.h), and prints the
// record.
#pragma once

#include <string>

#include "tools/syncctl/commands.h"

namespace stationsync {

int CmdConflicts(const GlobalFlags& flags);
// Exactly one of `take` ("kept" or "lost") and `value_json` is non-empty, else a usage error.
int CmdResolveConflict(const GlobalFlags& flags, const std::string& id, const std::string& take,
                       const std::string& value_json);

}  // namespace stationsync
