// syncctl digest: the digest of the records a group of units owns (sync/storage/digest.h), to
// compare two replicas by eye or by script: equal roots mean identical records.
//
// digest --json prints one line, exactly {"scope":[CODES...],"records":N,"root":"<64 hex>"};
// without --json, the same as "scope:", "records:" and "root:" lines.
//
// At a station the scope is its own group (every unit it holds); --scope CODE is allowed only
// for a unit of that group (the same digest), else exit 4. At the hub --scope CODE is required
// (exit 2 without it) and names any registry unit (exit 1 for an unknown one): the hub's view of
// that unit's group.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "sync/storage/digest.h"
#include "tools/syncctl/commands.h"

namespace stationsync {

nlohmann::ordered_json DigestToJson(const ScopeDigest& digest);

// `scope` empty: the station's own group.
int CmdDigest(const GlobalFlags& flags, const std::string& scope);

}  // namespace stationsync
