// syncd's HTTP server (cpp-httplib): the operators' routes, the dashboard and the app API, on
// threads of its own. It reads the replica (thread-safe reads) and the loop's NodeState; it never
// touches the sync sessions, the transport or the API server, which belong to the loop's thread.
// The app API's requests reach the loop as the API socket's do: as ApiRequests over inproc://
// to the ApiServer (api_bridge.h), so writes take the loop's validation, scope rules and group
// commit, and are answered only once durable.
//
// Routes:
//   /healthz  200 {"healthy":true,"loop_age_ms":N} while the loop turns; 503 with "reason" once
//             it has not turned for kLoopStaleMs.
//   /readyz   200 {"ready":true} once the store answers a read and (station) it has linked to
//             the hub at least once (NodeSnapshot::hub_linked_once); else 503 with "reason".
//   /status   the JSON of `syncctl status --json` (StatusJson of MakeNodeStatus).
//   /metrics  Prometheus text format (metrics.h).
//   /         the dashboard (dashboard_page.h): one self-contained page, no outside assets.
//   /dashboard.json  what the page polls (dashboard_json.h); ?history_after=N&events_after=N.
//   /v1/records/...  the app API (record_routes.h).
// Bound to loopback, every route first checks the Host header against loopback's names and the
// bound port (AllowedHostHeaders, against DNS rebinding): any other Host, or none, answers 421
// {"error","field":"Host"}. Bound elsewhere, the token rule below protects every route instead.
// With tokens (HttpConfig::tokens), every route needs "Authorization: Bearer <token>", compared
// in constant time (BLAKE2b of both, sodium_memcmp), or answers 401. Anything else answers 404.
// Every error has a JSON body {"error": ...}.
//
// Bounds: kHttpThreads request threads (a keep-alive connection holds one while it waits for its
// next request, up to httplib's keep-alive timeout), kHttpTimeoutSeconds per read and write,
// request bodies of at most kHttpRequestBytesMax (413 beyond); the per-table record counts are
// read at most every kTableCountsMaxAgeMs.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "daemon/http/api_bridge.h"
#include "daemon/http/http_config.h"
#include "daemon/http/node_state.h"
#include "daemon/http/recent_events.h"
#include "sync/base/status.h"
#include "sync/codec/api_codec.h"
#include "sync/storage/replica.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace stationsync {

// Eight app clients writing at once, and the dashboard and a scraper beside them.
inline constexpr size_t kHttpThreads = 12;
// Every request thread can hold a bridge client without waiting for another's.
static_assert(kHttpThreads <= kBridgeClientsMax);
inline constexpr int kHttpTimeoutSeconds = 5;
inline constexpr size_t kHttpRequestBytesMax = 64 * 1024;
inline constexpr uint64_t kTableCountsMaxAgeMs = 10'000;

class HttpServer {
 public:
  // `replica`, `state`, `context` and `events` are borrowed and must outlive the server. `role`:
  // "station" or "hub". `context` is the one in which the loop's ApiServer bound
  // kInProcessApiEndpoint (ApiServer::BindInProcess). `events` may be null (no audit lines).
  HttpServer(HttpConfig config, const Replica& replica, std::string role, const NodeState& state,
             zmq::context_t& context, const RecentEventsSink* events);
  // Stops serving and joins the server's threads.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds the address and starts serving. kUnavailable, naming the address and --http, if it
  // cannot be bound (taken by another process, or not an address of this machine).
  Status Start();

 private:
  using TokenHash = std::array<unsigned char, 32>;

  bool HostAllowed(const httplib::Request& request) const;
  bool Authorized(const httplib::Request& request) const;
  void ServeHealth(httplib::Response& response) const;
  void ServeReady(httplib::Response& response) const;
  // The loop's latest snapshot and the node's status, or nullopt once `response` says why not
  // (503: the node is starting, or its store cannot be read).
  struct Observed {
    NodeSnapshot snapshot;
    NodeStatus status;
  };
  std::optional<Observed> Observe(httplib::Response& response) const;
  void ServeStatus(httplib::Response& response) const;
  void ServeMetrics(httplib::Response& response);
  void ServeDashboardPage(httplib::Response& response) const;
  void ServeDashboardJson(const httplib::Request& request, httplib::Response& response) const;
  // An app API request (record_routes.h): checked, handed to the loop, answered.
  // `history`: the .../{id}/history route.
  void ServeRecords(const httplib::Request& request, httplib::Response& response, bool history);
  std::map<Table, uint64_t> StoredByTable();

  HttpConfig config_;
  const Replica& replica_;
  std::string role_;
  const NodeState& state_;
  const RecentEventsSink* events_;
  ApiBridge bridge_;
  std::vector<std::string> allowed_hosts_;  // AllowedHostHeaders; empty: any Host
  std::vector<TokenHash> token_hashes_;
  std::unique_ptr<httplib::Server> server_;
  std::thread listener_;

  std::mutex counts_mutex_;           // the request threads share the cached counts
  std::map<Table, uint64_t> counts_;  // under counts_mutex_
  uint64_t counts_at_ms_ = 0;         // under counts_mutex_; 0: never read
};

}  // namespace stationsync
