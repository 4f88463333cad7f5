// See http_server.h.
#include "daemon/http/http_server.h"

#include <algorithm>
#include <cassert>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>

#include <fmt/format.h>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <sodium.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include "daemon/http/dashboard_json.h"
#include "daemon/http/dashboard_page.h"
#include "daemon/http/metrics.h"
#include "daemon/http/record_routes.h"
#include "daemon/node_status.h"
#include "sync/base/log_guard.h"
#include "sync/codec/status_json.h"

namespace stationsync {
namespace {

constexpr int kHttpStartWaitMs = 5000;
constexpr char kJson[] = "application/json";
constexpr char kPrometheusText[] = "text/plain; version=0.0.4; charset=utf-8";
// The app API's routes. Segments are bounded so that std::regex (recursive in libstdc++) never
// walks a long hostile path: a table name or id longer than this is no route (404).
constexpr char kRecordRoute[] = R"(/v1/records/([^/]{1,64})/([^/]{1,64}))";
constexpr char kHistoryRoute[] = R"(/v1/records/([^/]{1,64})/([^/]{1,64})/history)";
constexpr char kTableRoute[] = R"(/v1/records/([^/]{1,64}))";

void Json(httplib::Response& response, int code, const nlohmann::ordered_json& body) {
  response.status = code;
  response.set_content(DumpJson(body) + "\n", kJson);
}

// An unsigned query parameter, or 0 when absent or not a number.
uint64_t QueryNumber(const httplib::Request& request, const char* name) {
  const std::string text = request.get_param_value(name);
  uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size() ? value : 0;
}

// SO_REUSEADDR only: httplib's default adds SO_REUSEPORT, which would let a second syncd bind
// the same port instead of failing.
void ReuseAddressOnly(int socket) {
  int yes = 1;
  ::setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
}

}  // namespace

HttpServer::HttpServer(HttpConfig config, const Replica& replica, std::string role,
                       const NodeState& state, zmq::context_t& context,
                       const RecentEventsSink* events)
    : config_(std::move(config)),
      replica_(replica),
      role_(std::move(role)),
      state_(state),
      events_(events),
      bridge_(context, kInProcessApiEndpoint),
      allowed_hosts_(AllowedHostHeaders(config_)),
      server_(std::make_unique<httplib::Server>()) {
  for (const std::string& token : config_.tokens) {
    TokenHash& hash = token_hashes_.emplace_back();
    crypto_generichash(hash.data(), hash.size(),
                       reinterpret_cast<const unsigned char*>(token.data()), token.size(), nullptr,
                       0);
  }
}

HttpServer::~HttpServer() {
  // The loop no longer answers: calls in flight end now instead of at the bridge's timeout, so
  // stop() below does not wait for them (api_bridge.h).
  bridge_.Shutdown();
  server_->stop();
  if (listener_.joinable()) listener_.join();
}

Status HttpServer::Start() {
  assert(config_.enabled);
  httplib::Server& server = *server_;
  server.new_task_queue = [] { return new httplib::ThreadPool(kHttpThreads); };
  server.set_socket_options(ReuseAddressOnly);
  server.set_read_timeout(kHttpTimeoutSeconds, 0);
  server.set_write_timeout(kHttpTimeoutSeconds, 0);
  server.set_payload_max_length(kHttpRequestBytesMax);
  // An answer's headers and body leave in two writes: with Nagle's algorithm the second waits
  // for the client's delayed ACK (40 ms), which capped one keep-alive client at ~12 requests/s.
  server.set_tcp_nodelay(true);
  server.set_pre_routing_handler([this](const httplib::Request& request,
                                        httplib::Response& response) {
    if (!HostAllowed(request)) {
      Json(response, 421,
           {{"error", fmt::format("Host {} is not this server's: ask for http://{}/ (a "
                                  "loopback server answers only to loopback's names)",
                                  Clip(request.get_header_value("Host"), 100), config_.address())},
            {"field", "Host"}});
      return httplib::Server::HandlerResponse::Handled;
    }
    if (Authorized(request)) return httplib::Server::HandlerResponse::Unhandled;
    response.set_header("WWW-Authenticate", "Bearer");
    Json(response, 401, {{"error", "this route needs Authorization: Bearer <token>"}});
    return httplib::Server::HandlerResponse::Handled;
  });
  server.Get("/healthz", [this](const httplib::Request&, httplib::Response& r) { ServeHealth(r); });
  server.Get("/readyz", [this](const httplib::Request&, httplib::Response& r) { ServeReady(r); });
  server.Get("/status", [this](const httplib::Request&, httplib::Response& r) { ServeStatus(r); });
  server.Get("/metrics",
             [this](const httplib::Request&, httplib::Response& r) { ServeMetrics(r); });
  server.Get("/", [this](const httplib::Request&, httplib::Response& r) { ServeDashboardPage(r); });
  server.Get("/dashboard.json",
             [this](const httplib::Request& q, httplib::Response& r) { ServeDashboardJson(q, r); });
  auto records = [this](const httplib::Request& q, httplib::Response& r) {
    ServeRecords(q, r, /*history=*/false);
  };
  server.Get(kHistoryRoute, [this](const httplib::Request& q, httplib::Response& r) {
    ServeRecords(q, r, /*history=*/true);
  });
  server.Get(kRecordRoute, records);
  server.Get(kTableRoute, records);
  server.Put(kRecordRoute, records);
  server.Delete(kRecordRoute, records);
  // httplib's own refusals (no route, a body over the bound, a malformed request) get a JSON
  // body too; answers that already have one keep it.
  server.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request& request,
                                                                   httplib::Response& response) {
    if (!response.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    std::string error;
    if (response.status == 404) {
      error =
          fmt::format("no such route: {} {}", Clip(request.method, 16), Clip(request.path, 200));
    } else if (response.status == 413) {
      error = fmt::format("the request body is over {} bytes", kHttpRequestBytesMax);
    } else {
      error = fmt::format("HTTP {}", response.status);
    }
    Json(response, response.status, {{"error", error}});
    return httplib::Server::HandlerResponse::Handled;
  }));
  server.set_exception_handler(
      [](const httplib::Request& request, httplib::Response& response, std::exception_ptr error) {
        std::string what = "unknown";
        try {
          std::rethrow_exception(error);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        spdlog::error("http: {} {}: {}", request.method, request.path, what);
        Json(response, 500, {{"error", what}});
      });
  errno = 0;
  if (!server.bind_to_port(config_.host, config_.port)) {
    const int error = errno;
    return Unavailable(fmt::format(
        "--http {}: cannot listen there ({}): give each node on this machine its own --http "
        "HOST:PORT, or pass --http off",
        config_.address(), error == 0 ? "not an address of this machine?" : std::strerror(error)));
  }
  listener_ = std::thread([&server] { server.listen_after_bind(); });
  // stop() is a no-op until the listener runs: wait for it, so the destructor cannot hang.
  for (int waited_ms = 0; !server.is_running() && waited_ms < kHttpStartWaitMs; ++waited_ms) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!server.is_running()) {
    return Internal(fmt::format("--http {}: the server did not start", config_.address()));
  }
  spdlog::info(
      "http: serving the dashboard (/), /healthz /readyz /status /metrics and the app "
      "API (/v1/records) on {}{}",
      config_.address(), token_hashes_.empty() ? "" : " (bearer tokens required)");
  return Status::Ok();
}

