// syncctl conflicts: the open conflicts of the node's replica, and resolving one.
//
// conflicts --json prints one JSON line per conflict, like `list`:
//   {"id","table","record","field","kept":SIDE,"lost":SIDE}
//   SIDE = {"value","node","actor","stamp","at"}: the value (a string, an array of strings, or
//   null), the node and actor of the write, its stamp in the form of a record's "version"
//   (hex HLC, '-', node), and its time (ISO 8601 UTC).
// conflicts resolve ID --take kept|lost, or --value JSON, writes that value to the conflict's
// register as an ordinary write by --actor (sync/storage/conflict_resolution.h), and prints the
// record.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "sync/records/merge.h"
#include "tools/syncctl/commands.h"

namespace stationsync {

nlohmann::ordered_json ConflictToJson(const Conflict& conflict);

int CmdConflicts(const GlobalFlags& flags);
// Exactly one of `take` ("kept" or "lost") and `value_json` is non-empty, else a usage error.
int CmdResolveConflict(const GlobalFlags& flags, const std::string& id, const std::string& take,
                       const std::string& value_json);

}  // namespace stationsync
