// The thin ZeroMQ edge of sync: sockets, frames and the wire codec, nothing else. The sessions
// (hub.h, station_session.h) decide what to send and when; a transport only moves bytes.
//
//  - StationTransport: a DEALER connected to the hub. A new link gets a new socket, so nothing
//    queued for an old connection is ever delivered on the new one.
//  - HubTransport: a ROUTER bound for all stations. ROUTER_MANDATORY makes a send to a peer that
//    is gone fail (and be dropped) instead of being discarded silently.
// Both drop a message they cannot send at once (full queue, peer gone): the sessions resend
// whatever is not acknowledged. Malformed frames are logged and dropped, never fatal.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "sync/status.h"
#include "sync/sync_message.h"

namespace stationsync {

inline constexpr int kSyncQueueMessages = 1000;  // send/receive high-water marks

// Binds or connects `socket`, mapping failures to kInvalid (malformed endpoint) or kUnavailable.
Status Attach(zmq::socket_t& socket, const std::string& endpoint, bool bind,
              const std::string& what);

class StationTransport {
 public:
  StationTransport(zmq::context_t& context, std::string hub_endpoint);

  // A fresh socket for a new link. kInvalid if the endpoint is malformed.
  Status Reconnect();
  void Send(const std::vector<SyncMessage>& messages);
  // The next message waiting, if any (nullopt: none; an undecodable one is logged and skipped).
  std::optional<SyncMessage> Receive();
  zmq::socket_t* socket() { return socket_ ? &*socket_ : nullptr; }

 private:
  zmq::context_t& context_;
  std::string endpoint_;
  std::optional<zmq::socket_t> socket_;
};

class HubTransport {
 public:
  HubTransport(zmq::context_t& context, std::string endpoint);

  Status Bind();
  void Send(const std::string& peer, const SyncMessage& message);
  struct Incoming {
    std::string peer;
    SyncMessage message;
  };
  std::optional<Incoming> Receive();
  zmq::socket_t& socket() { return socket_; }

 private:
  std::string endpoint_;
  zmq::socket_t socket_;
};

}  // namespace stationsync
