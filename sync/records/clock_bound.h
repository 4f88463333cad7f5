// The bound on clocks of other nodes: a stamp further ahead of the receiver's wall clock than
// the limit is refused, never adopted, so no peer can push a hybrid logical clock towards the
// end of its range (where it would wrap) or make its own writes win every future merge.
#pragma once

#include <cstdint>
#include <vector>

#include "sync/records/record.h"

namespace stationsync {

inline constexpr int64_t kMaxClockAheadMsDefault = 5 * 60 * 1000;  // syncd --max-clock-ahead

// The newest HLC reading of any stamp in `record`: owner, deletion, fields, the newest write and
// the version vector.
uint64_t NewestStampHlc(const Record& record);

// How far the newest stamp of `records` is ahead of `now_ms`, if it is more than
// `max_ahead_ms` ahead; 0 if every stamp is within the bound.
int64_t StampsAheadMs(const std::vector<Record>& records, int64_t now_ms, int64_t max_ahead_ms);

}  // namespace stationsync
