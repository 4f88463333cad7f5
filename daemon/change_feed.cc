// See change_feed.h.
#include "daemon/change_feed.h"

#include <nlohmann/json.hpp>

#include "sync/transport/transport.h"

namespace stationsync {

ChangeFeed::ChangeFeed(zmq::context_t& context, std::string endpoint, const Replica& replica)
    : socket_(context, zmq::socket_type::pub), endpoint_(std::move(endpoint)), replica_(replica) {}

Status ChangeFeed::Bind() {
  socket_.set(zmq::sockopt::linger, 0);
  // A subscriber that stops reading costs at most this many queued messages; then PUB drops.
  socket_.set(zmq::sockopt::sndhwm, 1000);
  return BindLocal(socket_, endpoint_, "change feed endpoint");
}

void ChangeFeed::PublishIfChanged() {
  const uint64_t changed = replica_.changed_total();
  if (changed == published_) return;
  published_ = changed;
  nlohmann::json announcement;
  announcement["node"] = replica_.node();
  announcement["changed"] = changed;
  announcement["records"] = replica_.record_count();
  announcement["last_seq"] = replica_.last_seq();
  // Never blocks: PUB drops what a subscriber cannot take, and the next message makes up for it.
  const std::string message = announcement.dump();
  (void)socket_.send(zmq::buffer(message), zmq::send_flags::dontwait);
}

}  // namespace stationsync
