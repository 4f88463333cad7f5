// Hands the HTTP app API's requests (record_routes.h) from the HTTP server's threads to the
// daemon's loop, which owns the replica and the ApiServer: each request goes as an ApiRequest
// over inproc:// to the ApiServer's own socket (ApiServer::BindInProcess), so it takes the very
// path of `syncctl put/get/delete/list/history` (validation, scope, group commit, and an answer
// to a write only once it is durable). Nothing here reads or writes the replica.
//
// Threads: Call() is safe from any thread. Each call borrows one ApiClient (a DEALER socket)
// from a pool for its duration, so a socket is used by one thread at a time; the pool's mutex
// hands sockets between threads with the memory barrier ZeroMQ asks for.
// Invariants: 1. at most kBridgeClientsMax clients exist (a caller beyond that waits for one,
// at most the timeout); 2. a client whose call timed out or was cancelled has dropped its socket
// (ApiClient), so a late answer to it is never read as the answer to a later request; 3. a
// borrowed client goes back to the pool however its call ends.
//
// Stop: the loop stops answering before the HTTP server joins its threads, so a call in flight
// would hold the daemon's stop for up to the whole timeout. Shutdown() (the server's first step
// when it stops) answers every call in flight and every later one with kUnavailable within
// ApiClient::kCancelCheckMs.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "sync/base/status.h"
#include "sync/codec/api_codec.h"
#include "sync/transport/api_client.h"

namespace stationsync {

// The inproc:// endpoint the loop's ApiServer binds for the HTTP server (one per process).
inline constexpr char kInProcessApiEndpoint[] = "inproc://stationsync-api";
// Concurrent requests in flight to the loop (the HTTP server has at most this many threads).
inline constexpr size_t kBridgeClientsMax = 16;
// How long a request may wait for the loop before the caller is told kUnavailable.
inline constexpr std::chrono::milliseconds kBridgeTimeout{10'000};

class ApiBridge {
 public:
  // `context` is borrowed: the one the ApiServer bound `endpoint` in; it must outlive the bridge.
  ApiBridge(zmq::context_t& context, std::string endpoint,
            std::chrono::milliseconds timeout = kBridgeTimeout);
  ApiBridge(const ApiBridge&) = delete;
  ApiBridge& operator=(const ApiBridge&) = delete;

  // The loop's answer to `request` (its id is assigned here), or kUnavailable when the loop did
  // not answer within the timeout (a write may then still be applied: read it back), when every
  // client stayed busy for the timeout, or once Shutdown() was called.
  Result<ApiResponse> Call(ApiRequest request);

  // Cuts every call short from now on (see Stop above). Idempotent; from any thread.
  void Shutdown();

 private:
  // A pooled client, or null when none came free within the timeout or the bridge shut down.
  std::unique_ptr<ApiClient> Borrow();
  void Return(std::unique_ptr<ApiClient> client);

  zmq::context_t& context_;
  std::string endpoint_;
  std::chrono::milliseconds timeout_;
  std::atomic<bool> stopping_{false};  // every client's cancel flag (ApiClient::SetCancel)
  std::mutex mutex_;
  std::condition_variable returned_;
  std::vector<std::unique_ptr<ApiClient>> idle_;  // under mutex_
  size_t created_ = 0;                            // under mutex_; at most kBridgeClientsMax
};

}  // namespace stationsync
