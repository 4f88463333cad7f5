// Tuning shared by the hub and station sessions. Times are milliseconds of the caller's clock.
#pragma once

#include <cstddef>
#include <cstdint>

namespace stationsync {

struct SessionOptions {
  uint32_t window = 8;               // batches each side keeps unacknowledged at most (credit)
  size_t batch_records = 256;        // records per Up, Down, snapshot page or offer page
  uint64_t heartbeat_ms = 1000;      // send something at least this often on a link
  uint64_t silence_ms = 5000;        // a peer not heard from for this long is gone
  uint64_t resend_ms = 3000;         // unacknowledged batches are sent again after this long
  uint64_t retry_min_ms = 100;       // reconnect back-off: doubles from here ...
  uint64_t retry_max_ms = 5000;      // ... up to here
  uint64_t far_behind = 100000;      // a station further behind than this gets a snapshot
  uint32_t lookups_per_minute = 60;  // `get --remote` look-ups the hub answers per station
};

}  // namespace stationsync
