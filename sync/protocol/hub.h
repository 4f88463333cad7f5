// The hub's sync logic across all stations, pure like the sessions it holds: it decides who a
// sender is, checks each Hello against the registry, routes messages from transport peers to the
// HubSession of their unit, and pumps every session when the hub's log grows.
//
// Identity. On an authenticated hub (CURVE, the production mode) a sender is the unit its key is
// enrolled for in the registry, read again on every message; the Hello's unit field must name
// that unit and is never taken on its own. On an insecure hub (--insecure, loopback only) the
// Hello names the unit.
//
// Invariants:
//  1. A peer speaks for a unit only after that unit's Hello was accepted from it, and (when
//     authenticated) only while its key is still the unit's enrolled key; anything else from it
//     is dropped before its records are decoded (Admits) and answered with Refused{helloAgain}.
//  2. A unit that is not a station unit of the registry, a Hello naming a unit the key is not
//     enrolled for, a clock too far ahead: refused, with the reason in the hub's log, in the
//     Refused message, and counted in status (per station, or refused_unknown_key_total).
//  3. One session per station unit, kept while the unit is in the registry. A Hello can replace
//     a unit's live link only when it authenticated with that unit's key.
//  4. A session's scope is its unit's group in the registry as last read (at most
//     kRegistryRefreshMs old, and current after a write at the hub). A key revoked or replaced
//     in the registry drops its live link at that reading.
//  5. At most options.max_concurrent_snapshots sessions send snapshot pages at once
//     (SnapshotSlots); the others stay linked and are pumped every tick until a slot frees.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sync/protocol/hub_session.h"
#include "sync/protocol/session_options.h"
#include "sync/protocol/sync_message.h"
#include "sync/protocol/sync_status.h"
#include "sync/storage/replica.h"

namespace stationsync {

inline constexpr uint64_t kRegistryRefreshMs = 1000;

// Who sent a message: the transport peer (routing id) and the key its connection authenticated
// with ("" on an insecure hub).
struct Sender {
  std::string peer;
  std::string key;
};

class Hub {
 public:
  // `replica` is borrowed and must outlive the hub. `authenticate`: identities come from keys.
  Hub(Replica& replica, SessionOptions options, bool authenticate);

  // Before decoding a message of kind `hello` or not: false if it is to be dropped undecoded
  // (no live session for this sender), in which case `out` gets the answer to send.
  bool Admits(const Sender& from, bool hello, uint64_t link, std::vector<Outgoing>& out);
  std::vector<Outgoing> Receive(const Sender& from, const SyncMessage& message, uint64_t now_ms);
  // Group commit: Queue handles a message as Receive does, but an Up waits (checked, not yet
  // applied) until Flush applies every waiting Up in one durable batch and acknowledges each.
  // The daemon queues a loop turn's messages, then flushes; Receive is Queue then Flush. A
  // Hello, a station's second Up, Tick and Pump flush first.
  void Queue(const Sender& from, const SyncMessage& message, uint64_t now_ms,
             std::vector<Outgoing>& out);
  void Flush(uint64_t now_ms, std::vector<Outgoing>& out);
  std::vector<Outgoing> Tick(uint64_t now_ms);
  // After local writes at the hub: sends them to the stations now.
  std::vector<Outgoing> Pump(uint64_t now_ms);

  // The ZAP handler's question: "" if a handshake with this key may proceed, else the reason
  // (counted in refused_unknown_key_total).
  std::string AdmitKey(const std::string& key_z85);
  // Handshakes that failed before a key was offered (the transport's monitor saw them).
  void CountHandshakeFailures(uint64_t failures, const std::string& reason);

  SyncStatus Report(uint64_t now_ms) const;

  // `syncctl verify --station UNIT`: orders that station to verify. kInvalid for a unit that is
  // no station of the registry, kUnavailable when it is not linked.
  Status OrderVerify(const std::string& unit, uint64_t request, const VerifyRequest& verify,
                     uint64_t now_ms, std::vector<Outgoing>& out);
  // The stations' reports of ordered verifies since the last call.
  std::vector<VerifyResult> TakeVerifyResults();

 private:
  void OnHello(const Sender& from, const SyncMessage& message, uint64_t now_ms,
               std::vector<Outgoing>& out);
  // Refuses a Hello: logs (bounded), counts on `unit`'s session if it is a station unit.
  void RefuseHello(const Sender& from, const SyncMessage& message, const std::string& unit,
                   const std::string& reason, int64_t clock_ahead_ms, std::vector<Outgoing>& out);
  // The session this sender's link belongs to, or nullptr.
  HubSession* SessionOf(const Sender& from);
  // Re-reads the station units, their groups and keys; a session whose group changed gets its
  // new scope (and, if linked, a snapshot of it); a link whose key is no longer enrolled ends.
  void RefreshRegistry(uint64_t now_ms, std::vector<Outgoing>& out);
  HubSession& SessionFor(const std::string& unit);

  Replica& replica_;
  SessionOptions options_;
  bool authenticate_;
  // Before sessions_, which hold them.
  SnapshotSlots snapshot_slots_;
  LogHeads log_heads_;
  std::map<std::string, std::unique_ptr<HubSession>> sessions_;  // by unit code
  std::vector<std::string> station_units_;                       // the registry's, sorted
  std::map<std::string, std::string> unit_by_key_;               // the registry's enrolled keys
  std::map<std::string, std::string> key_by_unit_;
  std::map<std::string, std::string> unit_by_peer_;
  uint64_t registry_read_ms_ = 0;
  bool registry_read_ = false;
  uint64_t refused_unknown_key_total_ = 0;
  uint64_t refused_handshake_total_ = 0;
  std::string last_handshake_refusal_;
  struct QueuedUp {
    std::string unit;
    HubSession::StagedUp staged;
  };
  std::vector<QueuedUp> queued_ups_;  // Ups checked and waiting for Flush, in arrival order
};

}  // namespace stationsync
