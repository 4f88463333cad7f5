// Serves the local API (schema/api.capnp) on a ZeroMQ ROUTER socket, on the daemon's one thread.
//
// Group commit: each turn of the loop drains every request already waiting (up to
// kDrainRequestsMax) and commits all the writes among them in one durable batch; a response to a
// write is sent only after that batch is durable. Requests are answered in the order they
// arrived, so a client's read that follows its write sees it.
//
// Untrusted input: a malformed frame or message is logged and answered with kInvalid where it
// can be; it never stops the loop.
//
// Scope (role "station"): writes to units and to records of other units are refused with
// kRefused before they reach the replica (sync/write_scope.h). The hub writes anything.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "sync/api_codec.h"
#include "sync/replica.h"
#include "sync/status.h"
#include "sync/sync_status.h"

namespace stationsync {

inline constexpr size_t kDrainRequestsMax = 512;
inline constexpr size_t kBatchItemsMax = 10000;

class ApiServer {
 public:
  // `context` and `replica` are borrowed and must outlive the server. `role` is "station" or
  // "hub". `sync_status` reports the sync links for `syncctl status`, on this server's thread;
  // empty: a station without a hub link (not connected, every local change pending).
  ApiServer(zmq::context_t& context, std::string endpoint, Replica& replica, std::string role,
            std::function<SyncStatus()> sync_status = {});

  // kInvalid if the endpoint is malformed, kUnavailable if it cannot be bound.
  Status Bind();
  // For the daemon's loop (daemon/run_node.h), which waits on socket(): serves every request
  // waiting on socket() now; true if local writes were committed (so the sync link has news).
  bool ServeReady();
  zmq::socket_t& socket() { return socket_; }

 private:
  struct Pending {
    zmq::message_t routing_id;
    ApiRequest request;
  };

  void ServeTurn();
  void FlushWrites(std::vector<Pending>& writes);
  // The write a request asks for, or why it may not be made (for a batch, `failed_op` names the
  // item refused).
  Result<WriteRequest> ToWrite(const ApiRequest& request, size_t& failed_op) const;
  ApiResponse HandleRead(const ApiRequest& request);
  Result<NodeStatus> CurrentStatus() const;
  bool is_hub() const { return role_ == "hub"; }
  void Reply(zmq::message_t& routing_id, const ApiResponse& response);

  std::string endpoint_;
  Replica& replica_;
  std::string role_;
  std::function<SyncStatus()> sync_status_;
  zmq::socket_t socket_;
};

}  // namespace stationsync
