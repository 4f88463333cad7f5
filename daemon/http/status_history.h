// The last hour of a node's sync figures, for the dashboard's charts: one sample every
// kHistoryStepMs of the snapshots the loop publishes (node_state.h), kept in memory (nothing
// survives a restart). A page asks for the samples newer than the last it holds, so each poll
// carries a few numbers, and a page opened late still draws the whole hour.
//
// Threads: Add is called by the loop (through NodeState::Publish); Since from any thread.
// Invariants: 1. at most kHistorySamplesMax samples, the newest; 2. samples are at least
// kHistoryStepMs apart (by the caller's monotonic clock) and their n strictly increases;
// 3. memory is bounded by kHistorySamplesMax times the stations of the registry.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sync/protocol/sync_status.h"

namespace stationsync {

inline constexpr uint64_t kHistoryStepMs = 10'000;
inline constexpr size_t kHistorySamplesMax = 360;  // an hour of steps
static_assert(kHistoryStepMs * kHistorySamplesMax == 3'600'000, "the charts show one hour");

// One station's figures at the hub at one sample.
struct StationPoint {
  std::string unit;
  bool connected = false;
  uint64_t lag_records = 0;
  uint64_t lag_ms = 0;
  uint64_t up_total = 0;
  uint64_t down_total = 0;
};

struct StatusSample {
  uint64_t n = 0;         // 1, 2, ...
  uint64_t at_ms = 0;     // the caller's monotonic clock
  uint64_t last_seq = 0;  // this node's log position (its stored changes: throughput)
  // A station's link to its hub (zero at the hub).
  bool hub_connected = false;
  uint64_t lag_records = 0;
  uint64_t pending_up = 0;
  std::vector<StationPoint> stations;  // the hub's stations (empty at a station)
};

class StatusHistory {
 public:
  // Keeps a sample of `sync` (and the log position) if the last one is kHistoryStepMs old.
  void Add(uint64_t now_ms, const SyncStatus& sync, uint64_t last_seq);
  // {"step_ms", "last_n", "samples": [{"n","age_ms","last_seq","hub_connected","lag_records",
  // "pending_up","stations":{"UNIT":[connected 0/1, lag_records, lag_ms, up_total,
  // down_total]}}]}: the samples with n > after, oldest first; age_ms is now_ms - at_ms.
  // last_n is the newest sample's n (0: none): a reader holding a greater n talks to a
  // restarted node and starts again from 0.
  nlohmann::ordered_json Since(uint64_t after, uint64_t now_ms) const;

 private:
  mutable std::mutex mutex_;
  std::deque<StatusSample> samples_;  // under mutex_
  uint64_t next_n_ = 1;               // under mutex_
};

}  // namespace stationsync
