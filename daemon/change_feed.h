// The node's change feed: a ZeroMQ PUB socket (--feed, by default ipc://DATA/feed.sock; local like
// the API: ipc:// or loopback TCP), on which syncd announces each durable commit that changed
// records, whether an officer's write or a peer's batch. Applications (and syncbench's latency
// figures) learn that something changed without polling the API.
//
// Each message is one frame of JSON:
//   {"node":"P01","changed":N,"records":R,"last_seq":S}
// `changed` counts the records changed by commits since this syncd started (stored, evicted,
// repaired), `records` is the live record count and `last_seq` the change log's end, all as of
// the commit just made. PUB drops messages for a subscriber that is not connected or too slow:
// the counts are cumulative, so the next message says what a missed one would have. Announces
// only; read what changed through the API.
#pragma once

#include <cstdint>
#include <string>

#include <zmq.hpp>

#include "sync/base/status.h"
#include "sync/storage/replica.h"

namespace stationsync {

class ChangeFeed {
 public:
  ChangeFeed(zmq::context_t& context, std::string endpoint, const Replica& replica);
  // Before other threads start (BindLocal sets the umask).
  Status Bind();
  // Announces the replica's counts if it changed records since the last announcement; an atomic
  // read otherwise. Call it after anything that may commit.
  void PublishIfChanged();
  const std::string& endpoint() const { return endpoint_; }

 private:
  zmq::socket_t socket_;
  std::string endpoint_;
  const Replica& replica_;
  uint64_t published_ = 0;  // changed_total() as last announced
};

}  // namespace stationsync
