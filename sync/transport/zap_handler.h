// The hub's ZAP handler (ZeroMQ RFC 27): libzmq asks it, for every CURVE handshake on a socket
// of the same context whose ZAP domain is set, whether the client's public key may connect.
//
// Invariants:
//  1. It is bound to inproc://zeromq.zap.01 before any socket that needs it binds; together with
//     ZMQ_ZAP_ENFORCE_DOMAIN on those sockets, a handshake fails when no handler answers
//     (libzmq 4.3.4 otherwise admits any key).
//  2. Only CURVE requests of our domain, with a 32-byte key that `admit` knows, get 200; the
//     User-Id of an admitted connection is the key in Z85, so every message of it names the key
//     it authenticated with (the hub maps the key to a unit on each message, so a key revoked or
//     rotated meanwhile speaks for no one).
//  3. Every request gets exactly one reply, and a request whose shape is wrong is refused.
// One thread: the caller's loop polls socket() and calls ServeReady().
#pragma once

#include <functional>
#include <string>

#include <zmq.hpp>

#include "sync/base/status.h"

namespace stationsync {

inline constexpr char kZapEndpoint[] = "inproc://zeromq.zap.01";
inline constexpr char kSyncZapDomain[] = "stationsync";
// libzmq's ZMQ_ZAP_ENFORCE_DOMAIN, hidden by Debian's header (it is a draft there), accepted by
// the library: with it a socket fails closed when no ZAP handler answers.
inline constexpr int kZmqZapEnforceDomain = 93;

class ZapHandler {
 public:
  // Decides one handshake: the client's public key (Z85) -> "" to admit it, or the reason it is
  // refused (for the counter and the log).
  using Admit = std::function<std::string(const std::string& public_key_z85)>;

  ZapHandler(zmq::context_t& context, Admit admit);

  // Binds the handler's endpoint. kUnavailable if another handler is bound in this context.
  Status Bind();
  // Answers every request waiting, without blocking. Returns how many it answered.
  int ServeReady();
  zmq::socket_t& socket() { return socket_; }

 private:
  zmq::socket_t socket_;
  Admit admit_;
};

}  // namespace stationsync
