// The thin ZeroMQ edge of sync: sockets, frames, CURVE and the wire codec, nothing else. The
// sessions (hub.h, station_session.h) decide what to send and when; a transport only moves bytes.
//
//  - StationTransport: a DEALER connected to the hub. A new link gets a new socket, so nothing
//    queued for an old connection is ever delivered on the new one. Its routing id is 16 random
//    bytes per socket: under CURVE nobody else can learn it, so no other connection can take it
//    over at the hub's ROUTER while the hub still sends to it.
//  - HubTransport: a ROUTER bound for all stations. ROUTER_MANDATORY makes a send to a peer that
//    is gone fail (and be dropped) instead of being discarded silently. Under CURVE each message
//    carries the key its connection authenticated with (zap_handler.h), in Incoming::key.
// Both drop a message they cannot send at once (full queue, peer gone): the sessions resend
// whatever is not acknowledged. Malformed frames are counted and dropped, never fatal; frames over
// kMessageBytesMax are cut off by libzmq (ZMQ_MAXMSGSIZE) before they are read.
// Handshake failures are seen through a socket monitor: the hub counts them (plaintext or wrong
// mechanism), the station reports them (its key refused by the hub's ZAP handler).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "sync/base/status.h"
#include "sync/protocol/sync_message.h"
#include "sync/transport/curve_key.h"

namespace stationsync {

inline constexpr int kSyncQueueMessages = 1000;  // send/receive high-water marks
inline constexpr int kHandshakeMs = 5000;        // a connection must finish its handshake by then
inline constexpr int kReconnectMinMs = 100;      // libzmq's own reconnects back off from here ...
inline constexpr int kReconnectMaxMs = 5000;     // ... to here (a refused key retries slowly)

// How a node's sync link is secured.
struct LinkSecurity {
  bool insecure = false;       // plaintext, identity from Hello: only where asked for on purpose
  CurveKeyPair own;            // this node's key pair (unused when insecure)
  std::string hub_public_z85;  // station: the hub's public key (unused when insecure)
};

// Binds or connects `socket`, mapping failures to kInvalid (malformed endpoint) or kUnavailable.
Status Attach(zmq::socket_t& socket, const std::string& endpoint, bool bind,
              const std::string& what);

// Binds `socket` to a local endpoint (IsLoopbackEndpoint: kRefused otherwise, naming `what`). An
// ipc:// socket file is made 0660, this user and group (local applications, syncctl), as it is
// created: no moment where others may connect. Changes the umask for the call: bind before
// starting other threads.
Status BindLocal(zmq::socket_t& socket, const std::string& endpoint, const std::string& what);

// True if `endpoint` can only be reached from this machine: tcp:// on a loopback address
// (127.0.0.0/8, ::1, localhost), ipc:// or inproc://.
bool IsLoopbackEndpoint(const std::string& endpoint);

class HandshakeMonitor;

class StationTransport {
 public:
  StationTransport(zmq::context_t& context, std::string hub_endpoint, LinkSecurity security);
  ~StationTransport();

  // A fresh socket for a new link. kInvalid if the endpoint is malformed.
  Status Reconnect();
  void Send(const std::vector<SyncMessage>& messages);
  // The next message waiting, if any (nullopt: none; an undecodable one is logged and skipped).
  std::optional<SyncMessage> Receive();
  zmq::socket_t* socket() { return socket_ ? &*socket_ : nullptr; }
  // The newest handshake failure with the hub since the last call ("" if none), in words.
  std::string TakeHandshakeProblem();
  // Sends the last messages of a clean stop, giving them up to `linger` to leave (sync sockets
  // otherwise drop what is unsent when closed).
  void SendLast(const std::vector<SyncMessage>& messages, std::chrono::milliseconds linger);

 private:
  zmq::context_t& context_;
  std::string endpoint_;
  LinkSecurity security_;
  std::optional<zmq::socket_t> socket_;
  std::unique_ptr<HandshakeMonitor> monitor_;
  int sockets_made_ = 0;
};

class HubTransport {
 public:
  HubTransport(zmq::context_t& context, std::string endpoint, LinkSecurity security);
  ~HubTransport();

  // Binds the ROUTER. Under CURVE a ZapHandler must already be bound in the same context.
  Status Bind();
  void Send(const std::string& peer, const SyncMessage& message);
  struct Incoming {
    std::string peer;
    std::string key;  // the Z85 key the connection authenticated with ("" when insecure)
    zmq::message_t frame;
  };
  // The next single-frame message waiting, undecoded (nullopt: none). Messages of another shape
  // are dropped and counted.
  std::optional<Incoming> Receive();
  zmq::socket_t& socket() { return socket_; }
  // Connections that failed their handshake (no CURVE, wrong mechanism, bad key material) since
  // start, and the newest one's reason; ZAP refusals are counted by the ZAP handler's owner.
  uint64_t handshake_failures();
  const std::string& last_handshake_failure() const { return last_handshake_failure_; }

 private:
  std::string endpoint_;
  LinkSecurity security_;
  zmq::socket_t socket_;
  std::unique_ptr<HandshakeMonitor> monitor_;
  std::string last_handshake_failure_;
};

}  // namespace stationsync
