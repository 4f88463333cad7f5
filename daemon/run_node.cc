// See run_node.h.
#include "daemon/run_node.h"

#include <array>
#include <chrono>
#include <map>
#include <memory>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include "daemon/api_server.h"
#include "daemon/backup.h"
#include "daemon/change_feed.h"
#include "daemon/data_dir_lock.h"
#include "daemon/http/http_server.h"
#include "daemon/http/node_state.h"
#include "daemon/http/recent_events.h"
#include "daemon/systemd_notify.h"
#include "daemon/verify_runner.h"
#include "daemon/wal_sync_timing.h"
#include "sync/base/json_log.h"
#include "sync/base/log_guard.h"
#include "sync/codec/sync_codec.h"
#include "sync/protocol/hub.h"
#include "sync/protocol/station_session.h"
#include "sync/storage/replica.h"
#include "sync/transport/curve_key.h"
#include "sync/transport/transport.h"
#include "sync/transport/zap_handler.h"

namespace stationsync {

namespace {

constexpr int kMessagesPerTurn = 256;  // sync messages handled between polls of the API
// How long a stopping station's goodbye may take to leave; a hub that is gone costs no more.
constexpr std::chrono::milliseconds kGoodbyeLinger{200};

// Milliseconds of a monotonic clock: session timers must not jump with the wall clock.
uint64_t NowMs() {
  return SteadyNowMs();
}

// Verify tokens of verifies the hub ordered (the others are the API's).
constexpr uint64_t kHubOrderedVerify = uint64_t{1} << 63;
// How long the hub waits for a station's report of a verify it ordered.
constexpr uint64_t kVerifyOrderTimeoutMs = 15 * 60 * 1000;

VerifyResult ToVerifyResult(uint64_t request, const Result<VerifyReport>& result) {
  VerifyResult out;
  out.request = request;
  if (!result.ok()) {
    out.error = result.status().message();
    return out;
  }
  out.report = *result;
  out.difference_count = out.report.differences.size();
  if (out.report.differences.size() > kVerifyResultDifferencesMax) {
    out.report.differences.resize(kVerifyResultDifferencesMax);
    out.report.truncated = true;
  }
  return out;
}

int Fail(const Status& status) {
  spdlog::critical("{}", status.ToString());
  return ExitCode(status.code());
}

// Waits up to kTickMs for any of the sockets to be readable (a null one is skipped). Returns
// which are, in the same order.
template <size_t N>
std::array<bool, N> Poll(const std::array<zmq::socket_t*, N>& sockets) {
  std::array<zmq::pollitem_t, N> items{};
  size_t used = 0;
  for (zmq::socket_t* socket : sockets) {
    if (socket != nullptr) items[used++] = {socket->handle(), 0, ZMQ_POLLIN, 0};
  }
  std::array<bool, N> ready{};
  try {
    zmq::poll(items.data(), used, std::chrono::milliseconds(kTickMs));
  } catch (const zmq::error_t& e) {
    if (e.num() != EINTR) spdlog::error("poll: {}", e.what());
    return ready;
  }
  used = 0;
  for (size_t i = 0; i < N; ++i) {
    if (sockets[i] != nullptr) ready[i] = (items[used++].revents & ZMQ_POLLIN) != 0;
  }
  return ready;
}

// The sync link's security from the flags: CURVE with this node's pair (made on first start),
// or plaintext when asked for. A station's hub key is checked here too.
Result<LinkSecurity> SecurityFor(const NodeFlags& flags) {
  LinkSecurity security;
  security.insecure = flags.insecure;
  if (flags.insecure) return security;
  auto pair = flags.key.empty() ? LoadOrCreateNodeCertificate(flags.data)
                                : LoadSecretCertificate(flags.key);
  if (!pair.ok()) {
    return Status(pair.status().code() == Code::kNotFound ? Code::kInvalid : pair.status().code(),
                  "--key: " + pair.status().message());
  }
  security.own = std::move(pair).value();
  if (!flags.hub_key.empty()) {
    auto hub_key = ParsePublicKey(flags.hub_key);
    if (!hub_key.ok()) return Invalid("--hub-key: " + hub_key.status().message());
    security.hub_public_z85 = std::move(hub_key).value();
  }
  return security;
}

// A backup holds the key pair the node runs with (its own or --key's), so that a node restored
// from it keeps its identity.
BackupSource BackupSourceFor(const NodeFlags& flags, const LinkSecurity& security) {
  BackupSource source{.data_dir = flags.data,
                      .key_pair = std::nullopt,
                      .test_copy = TEST_BackupCopyFromEnvironment()};
  if (!security.insecure) source.key_pair = security.own;
  return source;
}

// Opened storage and API, shared by both roles. The replica is declared last: it is destroyed
// first, before the file system and Env it uses.
struct NodeBase {
  std::unique_ptr<DataDirLock> lock;
  LinkSecurity security;
  std::unique_ptr<Clock> clock;
  std::shared_ptr<WalSyncTimingFileSystem> file_system;
  std::unique_ptr<rocksdb::Env> env;  // RocksDB's Env over file_system
  std::unique_ptr<Replica> replica;
};

Result<NodeBase> OpenNode(const NodeFlags& flags, const std::string& node) {
  NodeBase base;
  auto lock = DataDirLock::Acquire(flags.data);
  if (!lock.ok()) return lock.status();
  base.lock = std::move(lock).value();
  RemoveBackupStaging(flags.data);  // a backup cut short by a crash; ours now (the lock)
  auto security = SecurityFor(flags);
  if (!security.ok()) return security.status();
  base.security = std::move(security).value();
  base.clock = std::make_unique<OffsetClock>(flags.test_clock_offset_ms);
  base.file_system = std::make_shared<WalSyncTimingFileSystem>();
  base.env = rocksdb::NewCompositeEnv(base.file_system);
  auto replica = Replica::Open({.path = flags.data + "/db",
                                .node = node,
                                .unit = flags.unit,
                                .clock = base.clock.get(),
                                .env = base.env.get(),
                                .max_clock_ahead_ms = flags.max_clock_ahead_ms});
  if (!replica.ok()) return replica.status();
  base.replica = std::move(replica).value();
  return base;
}

// The HTTP server when the flags ask for one (nullptr when --http off). The first snapshot is
// published before it serves. Its app API reaches `api` over inproc:// in `context`.
Result<std::unique_ptr<HttpServer>> StartHttp(const NodeFlags& flags, const Replica& replica,
                                              const std::string& role, NodeState& state,
                                              NodeSnapshot first, zmq::context_t& context,
                                              ApiServer& api, const RecentEventsSink& events) {
  if (!flags.http.enabled) return std::unique_ptr<HttpServer>();
  if (Status bound = api.BindInProcess(kInProcessApiEndpoint); !bound.ok()) return bound;
  state.Beat(NowMs());
  state.Publish(std::move(first));
  auto server = std::make_unique<HttpServer>(flags.http, replica, role, state, context, &events);
  if (Status started = server->Start(); !started.ok()) return started;
  return server;
}

}  // namespace

int RunStation(const NodeFlags& flags, const std::atomic<bool>& stop) {
  RecentEventsCapture events;  // before any other thread logs
  auto base = OpenNode(flags, flags.unit);
  if (!base.ok()) return Fail(base.status());
  Replica& replica = *base->replica;
  zmq::context_t context(1);
  StationSession session(replica, SessionOptions{});
  const LinkSecurity& security = base->security;
  StationTransport transport(context, flags.hub, security);
  const bool with_hub = !flags.hub.empty();
  auto sync_status = [&] {
    SyncStatus status = session.Report();
    status.public_key = security.own.public_z85;
    return status;
  };
  ApiServer api(context, ApiEndpoint(flags), replica, "station", sync_status);
  api.SetBackupSource(BackupSourceFor(flags, security));
  if (Status bound = api.Bind(); !bound.ok()) return Fail(bound);
  ChangeFeed feed(context, FeedEndpoint(flags), replica);
  if (Status bound = feed.Bind(); !bound.ok()) return Fail(bound);
  NodeState node_state;
  bool linked_once = !replica.Peer(kHubPeer).epoch.empty();  // synced in an earlier run
  auto snapshot = [&] {
    linked_once = linked_once || session.linked();
    return NodeSnapshot{sync_status(),
                        with_hub,
                        linked_once,
                        api.write_latency(),
                        base->file_system->sync_latency(),
                        replica.last_seq()};
  };
  auto http =
      StartHttp(flags, replica, "station", node_state, snapshot(), context, api, events.sink());
  if (!http.ok()) return Fail(http.status());
  LogEvent(spdlog::level::info, "ready",
           {{"role", "station"},
            {"data", flags.data},
            {"api", ApiEndpoint(flags)},
            {"hub", flags.hub},
            {"http", flags.http.enabled ? flags.http.address() : "off"},
            {"records", replica.record_count()},
            {"last_seq", replica.last_seq()}},
           "syncd station {} ready: data {}, api {}, hub {} ({}), {} records, log at {}",
           flags.unit, flags.data, ApiEndpoint(flags), with_hub ? flags.hub : "none",
           security.insecure ? "plaintext, --insecure" : "CURVE", replica.record_count(),
           replica.last_seq());
  SystemdNotifier systemd;  // READY=1 only now: the store is open, the API and HTTP are bound
  systemd.Ready(fmt::format("station {}: {} records", flags.unit, replica.record_count()));
  if (!security.insecure) {
    spdlog::info("this station's public key: {} (enrol it at the hub: syncctl unit enroll {} {})",
                 security.own.public_z85, flags.unit, security.own.public_z85);
  }

  auto carry_out = [&](StationStep step) {
    if (step.new_link) {
      if (Status s = transport.Reconnect(); !s.ok()) spdlog::error("{}", s.ToString());
    }
    transport.Send(step.out);
  };
  // `get --remote`: asked of the hub over the sync link; unanswered ones fail after a deadline.
  std::map<uint64_t, uint64_t> lookup_deadlines;  // token -> when to give up
  if (with_hub) {
    api.SetLookupStarter([&](uint64_t token, Table table, const std::string& id,
                             const std::string& actor) {
      if (!session.linked()) {
        api.CompleteLookup(token, Unavailable("not connected to the hub; try again when linked"));
        return;
      }
      lookup_deadlines[token] = NowMs() + kLookupTimeoutMs;
      carry_out(session.StartLookup(token, table, id, actor, NowMs()));
    });
  }
  // `syncctl verify`: its queries go over the sync link like look-ups.
  // A verify the hub ordered (`syncctl verify --station` there) reports back over the link;
  // its token is the hub's request with kHubOrderedVerify set.
  VerifyRunner verifier(
      replica, session,
      [&](const VerifyQuery& query) { carry_out(session.StartVerify(query, NowMs())); },
      [&](uint64_t token, const Result<VerifyReport>& result) {
        if ((token & kHubOrderedVerify) == 0) return api.CompleteVerify(token, result);
        carry_out(
            session.SendVerifyResult(ToVerifyResult(token & ~kHubOrderedVerify, result), NowMs()));
      });
  if (with_hub) {
    api.SetVerifyStarter([&](uint64_t token, const VerifyRequest& request) {
      if (!request.station.empty()) {
        return api.CompleteVerify(token, Invalid("--station is for the hub: a station verifies "
                                                 "itself (syncctl verify)"));
      }
      verifier.Start(token, request, NowMs());
    });
  }
  auto finish_lookups = [&] {
    for (const VerifyReply& reply : session.TakeVerifyReplies()) verifier.OnReply(reply, NowMs());
    for (const VerifyOrder& order : session.TakeVerifyOrders()) {
      verifier.Start(kHubOrderedVerify | order.request, {order.deep, order.repair, ""}, NowMs());
    }
    verifier.Tick(NowMs());
    for (LookupReply& reply : session.TakeLookupReplies()) {
      if (lookup_deadlines.erase(reply.request) == 0) continue;  // too late: already answered
      if (!reply.error.empty()) {
        api.CompleteLookup(reply.request, Internal("the hub: " + reply.error));
      } else {
        api.CompleteLookup(reply.request, std::move(reply.record));
      }
    }
    for (auto it = lookup_deadlines.begin(); it != lookup_deadlines.end();) {
      if (NowMs() < it->second) {
        ++it;
        continue;
      }
      api.CompleteLookup(it->first, Unavailable("the hub did not answer the look-up in time"));
      it = lookup_deadlines.erase(it);
    }
  };
  uint64_t last_tick = 0;
  while (!stop.load()) {
    const auto [api_ready, sync_ready] =
        Poll<2>({&api.socket(), with_hub ? transport.socket() : nullptr});
    (void)sync_ready;  // the sync socket is read every turn, ready or not
    node_state.Beat(NowMs());
    systemd.Tick(NowMs());  // the watchdog sees the loop turn
    api.FinishBackups();
    if (api_ready && api.ServeReady() && with_hub) carry_out(session.Pump(NowMs()));
    feed.PublishIfChanged();
    if (!with_hub) {
      if (*http && NowMs() - last_tick >= static_cast<uint64_t>(kTickMs)) {
        last_tick = NowMs();
        node_state.Publish(snapshot());
      }
      continue;
    }
    const uint64_t turn_end = NowMs() + kTurnBudgetMs;
    for (int i = 0; i < kMessagesPerTurn && NowMs() < turn_end; ++i) {
      auto message = transport.Receive();
      if (!message) break;
      carry_out(session.Receive(std::move(*message), NowMs()));
      feed.PublishIfChanged();
    }
    if (const std::string problem = transport.TakeHandshakeProblem(); !problem.empty()) {
      session.NoteLinkProblem(
          security.insecure
              ? fmt::format("the hub refused the handshake: {} (a hub that runs CURVE needs "
                            "--hub-key instead of --insecure)",
                            problem)
              : fmt::format("the hub refused the handshake: {} (is this station's key {} "
                            "enrolled at the hub, and is --hub-key the hub's key?)",
                            problem, security.own.public_z85));
    }
    finish_lookups();
    if (NowMs() - last_tick >= static_cast<uint64_t>(kTickMs)) {
      last_tick = NowMs();
      carry_out(session.Tick(last_tick));
      feed.PublishIfChanged();  // whatever else committed this turn (a verify's repair)
      if (*http) node_state.Publish(snapshot());
    }
  }
  systemd.Stopping();
  LogEvent(spdlog::level::info, "stopping", {{"role", "station"}}, "syncd station {} stopping",
           flags.unit);
  if (with_hub) transport.SendLast(session.Goodbye(NowMs()).out, kGoodbyeLinger);
  replica.FlushForNextStart();
  return 0;
}

int RunHub(const NodeFlags& flags, const std::atomic<bool>& stop) {
  RecentEventsCapture events;  // before any other thread logs
  auto base = OpenNode(flags, "hub");
  if (!base.ok()) return Fail(base.status());
  Replica& replica = *base->replica;
  const LinkSecurity& security = base->security;
  if (security.insecure && !IsLoopbackEndpoint(flags.listen)) {
    return Fail(Refused(fmt::format(
        "--insecure with --listen {}: plaintext sync is for loopback tests only (listen on "
        "tcp://127.0.0.1:PORT, or drop --insecure)",
        flags.listen)));
  }
  zmq::context_t context(1);
  Hub hub(replica, SessionOptions{}, /*authenticate=*/!security.insecure);
  // The ZAP handler is bound before the ROUTER, in the same context (zap_handler.h).
  ZapHandler zap(context, [&hub](const std::string& key) { return hub.AdmitKey(key); });
  if (!security.insecure) {
    if (Status bound = zap.Bind(); !bound.ok()) return Fail(bound);
  }
  HubTransport transport(context, flags.listen, security);
  if (Status bound = transport.Bind(); !bound.ok()) return Fail(bound);
  auto sync_status = [&] {
    SyncStatus status = hub.Report(NowMs());
    status.public_key = security.own.public_z85;
    return status;
  };
  ApiServer api(context, ApiEndpoint(flags), replica, "hub", sync_status);
  api.SetBackupSource(BackupSourceFor(flags, security));
  if (Status bound = api.Bind(); !bound.ok()) return Fail(bound);
  ChangeFeed feed(context, FeedEndpoint(flags), replica);
  if (Status bound = feed.Bind(); !bound.ok()) return Fail(bound);
  NodeState node_state;
  auto snapshot = [&] {
    return NodeSnapshot{
        sync_status(),     false, false, api.write_latency(), base->file_system->sync_latency(),
        replica.last_seq()};
  };
  auto http = StartHttp(flags, replica, "hub", node_state, snapshot(), context, api, events.sink());
  if (!http.ok()) return Fail(http.status());
  LogEvent(spdlog::level::info, "ready",
           {{"role", "hub"},
            {"data", flags.data},
            {"api", ApiEndpoint(flags)},
            {"listen", flags.listen},
            {"http", flags.http.enabled ? flags.http.address() : "off"},
            {"records", replica.record_count()},
            {"last_seq", replica.last_seq()}},
           "syncd hub ready: data {}, api {}, stations connect to {} ({}), {} records, log at {}",
           flags.data, ApiEndpoint(flags), flags.listen,
           security.insecure ? "plaintext, --insecure" : "CURVE", replica.record_count(),
           replica.last_seq());
  SystemdNotifier systemd;  // READY=1 only now: the store is open, the API and HTTP are bound
  systemd.Ready(fmt::format("hub: {} records", replica.record_count()));
  if (!security.insecure) {
    spdlog::info("the hub's public key: {} (stations pass it as --hub-key)",
                 security.own.public_z85);
  }

  auto carry_out = [&](const std::vector<Outgoing>& out) {
    for (const auto& outgoing : out) transport.Send(outgoing.peer, outgoing.message);
  };
  // One message from a station: dropped undecoded unless it is a Hello or its link has a session.
  auto receive = [&](HubTransport::Incoming& incoming) {
    const std::string_view bytes = incoming.frame.to_string_view();
    const Sender from{std::move(incoming.peer), std::move(incoming.key)};
    auto envelope = PeekSyncMessage(bytes);
    if (!envelope.ok()) {
      PeerLog().Warn("malformed", "dropped a malformed sync message: {}",
                     envelope.status().message());
      return;
    }
    std::vector<Outgoing> out;
    if (!hub.Admits(from, envelope->hello, envelope->link, out)) return carry_out(out);
    auto message = DecodeSyncMessage(bytes);
    if (!message.ok()) {
      PeerLog().Warn("malformed", "dropped a malformed sync message: {}",
                     message.status().message());
      return;
    }
    hub.Queue(from, *message, NowMs(), out);
    carry_out(out);
  };
  // `syncctl verify --station CODE`: the station verifies and reports over the link.
  std::map<uint64_t, uint64_t> verify_deadlines;  // token -> when to give up
  api.SetVerifyStarter([&](uint64_t token, const VerifyRequest& request) {
    if (request.station.empty()) {
      api.CompleteVerify(token, Invalid("verify compares a station's replica with the hub: at the "
                                        "hub, name the station (syncctl verify --station CODE)"));
      return;
    }
    std::vector<Outgoing> out;
    if (Status ordered = hub.OrderVerify(request.station, token, request, NowMs(), out);
        !ordered.ok()) {
      api.CompleteVerify(token, ordered);
      return;
    }
    carry_out(out);
    verify_deadlines[token] = NowMs() + kVerifyOrderTimeoutMs;
  });
  auto finish_verifies = [&] {
    for (VerifyResult& result : hub.TakeVerifyResults()) {
      if (verify_deadlines.erase(result.request) == 0) continue;
      if (!result.error.empty()) {
        api.CompleteVerify(result.request, Unavailable("the station: " + result.error));
      } else {
        api.CompleteVerify(result.request, std::move(result.report));
      }
    }
    for (auto it = verify_deadlines.begin(); it != verify_deadlines.end();) {
      if (NowMs() < it->second) {
        ++it;
        continue;
      }
      api.CompleteVerify(it->first, Unavailable("the station did not report its verify in time"));
      it = verify_deadlines.erase(it);
    }
  };
  uint64_t last_tick = 0;
  while (!stop.load()) {
    const auto [api_ready, sync_ready, zap_ready] =
        Poll<3>({&api.socket(), &transport.socket(), security.insecure ? nullptr : &zap.socket()});
    (void)sync_ready;  // read every turn, ready or not
    node_state.Beat(NowMs());
    systemd.Tick(NowMs());  // the watchdog sees the loop turn
    api.FinishBackups();
    if (zap_ready) zap.ServeReady();
    if (api_ready && api.ServeReady()) carry_out(hub.Pump(NowMs()));
    feed.PublishIfChanged();
    const uint64_t turn_end = NowMs() + kTurnBudgetMs;
    for (int i = 0; i < kMessagesPerTurn && NowMs() < turn_end; ++i) {
      auto incoming = transport.Receive();
      if (!incoming) break;
      receive(*incoming);
    }
    // The turn's Ups, from every station, in one durable batch (group commit).
    std::vector<Outgoing> flushed;
    hub.Flush(NowMs(), flushed);
    feed.PublishIfChanged();
    carry_out(flushed);
    finish_verifies();
    hub.CountHandshakeFailures(transport.handshake_failures(), transport.last_handshake_failure());
    if (NowMs() - last_tick >= static_cast<uint64_t>(kTickMs)) {
      last_tick = NowMs();
      carry_out(hub.Tick(last_tick));
      feed.PublishIfChanged();
      if (*http) node_state.Publish(snapshot());
    }
  }
  systemd.Stopping();
  LogEvent(spdlog::level::info, "stopping", {{"role", "hub"}}, "syncd hub stopping");
  replica.FlushForNextStart();
  return 0;
}

}  // namespace stationsync
