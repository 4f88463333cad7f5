// See hub.h.
#include "sync/protocol/hub.h"

#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "sync/base/log_guard.h"
#include "sync/protocol/registry.h"

namespace stationsync {

namespace {

constexpr size_t kPeerTextInReasonMax = 60;  // bytes of a peer's text quoted in a reason

std::string Abbreviated(const std::string& key) {
  return key.substr(0, 8) + "...";
}

}  // namespace

Hub::Hub(Replica& replica, SessionOptions options, bool authenticate)
    : replica_(replica),
      options_(options),
      authenticate_(authenticate),
      snapshot_slots_(options.max_concurrent_snapshots),
      log_heads_(replica) {
  std::vector<Outgoing> none;  // no session is linked yet
  RefreshRegistry(0, none);
}

HubSession& Hub::SessionFor(const std::string& unit) {
  auto& session = sessions_[unit];
  if (!session)
    session = std::make_unique<HubSession>(replica_, unit, options_, &snapshot_slots_, &log_heads_);
  return *session;
}

void Hub::RefreshRegistry(uint64_t now_ms, std::vector<Outgoing>& out) {
  auto registry = ReadRegistry(replica_);
  if (!registry.ok()) {
    spdlog::error("reading the registry: {}", registry.status().ToString());
    return;
  }
  station_units_ = std::move(registry->station_units);
  unit_by_key_ = std::move(registry->unit_by_key);
  key_by_unit_.clear();
  for (const auto& [key, unit] : unit_by_key_) key_by_unit_[unit] = key;
  for (const auto& key : registry->shared_keys) {
    PeerLog().Warn("shared-key", "key {} is enrolled for more than one unit: it admits none",
                   Abbreviated(key));
  }
  for (const auto& unit : station_units_) {
    const auto group = registry->groups.find(unit);
    SessionFor(unit).SetScope(
        group != registry->groups.end() ? group->second : std::vector<std::string>{unit}, now_ms,
        out);
  }
  if (authenticate_) {
    for (auto& [unit, session] : sessions_) {
      if (!session->connected()) continue;
      const auto enrolled = key_by_unit_.find(unit);
      if (enrolled != key_by_unit_.end() && enrolled->second == session->key()) continue;
      spdlog::warn("station {}: its key was revoked or replaced: dropping its link", unit);
      unit_by_peer_.erase(session->peer());
      session->CountRefusal("its key was revoked or replaced while it was linked");
      session->Disconnect("this station's key was revoked or replaced at the hub", now_ms, out);
    }
  }
  registry_read_ms_ = now_ms;
  registry_read_ = true;
}

std::string Hub::AdmitKey(const std::string& key_z85) {
  if (unit_by_key_.contains(key_z85)) return "";
  ++refused_unknown_key_total_;
  last_handshake_refusal_ = fmt::format("key {} is not enrolled for any station", key_z85);
  PeerLog().Warn("unknown-key", "refused a sync handshake: {}", last_handshake_refusal_);
  return "key not enrolled";
}

void Hub::CountHandshakeFailures(uint64_t failures, const std::string& reason) {
  if (failures == 0) return;
  refused_handshake_total_ += failures;
  last_handshake_refusal_ = reason;
  PeerLog().Warn("handshake", "{} sync handshakes failed: {}", failures, reason);
}

void Hub::RefuseHello(const Sender& from, const SyncMessage& message, const std::string& unit,
                      const std::string& reason, int64_t clock_ahead_ms,
                      std::vector<Outgoing>& out) {
  PeerLog().Warn("refused-hello", "refused a station link from unit {}: {}",
                 Clip(std::get<Hello>(message.body).unit, kPeerTextInReasonMax), reason);
  if (std::binary_search(station_units_.begin(), station_units_.end(), unit)) {
    SessionFor(unit).CountRefusal(reason);
  }
  out.push_back({from.peer, {message.link, Refusal{reason, false, clock_ahead_ms}}});
}

void Hub::OnHello(const Sender& from, const SyncMessage& message, uint64_t now_ms,
                  std::vector<Outgoing>& out) {
  const Hello& hello = std::get<Hello>(message.body);
  std::string unit = hello.unit;
  if (authenticate_) {
    const auto enrolled = unit_by_key_.find(from.key);
    if (enrolled == unit_by_key_.end()) {  // revoked between its handshake and its Hello
      ++refused_unknown_key_total_;
      last_handshake_refusal_ = "a Hello with a key no station holds any more";
      RefuseHello(from, message, "", "this station's key is not enrolled at the hub", 0, out);
      return;
    }
    if (hello.unit != enrolled->second) {
      RefuseHello(from, message, enrolled->second,
                  fmt::format("a Hello named unit {}, but the key is enrolled for {}",
                              Clip(hello.unit, kPeerTextInReasonMax), enrolled->second),
                  0, out);
      return;
    }
    unit = enrolled->second;
  }
  stationsync::Status admitted =
      hello.protocol == kProtocolVersion
          ? CheckStationUnit(replica_, unit)
          : Refused(fmt::format("protocol {} is not spoken here (hub speaks {})", hello.protocol,
                                kProtocolVersion));
  if (admitted.ok() && hello.node != unit) {
    admitted = Refused(fmt::format("node {} may not speak for unit {}",
                                   Clip(hello.node, kPeerTextInReasonMax), unit));
  }
  if (!admitted.ok()) {
    RefuseHello(from, message, unit, admitted.message(), 0, out);
    return;
  }
  const int64_t ahead_ms = hello.clock_ms - replica_.WallMs();
  if (hello.clock_ms != 0 && ahead_ms > replica_.max_clock_ahead_ms()) {
    RefuseHello(from, message, unit,
                fmt::format("the station's clock is {} s ahead of the hub's (limit {} s): fix its "
                            "time",
                            ahead_ms / 1000, replica_.max_clock_ahead_ms() / 1000),
                ahead_ms, out);
    return;
  }
  HubSession& session = SessionFor(unit);
  if (session.connected() && session.peer() != from.peer) unit_by_peer_.erase(session.peer());
  unit_by_peer_[from.peer] = unit;
  if (!std::binary_search(station_units_.begin(), station_units_.end(), unit)) {
    RefreshRegistry(now_ms, out);  // registered since we last looked
  }
  session.OnHello(from.peer, from.key, message, now_ms, out);
}

HubSession* Hub::SessionOf(const Sender& from) {
  const auto it = unit_by_peer_.find(from.peer);
  if (it == unit_by_peer_.end()) return nullptr;
  HubSession& session = SessionFor(it->second);
  if (!session.connected() || session.peer() != from.peer) return nullptr;
  if (authenticate_ && session.key() != from.key) return nullptr;
  return &session;
}

bool Hub::Admits(const Sender& from, bool hello, uint64_t link, std::vector<Outgoing>& out) {
  if (hello || SessionOf(from) != nullptr) return true;
  out.push_back({from.peer, {link, Refusal{"no session for this link", true}}});
  return false;
}

std::vector<Outgoing> Hub::Receive(const Sender& from, const SyncMessage& message,
                                   uint64_t now_ms) {
  std::vector<Outgoing> out;
  Queue(from, message, now_ms, out);
  Flush(now_ms, out);
  return out;
}

void Hub::Queue(const Sender& from, const SyncMessage& message, uint64_t now_ms,
                std::vector<Outgoing>& out) {
  if (std::holds_alternative<Hello>(message.body)) {
    Flush(now_ms, out);  // a new link starts from the stored cursors, with every Up applied
    OnHello(from, message, now_ms, out);
    return;
  }
  HubSession* session = SessionOf(from);
  if (session == nullptr) {
    if (!std::holds_alternative<Refusal>(message.body)) {
      out.push_back({from.peer, {message.link, Refusal{"no session for this link", true}}});
    }
    return;
  }
  if (std::holds_alternative<Up>(message.body)) {
    // A station's next Up is checked against its cursor as its previous one leaves it.
    const bool queued = std::any_of(queued_ups_.begin(), queued_ups_.end(),
                                    [&](const QueuedUp& q) { return q.unit == session->unit(); });
    if (queued) Flush(now_ms, out);
    auto staged = session->StageUp(message, now_ms, out);
    if (staged) queued_ups_.push_back({session->unit(), std::move(*staged)});
    return;
  }
  const uint64_t log_end = replica_.last_seq();
  session->Receive(message, now_ms, out);
  if (replica_.last_seq() != log_end) {
    for (auto& [unit, linked] : sessions_) linked->Pump(now_ms, out);
  }
}

void Hub::Flush(uint64_t now_ms, std::vector<Outgoing>& out) {
  if (queued_ups_.empty()) return;
  const uint64_t log_end = replica_.last_seq();
  std::vector<RemoteBatch> group;
  group.reserve(queued_ups_.size());
  for (QueuedUp& queued : queued_ups_) group.push_back(std::move(queued.staged.batch));
  const auto outcomes = replica_.ApplyRemoteGroup(group);
  for (size_t i = 0; i < queued_ups_.size(); ++i) {
    // Sessions are only removed by a registry refresh, which never runs with Ups queued.
    HubSession& session = *sessions_.at(queued_ups_[i].unit);
    session.FinishUp(queued_ups_[i].staged,
                     outcomes.ok() ? Result<RemoteOutcome>(outcomes->at(i))
                                   : Result<RemoteOutcome>(outcomes.status()),
                     now_ms, out);
  }
  queued_ups_.clear();
  if (replica_.last_seq() != log_end) {
    for (auto& [unit, session] : sessions_) session->Pump(now_ms, out);
  }
}

std::vector<Outgoing> Hub::Tick(uint64_t now_ms) {
  std::vector<Outgoing> out;
  Flush(now_ms, out);
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
  Flush(now_ms, out);
  // Local writes may be registry writes (a merge, an enrolment): scopes and keys follow them
  // before the next request is served, so a `wait-synced` after a merge waits for its snapshots.
  RefreshRegistry(now_ms, out);
  for (auto& [unit, session] : sessions_) session->Pump(now_ms, out);
  return out;
}

Status Hub::OrderVerify(const std::string& unit, uint64_t request, const VerifyRequest& verify,
                        uint64_t now_ms, std::vector<Outgoing>& out) {
  if (!std::binary_search(station_units_.begin(), station_units_.end(), unit)) {
    return Invalid(fmt::format("{} is not a station unit of the registry", unit));
  }
  if (!SessionFor(unit).OrderVerify(request, verify, now_ms, out)) {
    return Unavailable(fmt::format("station {} is not linked to the hub", unit));
  }
  return Status::Ok();
}

std::vector<VerifyResult> Hub::TakeVerifyResults() {
  std::vector<VerifyResult> results;
  for (auto& [unit, session] : sessions_) {
    for (auto& result : session->TakeVerifyResults()) results.push_back(std::move(result));
  }
  return results;
}

SyncStatus Hub::Report(uint64_t now_ms) const {
  SyncStatus status;
  for (const auto& unit : station_units_) {
    const auto it = sessions_.find(unit);
    if (it == sessions_.end()) continue;
    StationLink link = it->second->Report(now_ms);
    const auto key = key_by_unit_.find(unit);
    if (key != key_by_unit_.end()) link.key = key->second;
    status.stations.push_back(std::move(link));
  }
  status.refused_unknown_key_total = refused_unknown_key_total_;
  status.refused_handshake_total = refused_handshake_total_;
  status.last_handshake_refusal = last_handshake_refusal_;
  return status;
}

}  // namespace stationsync
