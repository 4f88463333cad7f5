// What the daemon's loop tells the HTTP server (http_server.h) about itself: a heartbeat stored
// each turn, and a snapshot of what only the loop may read (the sync sessions' status, the write
// latency), published each tick. The HTTP threads read it and never touch the sessions. Each
// publish also feeds the dashboard's hour of history (status_history.h).
//
// Threads: Beat and Publish are called by the loop only; every reader is safe from any thread.
// Invariants: 1. a reader sees a whole snapshot, never a half-published one (mutex_);
// 2. last_beat_ms never decreases (one writer, a monotonic clock).
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>

#include "daemon/http/status_history.h"
#include "daemon/latency_histogram.h"
#include "sync/protocol/sync_status.h"

namespace stationsync {

// Milliseconds of a monotonic clock (the loop's and the readers' common time base).
inline uint64_t SteadyNowMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

// A loop that has not turned for longer than this is stuck: GET /healthz answers 503.
inline constexpr uint64_t kLoopStaleMs = 3000;

// True if a loop that last turned at `last_beat_ms` (0: never) still counts as turning at
// `now_ms` (both SteadyNowMs()).
inline bool LoopAlive(uint64_t last_beat_ms, uint64_t now_ms) {
  return last_beat_ms != 0 && now_ms - std::min(now_ms, last_beat_ms) <= kLoopStaleMs;
}

struct NodeSnapshot {
  SyncStatus sync;                    // the sessions' Report, as the API server's status has it
  bool hub_configured = false;        // station: run with --hub
  bool hub_linked_once = false;       // station: linked to the hub in this run, or held the hub's
                                      // position at start (it synced before)
  LatencyHistogram write_latency;     // the API's group commits (ApiServer::write_latency)
  LatencyHistogram wal_sync_latency;  // the store's WAL syncs (WalSyncTimingFileSystem)
  uint64_t last_seq = 0;              // the replica's log position (for the history's rates)
};

class NodeState {
 public:
  void Beat(uint64_t now_ms) { last_beat_ms_.store(now_ms, std::memory_order_relaxed); }
  // 0 until the loop first turned.
  uint64_t last_beat_ms() const { return last_beat_ms_.load(std::memory_order_relaxed); }

  void Publish(NodeSnapshot snapshot) {
    history_.Add(SteadyNowMs(), snapshot.sync, snapshot.last_seq);
    std::lock_guard lock(mutex_);
    snapshot_ = std::move(snapshot);
  }
  // nullopt until the first Publish.
  std::optional<NodeSnapshot> Snapshot() const {
    std::lock_guard lock(mutex_);
    return snapshot_;
  }
  const StatusHistory& history() const { return history_; }

 private:
  std::atomic<uint64_t> last_beat_ms_{0};
  mutable std::mutex mutex_;
  std::optional<NodeSnapshot> snapshot_;  // under mutex_
  StatusHistory history_;                 // thread-safe itself
};

}  // namespace stationsync
