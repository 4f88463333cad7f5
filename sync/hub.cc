// See hub.h.
#include "sync/hub.h"

#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "sync/registry.h"

namespace stationsync {

Hub::Hub(Replica& replica, SessionOptions options) : replica_(replica), options_(options) {
  std::vector<Outgoing> none;  // no session is linked yet
  RefreshRegistry(0, none);
}

HubSession& Hub::SessionFor(const std::string& unit) {
  auto& session = sessions_[unit];
  if (!session) session = std::make_unique<HubSession>(replica_, unit, options_);
  return *session;
}

void Hub::RefreshRegistry(uint64_t now_ms, std::vector<Outgoing>& out) {
  auto registry = ReadRegistry(replica_);
  if (!registry.ok()) {
    spdlog::error("reading the registry: {}", registry.status().ToString());
    return;
  }
  station_units_ = std::move(registry->station_units);
  for (const auto& unit : station_units_) {
    const auto group = registry->groups.find(unit);
    SessionFor(unit).SetScope(
        group != registry->groups.end() ? group->second : std::vector<std::string>{unit}, now_ms,
        out);
  }
  registry_read_ms_ = now_ms;
  registry_read_ = true;
}

void Hub::OnHello(const std::string& peer, const SyncMessage& message, uint64_t now_ms,
                  std::vector<Outgoing>& out) {
  const Hello& hello = std::get<Hello>(message.body);
  stationsync::Status admitted =
      hello.protocol == kProtocolVersion
          ? CheckStationUnit(replica_, hello.unit)
          : Refused(fmt::format("protocol {} is not spoken here (hub speaks {})", hello.protocol,
                                kProtocolVersion));
  if (admitted.ok() && hello.node != hello.unit) {
    admitted = Refused(fmt::format("node {} may not speak for unit {}", hello.node, hello.unit));
  }
  if (!admitted.ok()) {
    spdlog::warn("refused a station link from unit {}: {}", hello.unit, admitted.message());
    out.push_back({peer, {message.link, Refusal{admitted.message()}}});
    return;
  }
  HubSession& session = SessionFor(hello.unit);
  if (session.connected() && session.peer() != peer) unit_by_peer_.erase(session.peer());
  unit_by_peer_[peer] = hello.unit;
  if (std::find(station_units_.begin(), station_units_.end(), hello.unit) == station_units_.end()) {
    RefreshRegistry(now_ms, out);  // registered since we last looked
  }
  session.OnHello(peer, message, now_ms, out);
}

std::vector<Outgoing> Hub::Receive(const std::string& peer, const SyncMessage& message,
                                   uint64_t now_ms) {
  std::vector<Outgoing> out;
  const uint64_t log_end = replica_.last_seq();
  if (std::holds_alternative<Hello>(message.body)) {
    OnHello(peer, message, now_ms, out);
  } else {
    const auto it = unit_by_peer_.find(peer);
    HubSession* session = it == unit_by_peer_.end() ? nullptr : &SessionFor(it->second);
    if (!session || !session->connected() || session->peer() != peer) {
      if (!std::holds_alternative<Refusal>(message.body)) {
        out.push_back({peer, {message.link, Refusal{"no session for this link", true}}});
      }
      return out;
    }
    session->Receive(message, now_ms, out);
  }
  if (replica_.last_seq() != log_end) {
    for (auto& [unit, session] : sessions_) session->Pump(now_ms, out);
  }
  return out;
}

std::vector<Outgoing> Hub::Tick(uint64_t now_ms) {
  std::vector<Outgoing> out;
  if (!registry_read_ || now_ms - registry_read_ms_ >= kRegistryRefreshMs) {
    RefreshRegistry(now_ms, out);
  }
  for (auto& [unit, session] : sessions_) {
    const bool was_connected = session->connected();
    session->Tick(now_ms, out);
    if (was_connected && !session->connected()) unit_by_peer_.erase(session->peer());
  }
  return out;
}

std::vector<Outgoing> Hub::Pump(uint64_t now_ms) {
  std::vector<Outgoing> out;
  // Local writes may be registry writes (a merge): scopes follow them before the next request
  // is served, so a `wait-synced` after a merge waits for its snapshots.
  RefreshRegistry(now_ms, out);
  for (auto& [unit, session] : sessions_) session->Pump(now_ms, out);
  return out;
}

SyncStatus Hub::Report(uint64_t now_ms) const {
  SyncStatus status;
  for (const auto& unit : station_units_) {
    const auto it = sessions_.find(unit);
    if (it != sessions_.end()) status.stations.push_back(it->second->Report(now_ms));
  }
  return status;
}

}  // namespace stationsync
