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
  const std::string message = nlohmann::json{
      {"node", replica_.node()},
      {"changed", changed},
      {"records", replica_.record_count()},
      {"last_seq",
       replica_.last_seq()}}.dump();
  // Never blocks: PUB drops what a subscriber cannot take.
  socket_.send(zmq::buffer(message), zmq::send_flags::dontwait).has_value();
}

}  // namespace stationsync
