// What a node knows about its sync links, as `syncctl status` and `wait-synced` report it.
// Filled by the daemon from its sessions (hub_session.h, station_session.h); plain data.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sync/protocol/verify_report.h"

namespace stationsync {

// The hub's view of one station unit of the registry.
struct StationLink {
  std::string unit;
  bool connected = false;
  uint64_t last_seen_ms = 0;  // milliseconds since the station was last heard from (0: never)
  uint64_t lag_records = 0;   // changes in its scope it has not yet acknowledged
  uint64_t pending_up = 0;    // its own changes the hub has not yet acknowledged, as last reported
  uint64_t up_total = 0;      // changes received from it since the hub started
  uint64_t down_total = 0;    // records sent to it since the hub started
  uint64_t rejected_total = 0;     // changes from it refused (out of scope, invalid) since start
  bool never_seen = true;          // true when the station has not connected since the hub started
  std::vector<std::string> scope;  // the units of its group, whose records it holds
  std::string key{};               // its enrolled CURVE public key (Z85; "" if none)
  uint64_t refused_total = 0;      // links or batches refused for it since start (wrong unit in
                                   // Hello, clock ahead, protocol, revoked key, ...)
  std::string last_refusal{};      // the newest such refusal, in words ("" if none)
  std::optional<LastVerify> last_verify{};  // its last verify reported since the hub started
  // For metrics (not in `syncctl status`'s JSON):
  uint64_t rejected_out_of_scope_total = 0;  // of rejected_total: outside its scope or not its own
  uint64_t rejected_invalid_total = 0;       // of rejected_total: invalid, or an invalid merge
  uint64_t lag_ms = 0;  // age of the oldest change in its scope it has not acknowledged (by the
                        // change's stamp and the hub's wall clock); during a snapshot, at least
                        // the time since the snapshot began; 0 when lag_records is 0
  bool snapshotting = false;            // a snapshot of its scope is in progress
  uint64_t snapshot_records_total = 0;  // records the snapshot in progress holds (at its start)
  uint64_t snapshot_records_left = 0;   // of those, not yet acknowledged (page granularity)
};

struct SyncStatus {
  // Station: the link to the hub.
  bool hub_connected = false;
  uint64_t lag_records = 0;    // as the hub last told it
  uint64_t pending_up = 0;     // own changes the hub has not yet acknowledged
  std::string hub_refusal;     // why the hub refused our link, or our key ("" if it did not)
  int64_t clock_ahead_ms = 0;  // our clock minus the hub's, as last measured (a Welcome, or a
                               // refusal for being too far ahead)
  // Hub: one entry per station unit of the registry, in unit-code order.
  std::vector<StationLink> stations;
  uint64_t refused_unknown_key_total = 0;  // handshakes with a key no station holds
  uint64_t refused_handshake_total = 0;    // handshakes that failed before a key was offered
                                           // (plaintext, another mechanism)
  std::string last_handshake_refusal;      // the newest of either, in words
  // Both: this node's CURVE public key (Z85; "" when running --insecure).
  std::string public_key;
};

}  // namespace stationsync