bool HttpServer::HostAllowed(const httplib::Request& request) const {
  if (allowed_hosts_.empty()) return true;
  std::string host = request.get_header_value("Host");
  std::transform(host.begin(), host.end(), host.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return std::find(allowed_hosts_.begin(), allowed_hosts_.end(), host) != allowed_hosts_.end();
}

bool HttpServer::Authorized(const httplib::Request& request) const {
  if (token_hashes_.empty()) return true;
  const std::string header = request.get_header_value("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (!header.starts_with(kBearer)) return false;
  const std::string_view token = std::string_view(header).substr(kBearer.size());
  TokenHash presented;
  crypto_generichash(presented.data(), presented.size(),
                     reinterpret_cast<const unsigned char*>(token.data()), token.size(), nullptr,
                     0);
  bool match = false;
  for (const TokenHash& hash : token_hashes_) {  // every one compared: no early exit
    match |= sodium_memcmp(presented.data(), hash.data(), hash.size()) == 0;
  }
  return match;
}

void HttpServer::ServeHealth(httplib::Response& response) const {
  const uint64_t beat = state_.last_beat_ms();
  const uint64_t now = SteadyNowMs();
  const uint64_t age_ms = now - std::min(now, beat);
  if (!LoopAlive(beat, now)) {
    Json(response, 503,
         {{"healthy", false},
          {"reason", beat == 0 ? std::string("the loop has not started")
                               : fmt::format("the loop has not turned for {} ms", age_ms)}});
    return;
  }
  Json(response, 200, {{"healthy", true}, {"loop_age_ms", age_ms}});
}

void HttpServer::ServeReady(httplib::Response& response) const {
  const auto snapshot = state_.Snapshot();
  std::string reason;
  if (!snapshot) {
    reason = "the node is starting";
  } else if (auto read = replica_.Get(Table::kUnit, replica_.unit()); !read.ok()) {
    reason = "the store cannot be read: " + read.status().message();
  } else if (role_ != "hub" && !snapshot->hub_linked_once) {
    reason = snapshot->hub_configured ? "not linked to the hub yet"
                                      : "no hub configured (--hub): a station is ready once it "
                                        "has linked to its hub";
  }
  if (!reason.empty()) {
    Json(response, 503, {{"ready", false}, {"reason", reason}});
    return;
  }
  Json(response, 200, {{"ready", true}});
}

std::optional<HttpServer::Observed> HttpServer::Observe(httplib::Response& response) const {
  auto snapshot = state_.Snapshot();
  if (!snapshot) {
    Json(response, 503, {{"error", "the node is starting"}});
    return std::nullopt;
  }
  auto status = MakeNodeStatus(replica_, role_, snapshot->sync);
  if (!status.ok()) {
    Json(response, 503, {{"error", status.status().ToString()}});
    return std::nullopt;
  }
  return Observed{std::move(*snapshot), std::move(status).value()};
}

void HttpServer::ServeStatus(httplib::Response& response) const {
  if (auto observed = Observe(response)) Json(response, 200, StatusJson(observed->status));
}

void HttpServer::ServeMetrics(httplib::Response& response) {
  auto observed = Observe(response);
  if (!observed) return;
  const NodeSnapshot* snapshot = &observed->snapshot;
  MetricsInput input;
  input.status = std::move(observed->status);
  input.stored_by_table = StoredByTable();
  input.store = replica_.Sizes();
  input.write_latency = snapshot->write_latency;
  input.wal_sync_latency = snapshot->wal_sync_latency;
  const uint64_t now = SteadyNowMs();
  input.loop_age_ms = now - std::min(now, state_.last_beat_ms());
  response.status = 200;
  response.set_content(FormatMetrics(input), kPrometheusText);
}

std::map<Table, uint64_t> HttpServer::StoredByTable() {
  std::lock_guard lock(counts_mutex_);
  const uint64_t now = SteadyNowMs();
  if (counts_at_ms_ != 0 && now - counts_at_ms_ < kTableCountsMaxAgeMs) return counts_;
  auto counts = replica_.CountStoredByTable();
  if (!counts.ok()) {
    spdlog::warn("http: {}", counts.status().ToString());
    return {};
  }
  counts_ = std::move(counts).value();
  counts_at_ms_ = now;
  return counts_;
}

}  // namespace stationsync

namespace stationsync {

void HttpServer::ServeDashboardPage(httplib::Response& response) const {
  response.status = 200;
  // Everything the page needs is in it: no script, style or font from anywhere else may load.
  response.set_header("Content-Security-Policy",
                      "default-src 'none'; script-src 'unsafe-inline'; style-src "
                      "'unsafe-inline'; connect-src 'self'; img-src 'self' data:");
  response.set_header("X-Content-Type-Options", "nosniff");
  response.set_header("Cache-Control", "no-store");
  response.set_content(std::string(DashboardPage()), "text/html; charset=utf-8");
}

void HttpServer::ServeDashboardJson(const httplib::Request& request,
                                    httplib::Response& response) const {
  auto observed = Observe(response);
  if (!observed) return;
  DashboardInput input;
  input.status = std::move(observed->status);
  input.sync = std::move(observed->snapshot.sync);
  if (auto conflicts = replica_.OpenConflicts(); conflicts.ok()) {
    input.conflicts = std::move(conflicts).value();
  }
  if (events_ != nullptr) input.events = events_->Recent(QueryNumber(request, "events_after"));
  input.history = state_.history().Since(QueryNumber(request, "history_after"), SteadyNowMs());
  input.now_wall_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  response.set_header("Cache-Control", "no-store");
  Json(response, 200, DashboardJson(input));
}

void HttpServer::ServeRecords(const httplib::Request& request, httplib::Response& response,
                              bool history) {
  RecordRoute route;
  route.method = request.method == "HEAD" ? "GET" : request.method;
  route.table = request.matches.size() > 1 ? request.matches[1].str() : "";
  route.id = request.matches.size() > 2 ? request.matches[2].str() : "";
  route.history = history;
  // The URL's query only: httplib also puts a form-encoded body's pairs into params, and a body
  // of JSON sent as curl -d (x-www-form-urlencoded) must not turn into query parameters.
  if (const size_t mark = request.target.find('?'); mark != std::string::npos) {
    httplib::Params params;
    httplib::detail::parse_query_text(request.target.substr(mark + 1), params);
    route.query.insert(params.begin(), params.end());
  }
  if (request.has_header("X-Actor")) route.actor = request.get_header_value("X-Actor");
  route.body = request.body;
  auto asked = ToApiRequest(route);
  if (auto* refusal = std::get_if<HttpAnswer>(&asked)) {
    Json(response, refusal->status, refusal->body);
    return;
  }
  const ApiRequest& api_request = std::get<ApiRequest>(asked);
  const HttpAnswer answer = ToHttpAnswer(route, api_request, bridge_.Call(api_request));
  if (answer.status == 403) {
    // A refusal is an audit line (recent_events.h); an app cannot flood the log with them.
    PeerLog().Warn("http-refused", "audit: refused {} {} {} by {} over HTTP: {}", route.method,
                   route.table, route.id, Clip(route.actor.value_or("(no actor)"), 40),
                   answer.body.value("error", ""));
  }
  Json(response, answer.status, answer.body);
}

}  // namespace stationsync
