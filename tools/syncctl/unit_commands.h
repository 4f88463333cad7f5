// syncctl unit put / unit list: the unit registry (table `unit`, schema/records.capnp).
//
// Units are written at the hub: a station's daemon refuses `unit put` with exit 4
// (sync/write_scope.h). `unit list --json` prints records as JSON lines, like `list unit`.
#pragma once

#include <string>

#include "tools/syncctl/commands.h"

namespace stationsync {

// The same as `put unit CODE FIELDS_JSON`.
int CmdUnitPut(const GlobalFlags& flags, const std::string& code, const std::string& fields_json);
// A table of code, name, kind, status and parent; JSON lines with --json.
int CmdUnitList(const GlobalFlags& flags);

}  // namespace stationsync
