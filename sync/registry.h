// The registry: units live in the `unit` table, written at the hub. Which units run a station
// (and so get a sync link and a scope) is decided here, in one place that the merge work grows.
#pragma once

#include <string>
#include <vector>

#include "sync/record.h"
#include "sync/replica.h"
#include "sync/status.h"

namespace stationsync {

// A unit that runs a station server: kind station or suboffice, not retired, not deleted.
bool IsStationUnit(const Record& unit);

// Station units of the registry, in code order.
Result<std::vector<std::string>> StationUnits(const Replica& replica);

// Ok if `code` may link as a station; otherwise kRefused with the reason, for both logs.
Status CheckStationUnit(const Replica& replica, const std::string& code);

}  // namespace stationsync
