// The hub's sync logic across all stations, pure like the sessions it holds: it checks each
// Hello against the registry, routes messages from transport peers to the HubSession of their
// unit, and pumps every session when the hub's log grows.
//
// Invariants:
//  1. A peer speaks for a unit only after that unit's Hello was accepted from it; anything else
//     from an unknown peer is answered with Refused, so the station says hello again.
//  2. A unit that is not a station unit of the registry is refused, with the reason in the
//     hub's log and in the Refused message (the station logs it).
//  3. One session per station unit, kept while the unit is in the registry.
//  4. A session's scope is its unit's group in the registry as last read (at most
//     kRegistryRefreshMs old, and current after a write at the hub).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sync/hub_session.h"
#include "sync/replica.h"
#include "sync/session_options.h"
#include "sync/sync_message.h"
#include "sync/sync_status.h"

namespace stationsync {

inline constexpr uint64_t kRegistryRefreshMs = 1000;

class Hub {
 public:
  // `replica` is borrowed and must outlive the hub.
  Hub(Replica& replica, SessionOptions options);

  std::vector<Outgoing> Receive(const std::string& peer, const SyncMessage& message,
                                uint64_t now_ms);
  std::vector<Outgoing> Tick(uint64_t now_ms);
  // After local writes at the hub: sends them to the stations now.
  std::vector<Outgoing> Pump(uint64_t now_ms);

  SyncStatus Report(uint64_t now_ms) const;

 private:
  void OnHello(const std::string& peer, const SyncMessage& message, uint64_t now_ms,
               std::vector<Outgoing>& out);
  // Re-reads the station units and their groups; a session whose group changed gets its new
  // scope (and, if linked, a snapshot of it).
  void RefreshRegistry(uint64_t now_ms, std::vector<Outgoing>& out);
  HubSession& SessionFor(const std::string& unit);

  Replica& replica_;
  SessionOptions options_;
  std::map<std::string, std::unique_ptr<HubSession>> sessions_;  // by unit code
  std::vector<std::string> station_units_;                       // the registry's, sorted
  std::map<std::string, std::string> unit_by_peer_;
  uint64_t registry_read_ms_ = 0;
  bool registry_read_ = false;
};

}  // namespace stationsync
