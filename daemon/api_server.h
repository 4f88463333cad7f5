// Serves the local API (schema/api.capnp) on a ZeroMQ ROUTER socket, on the daemon's one thread.
//
// Group commit: each turn of the loop drains every request already waiting (up to
// kDrainRequestsMax) and commits all the writes among them in one durable batch; a response to a
// write is sent only after that batch is durable. Requests are answered in the order they
// arrived, so a client's read that follows its write sees it.
//
// Untrusted input: a malformed frame or message is logged and answered with kInvalid where it
// can be; it never stops the loop.
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "sync/api_codec.h"
#include "sync/replica.h"
#include "sync/status.h"

namespace stationsync {

inline constexpr size_t kDrainRequestsMax = 512;
inline constexpr size_t kBatchItemsMax = 10000;
inline constexpr int kPollIntervalMs = 100;

class ApiServer {
 public:
  // `context` and `replica` are borrowed and must outlive the server.
  ApiServer(zmq::context_t& context, std::string endpoint, Replica& replica, std::string role);

  // kInvalid if the endpoint is malformed, kUnavailable if it cannot be bound.
  Status Bind();
  // Serves until `stop` is true (checked every kPollIntervalMs).
  void Run(const std::atomic<bool>& stop);

 private:
  struct Pending {
    zmq::message_t routing_id;
    ApiRequest request;
  };

  void ServeTurn();
  void FlushWrites(std::vector<Pending>& writes);
  ApiResponse HandleRead(const ApiRequest& request);
  void Reply(zmq::message_t& routing_id, const ApiResponse& response);

  std::string endpoint_;
  Replica& replica_;
  std::string role_;
  zmq::socket_t socket_;
};

}  // namespace stationsync
