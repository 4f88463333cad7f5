// See run_node.h.
#include "daemon/run_node.h"

#include <chrono>
#include <map>
#include <memory>

#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include "daemon/api_server.h"
#include "daemon/data_dir_lock.h"
#include "sync/hub.h"
#include "sync/replica.h"
#include "sync/station_session.h"
#include "sync/transport.h"

namespace stationsync {

namespace {

// Milliseconds of a monotonic clock: session timers must not jump with the wall clock.
uint64_t NowMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

int Fail(const Status& status) {
  spdlog::critical("{}", status.ToString());
  return ExitCode(status.code());
}

// Waits up to kTickMs for either socket to be readable. Returns which are.
struct Ready {
  bool api = false;
  bool sync = false;
};
Ready Poll(zmq::socket_t& api, zmq::socket_t* sync) {
  zmq::pollitem_t items[2] = {{api.handle(), 0, ZMQ_POLLIN, 0},
                              {sync ? sync->handle() : nullptr, 0, ZMQ_POLLIN, 0}};
  try {
    zmq::poll(items, sync ? 2 : 1, std::chrono::milliseconds(kTickMs));
  } catch (const zmq::error_t& e) {
    if (e.num() != EINTR) spdlog::error("poll: {}", e.what());
    return {};
  }
  return {(items[0].revents & ZMQ_POLLIN) != 0, sync && (items[1].revents & ZMQ_POLLIN) != 0};
}

// Opened storage and API, shared by both roles.
struct NodeBase {
  std::unique_ptr<DataDirLock> lock;
  std::unique_ptr<Replica> replica;
};

Result<NodeBase> OpenNode(const NodeFlags& flags, const std::string& node) {
  NodeBase base;
  auto lock = DataDirLock::Acquire(flags.data);
  if (!lock.ok()) return lock.status();
  base.lock = std::move(lock).value();
  auto replica = Replica::Open({.path = flags.data + "/db", .node = node, .unit = flags.unit});
  if (!replica.ok()) return replica.status();
  base.replica = std::move(replica).value();
  return base;
}

}  // namespace

int RunStation(const NodeFlags& flags, const std::atomic<bool>& stop) {
  auto base = OpenNode(flags, flags.unit);
  if (!base.ok()) return Fail(base.status());
  Replica& replica = *base->replica;
  zmq::context_t context(1);
  StationSession session(replica, SessionOptions{});
  StationTransport transport(context, flags.hub);
  const bool with_hub = !flags.hub.empty();
  ApiServer api(context, ApiEndpoint(flags), replica, "station",
                [&session] { return session.Report(); });
  if (Status bound = api.Bind(); !bound.ok()) return Fail(bound);
  spdlog::info("syncd station {} ready: data {}, api {}, hub {}, {} records, log at {}", flags.unit,
               flags.data, ApiEndpoint(flags), with_hub ? flags.hub : "none",
               replica.record_count(), replica.last_seq());

  auto carry_out = [&](StationStep step) {
    if (step.new_link) {
      if (Status s = transport.Reconnect(); !s.ok()) spdlog::error("{}", s.ToString());
    }
    transport.Send(step.out);
  };
  // `get --remote`: asked of the hub over the sync link; unanswered ones fail after a deadline.
  std::map<uint64_t, uint64_t> lookup_deadlines;  // token -> when to give up
  if (with_hub) {
    api.SetLookupStarter([&](uint64_t token, Table table, const std::string& id) {
      if (!session.linked()) {
        api.CompleteLookup(token, Unavailable("not connected to the hub; try again when linked"));
        return;
      }
      lookup_deadlines[token] = NowMs() + kLookupTimeoutMs;
      carry_out(session.StartLookup(token, table, id, NowMs()));
    });
  }
  auto finish_lookups = [&] {
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
    const Ready ready = Poll(api.socket(), with_hub ? transport.socket() : nullptr);
    if (ready.api && api.ServeReady() && with_hub) carry_out(session.Pump(NowMs()));
    if (!with_hub) continue;
    for (int i = 0; i < 256; ++i) {
      auto message = transport.Receive();
      if (!message) break;
      carry_out(session.Receive(*message, NowMs()));
    }
    finish_lookups();
    if (NowMs() - last_tick >= static_cast<uint64_t>(kTickMs)) {
      last_tick = NowMs();
      carry_out(session.Tick(last_tick));
    }
  }
  spdlog::info("syncd station {} stopping", flags.unit);
  return 0;
}

int RunHub(const NodeFlags& flags, const std::atomic<bool>& stop) {
  auto base = OpenNode(flags, "hub");
  if (!base.ok()) return Fail(base.status());
  Replica& replica = *base->replica;
  zmq::context_t context(1);
  Hub hub(replica, SessionOptions{});
  HubTransport transport(context, flags.listen);
  if (Status bound = transport.Bind(); !bound.ok()) return Fail(bound);
  ApiServer api(context, ApiEndpoint(flags), replica, "hub",
                [&hub] { return hub.Report(NowMs()); });
  if (Status bound = api.Bind(); !bound.ok()) return Fail(bound);
  spdlog::info("syncd hub ready: data {}, api {}, stations connect to {}, {} records, log at {}",
               flags.data, ApiEndpoint(flags), flags.listen, replica.record_count(),
               replica.last_seq());

  auto carry_out = [&](const std::vector<Outgoing>& out) {
    for (const auto& outgoing : out) transport.Send(outgoing.peer, outgoing.message);
  };
  uint64_t last_tick = 0;
  while (!stop.load()) {
    const Ready ready = Poll(api.socket(), &transport.socket());
    if (ready.api && api.ServeReady()) carry_out(hub.Pump(NowMs()));
    for (int i = 0; i < 256; ++i) {
      auto incoming = transport.Receive();
      if (!incoming) break;
      carry_out(hub.Receive(incoming->peer, incoming->message, NowMs()));
    }
    if (NowMs() - last_tick >= static_cast<uint64_t>(kTickMs)) {
      last_tick = NowMs();
      carry_out(hub.Tick(last_tick));
    }
  }
  spdlog::info("syncd hub stopping");
  return 0;
}

}  // namespace stationsync
