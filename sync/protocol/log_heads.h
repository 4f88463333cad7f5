// The tail of the hub's log as heads (Replica::ChangeHeadsAfter), read once for all of the hub's
// sessions. Each session used to read the heads of every new entry itself, so with 100 stations
// linked one write at the hub cost 100 log reads; now it costs one, and each session filters
// the shared heads by its scope.
//
// Invariants: the cached heads have consecutive sequence numbers (the log is dense) ending at
// most at the replica's last_seq (durable entries only); at most `kept` are held, the newest. A
// session further behind than the cache reads the replica directly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "sync/base/status.h"
#include "sync/storage/replica.h"

namespace stationsync {

class LogHeads {
 public:
  static constexpr size_t kDefaultKept = 8192;
  // `replica` is borrowed and must outlive this.
  explicit LogHeads(const Replica& replica, size_t kept = kDefaultKept);

  // Up to `max` heads with seq > after, in order (as Replica::ChangeHeadsAfter).
  Result<std::vector<Change>> After(uint64_t after, size_t max);

 private:
  // Reads the entries the replica made durable since the last call.
  Status CatchUp();

  const Replica& replica_;
  size_t kept_;
  std::deque<Change> tail_;
};

}  // namespace stationsync
