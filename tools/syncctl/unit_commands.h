// syncctl unit put / list / enroll / revoke: the unit registry (table `unit`,
// schema/records.capnp), and the CURVE keys the hub admits for station units.
//
// Units are written at the hub: a station's daemon refuses these writes with exit 4
// (sync/protocol/write_scope.h). `unit list --json` prints records as JSON lines, like `list unit`.
#pragma once

#include <string>

#include "tools/syncctl/commands.h"

namespace stationsync {

// The same as `put unit CODE FIELDS_JSON`.
int CmdUnitPut(const GlobalFlags& flags, const std::string& code, const std::string& fields_json);
// A table of code, name, kind, status and parent; JSON lines with --json.
int CmdUnitList(const GlobalFlags& flags);
// Stores KEY (Z85, or @FILE of a certificate) as the station unit's `public_key`, replacing any
// earlier one (rotation: the old key's live link is dropped within a second). Exit 1 unknown
// unit, 2 not a key, 4 not a station unit or the key belongs to another unit.
int CmdUnitEnroll(const GlobalFlags& flags, const std::string& code, const std::string& key);
// Clears the unit's key: its live link is dropped within a second. Exit 1 unknown unit, 4 no
// key enrolled.
int CmdUnitRevoke(const GlobalFlags& flags, const std::string& code);

}  // namespace stationsync
