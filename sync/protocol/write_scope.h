// What a station may write through its local API: the records owned by the units of its scope
// (Replica::Scope(): its own unit, and once merged, every unit of its group, so merged stations
// write each other's records), and never a unit record. Units are the hub's registry, and moving
// a record to another unit is a transfer, made at the hub (DESIGN.md); a station that wrote
// either would only be refused when it syncs, after its user had been told the write succeeded.
// The hub may write anything.
//
// Checked by the API server before a write reaches the replica, and by `syncctl import` before it
// stores anything, so that an import is refused whole rather than after some of its batches.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sync/base/status.h"
#include "sync/records/record.h"
#include "sync/storage/replica.h"

namespace stationsync {

// kRefused unless a station whose scope is `scope` (unit codes) may hold a record of `table`
// owned by `owner`.
Status CheckStationScope(Table table, std::string_view id, std::string_view owner,
                         const std::vector<std::string>& scope);

// Checks every op of a station's write request against the records the replica holds: the
// owner a put leaves (the patch's, else the stored one, else the station's unit) and the owner
// a record has before a put or delete must both be in the replica's scope, and a put may not
// change a stored record's owner (a transfer). A delete of a record the replica does not hold
// is left to the replica (kNotFound). On refusal, `failed_op` (if given) is the index of the op
// refused.
Status CheckStationWrite(const Replica& replica, const WriteRequest& write,
                         size_t* failed_op = nullptr);

}  // namespace stationsync
