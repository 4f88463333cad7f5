// Tuning shared by the hub and station sessions. Times are milliseconds of the caller's clock.
#pragma once

#include <cstddef>
#include <cstdint>

namespace stationsync {

struct SessionOptions {
  uint32_t window = 8;         // batches each side keeps unacknowledged at most (credit)
  size_t batch_records = 256;  // records per Up, Down or offer page
  // Records per snapshot page: a page is one durable batch at the station, so larger pages cost
  // fewer syncs and per-batch overheads (1,024 records are about 1 MB, far below the 4 MiB
  // message bound).
  size_t snapshot_page_records = 1024;
  uint64_t heartbeat_ms = 1000;  // send something at least this often on a link
  uint64_t silence_ms = 5000;    // a peer not heard from for this long is gone
  uint64_t resend_ms = 3000;     // unacknowledged batches are sent again after this long
  uint64_t retry_min_ms = 100;   // reconnect back-off: doubles from here ...
  uint64_t retry_max_ms = 5000;  // ... up to here
  uint64_t far_behind = 100000;  // a station further behind than this gets a snapshot
  // Stations the hub sends snapshot pages to at once (hub.h): the others wait, linked and
  // heartbeating, so that many stations starting together share the hub's CPU and disk a few
  // at a time instead of all timing out together.
  uint32_t max_concurrent_snapshots = 4;
  uint32_t lookups_per_minute = 60;  // `get --remote` look-ups the hub answers per station
};

}  // namespace stationsync
