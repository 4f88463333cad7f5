// The hub's side of one station's link, as pure logic (see station_session.h for the station's):
// it takes decoded messages and the time, reads and writes the hub's replica, and returns the
// messages to send. One HubSession per station unit lives as long as the hub process, so that
// status can report a station while it is away.
//
// Streams (schema/sync.capnp):
//  - up: a batch is applied only if it starts at the stored cursor (else UpAck{gap}); changes
//    outside the station's scope, or not written by it, are refused and counted; the cursor and
//    the station's epoch are stored in the same batch (Replica::ApplyRemote); acknowledged once
//    durable.
//  - down: the hub's log after the station's cursor, filtered to the station's scope (records
//    owned by a unit of its group, registry.h), sent as current whole states, or as evictions
//    for records that left the scope (a transfer); at most `window` batches unacknowledged.
//  - snapshot: when the station's cursor is not valid in this store's history (empty station,
//    new hub epoch, hub restored from an older copy, or too far behind), every record of its
//    scope as of log position L, in pages, then the stream from L (the Guide's Clone pattern).
//    The last page names the scope, and the station evicts whatever lies outside it.
//  - partial snapshot: when the scope changed (a merge or unmerge) and the station's cursor C is
//    valid, only the owners it lacks, as of C, then the stream from C under the new scope: a
//    merged member is not sent its own records again. The hub first lets the stream batches in
//    flight be acknowledged (so C is what the station holds), and stream batches carry the last
//    snapshot's id, so that one delayed past the snapshot is not applied under the new scope
//    (its evictions were judged under the old one). Only to a station that says it understands
//    (Hello.partial_snapshots); others get a whole snapshot.
//  - look-up: a station may read one record outside its scope, at most
//    `lookups_per_minute` a minute; the hub logs the station and the asking actor (audit).
//  - verify: a station's questions about the verify tree of its scope (sync/admin/verify_answer.h),
//    at most kVerifyQueriesPerMinute a minute, not while it receives a snapshot, and with the
//    records in flight to it named so that they are not taken for differences.
//  - clocks: a batch with a stamp more than the replica's max_clock_ahead_ms ahead of the hub's
//    clock is not applied nor acknowledged; the link is refused, saying by how much.
// Invariants:
//  1. A station's cursor is trusted only within this store's epoch and when the log entry at it
//     carries the stamp the station remembers; otherwise the station gets a snapshot, and if it
//     had synced with another history it is asked to offer everything.
//  2. The hub never sends a log position beyond what is durable (Replica::last_seq is stored
//     after the commit).
//  3. Messages of any link but the station's current one are ignored.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sync/protocol/log_heads.h"
#include "sync/protocol/registry.h"
#include "sync/protocol/session_options.h"
#include "sync/protocol/sync_message.h"
#include "sync/protocol/sync_status.h"
#include "sync/storage/replica.h"

namespace stationsync {

// Admission control shared by a hub's sessions: at most `limit` of them send snapshot pages at
// once. A session takes a slot before its first page and gives it back when the station holds
// the snapshot, when the link ends, or when the station stalls (acknowledges nothing for
// silence_ms): then it waits silence_ms before asking again, so that one station, slow or
// hostile, cannot hold a slot while others wait.
class SnapshotSlots {
 public:
  explicit SnapshotSlots(uint32_t limit) : free_(limit) {}
  bool TryTake() {
    if (free_ == 0) return false;
    --free_;
    return true;
  }
  void Give() { ++free_; }
  uint32_t free() const { return free_; }

 private:
  uint32_t free_;
};

// A message and the transport peer (routing id) it goes to.
struct Outgoing {
  std::string peer;
  SyncMessage message;
};

class HubSession {
 public:
  // `replica`, `slots` and `heads` are borrowed and must outlive the session. slots ==
  // nullptr: no limit on concurrent snapshots; heads == nullptr: the session reads the log's
  // heads itself.
  HubSession(Replica& replica, std::string unit, SessionOptions options,
             SnapshotSlots* slots = nullptr, LogHeads* heads = nullptr);
  ~HubSession() { ReleaseSlot(); }
  HubSession(const HubSession&) = delete;
  HubSession& operator=(const HubSession&) = delete;

  // A Hello for this session's unit from transport peer `peer`, authenticated with `key` ("" on
  // an insecure hub): replaces any current link.
  void OnHello(const std::string& peer, const std::string& key, const SyncMessage& hello,
               uint64_t now_ms, std::vector<Outgoing>& out);
  // Ends the current link: tells the station why, and ignores the link from now on.
  void Disconnect(const std::string& reason, uint64_t now_ms, std::vector<Outgoing>& out);
  // Counts a refusal of something this station's key or link sent (shown in status).
  void CountRefusal(const std::string& reason);
  // Any other message from the current link's peer.
  void Receive(const SyncMessage& message, uint64_t now_ms, std::vector<Outgoing>& out);

  // The hub's group commit splits an Up in two: StageUp checks it (clock, cursor, scope) and
  // returns the batch to apply, or nullopt if it was answered already (refused, a duplicate, a
  // gap) or is not from the current link; FinishUp acknowledges it once the batch is durable
  // (a failed apply is not acknowledged: the station resends).
  struct StagedUp {
    RemoteBatch batch;
    bool offer = false;
    uint32_t page = 0;
    uint64_t from = 0;
    uint64_t to = 0;
    uint64_t held_cursor = 0;  // the station's stored up cursor when staged
    size_t changes = 0;        // in the Up, refused ones included
    uint32_t refused = 0;      // out of its scope, or not its own write
  };
  std::optional<StagedUp> StageUp(const SyncMessage& up, uint64_t now_ms,
                                  std::vector<Outgoing>& out);
  void FinishUp(const StagedUp& staged, const Result<RemoteOutcome>& outcome, uint64_t now_ms,
                std::vector<Outgoing>& out);
  // Liveness, heartbeats, resends, and new log entries for the station.
  void Tick(uint64_t now_ms, std::vector<Outgoing>& out);
  // Sends new log entries now (call after the hub's log grew).
  void Pump(uint64_t now_ms, std::vector<Outgoing>& out);

  // The station's scope: the units of its group (sorted). A change while linked starts a
  // snapshot of the new scope; while away, the station gets it when it says hello.
  void SetScope(std::vector<std::string> scope, uint64_t now_ms, std::vector<Outgoing>& out);

  // `syncctl verify --station`: orders the station to verify; false if it is not linked. Its
  // result is kept for status (last_verify) and handed out by TakeVerifyResults.
  bool OrderVerify(uint64_t request, const VerifyRequest& verify, uint64_t now_ms,
                   std::vector<Outgoing>& out);
  std::vector<VerifyResult> TakeVerifyResults() { return std::exchange(verify_results_, {}); }

  StationLink Report(uint64_t now_ms) const;
  bool connected() const { return connected_; }
  const std::string& peer() const { return peer_; }
  const std::string& key() const { return key_; }
  const std::string& unit() const { return unit_; }

 private:
  // Is this log entry news for the station: touching its scope and not its own? (Its head
  // suffices: Replica::ChangeHeadsAfter.)
  bool ForStation(const Change& change) const;
  bool InScope(const std::string& owner) const;
  // May the station write this change: a record of the scope it held when it wrote?
  bool MayWrite(const Record& change) const;
  // Did the station hold `owner` when it made a write that had seen `seen`: is `owner` in its
  // scope now, or did it leave the scope by a registry write the writer had not seen (it was
  // offline when its group changed)?
  bool HeldWhenWritten(const std::string& owner, const VersionVector& seen) const;
  // Did a unit the station held when it wrote (HeldWhenWritten) ever own this record (its
  // history at the hub)?
  bool OnceHeld(Table table, const std::string& id, const VersionVector& seen) const;
  // A snapshot of the whole scope as of the log's end, or (partial) of the owners the station
  // lacks as of its cursor down_acked_.
  void StartSnapshot(uint64_t now_ms, bool partial = false);
  // The scope changed while linked: a partial snapshot if the station takes one and holds its
  // old scope up to down_acked_ (no whole snapshot under way), once nothing is in flight.
  void Rescope(uint64_t now_ms);
  // The link is gone (or refused): nothing in flight, the snapshot slot given back.
  void LinkDown();
  // Takes a snapshot slot if this session has none; false if it must wait.
  bool HoldSlot(uint64_t now_ms);
  void ReleaseSlot();
  void OnLookup(const Lookup& lookup, uint64_t now_ms, std::vector<Outgoing>& out);
  void OnVerify(const VerifyQuery& query, uint64_t now_ms, std::vector<Outgoing>& out);
  void OnVerifyResult(VerifyResult result);
  void Scan();
  void OnUp(const Up& up, uint64_t now_ms, std::vector<Outgoing>& out);
  std::optional<StagedUp> StageUp(const Up& up, uint64_t now_ms, std::vector<Outgoing>& out);
  void OnDownAck(const DownAck& ack, uint64_t now_ms, std::vector<Outgoing>& out);
  void SendSnapshotPages(uint64_t now_ms, std::vector<Outgoing>& out);
  void SendStream(uint64_t now_ms, std::vector<Outgoing>& out);
  void Send(SyncBody body, uint64_t now_ms, std::vector<Outgoing>& out);
  void ReportLag(uint64_t now_ms, std::vector<Outgoing>& out);
  uint64_t Lag() const;
  // StationLink::lag_ms: reads the stamp of the oldest change in its scope it has not acknowledged.
  uint64_t LagMs(uint64_t now_ms) const;

  Replica& replica_;
  std::string unit_;
  SessionOptions options_;
  SnapshotSlots* slots_;
  LogHeads* heads_;
  bool holds_slot_ = false;
  uint64_t slot_retry_ms_ = 0;      // after a stall: no new slot before this time
  uint64_t slot_progress_ms_ = 0;   // when the slot was taken or a page last acknowledged
  std::vector<std::string> scope_;  // sorted; starts as {unit_} until the hub sets it
  // GroupHistory(unit_), read on the rare path of HeldWhenWritten, as of the log's last_seq.
  mutable std::vector<GroupSpell> earlier_scopes_;
  mutable uint64_t earlier_scopes_seq_ = UINT64_MAX;

  bool connected_ = false;
  std::string peer_;
  std::string key_;  // the key the current link authenticated with ("" when insecure)
  uint64_t link_ = 0;
  std::string station_node_;
  bool partial_snapshots_ = false;          // the current link's station takes partial snapshots
  std::vector<std::string> station_scope_;  // owners it holds whole (sorted): its Hello's
                                            // scope, then each finished snapshot's
  uint64_t last_heard_ms_ = 0;
  uint64_t last_sent_ms_ = 0;
  bool ever_connected_ = false;

  // Up stream.
  uint32_t offer_next_page_ = 0;
  uint64_t pending_up_ = 0;
  uint64_t up_total_ = 0;
  uint64_t rejected_total_ = 0;
  uint64_t rejected_out_of_scope_total_ = 0;  // of rejected_total_
  uint64_t rejected_invalid_total_ = 0;       // of rejected_total_
  uint64_t refused_total_ = 0;
  std::string last_refusal_;

  // Look-ups: a fixed window of one minute.
  uint64_t lookup_window_ms_ = 0;
  uint32_t lookups_in_window_ = 0;
  // Verify queries: the same.
  uint64_t verify_window_ms_ = 0;
  uint32_t verifies_in_window_ = 0;
  // Verify orders sent and not yet reported (request -> deep), their results, the last one.
  std::map<uint64_t, bool> verify_orders_;
  std::vector<VerifyResult> verify_results_;
  std::optional<LastVerify> last_verify_;

  // Down stream. scope_entries_: log entries for the station in (down_acked_, scanned_].
  uint64_t down_acked_ = 0;
  uint64_t down_sent_ = 0;
  uint64_t scanned_ = 0;
  struct ScopeEntry {
    uint64_t seq;
    Table table;
    std::string id;
  };
  std::deque<ScopeEntry> scope_entries_;
  std::deque<uint64_t> in_flight_;  // per batch: its `to` (stream) or page number (snapshot)
  uint64_t progress_ms_ = 0;
  uint64_t down_total_ = 0;
  uint64_t reported_lag_ = UINT64_MAX;
  uint64_t last_empty_down_ms_ = 0;

  // Snapshot in progress: pages of the scope as of log position snapshot_at_.
  bool snapshotting_ = false;
  bool snapshot_partial_ = false;
  bool rescope_pending_ = false;  // a partial snapshot starts once no stream batch is in flight
  std::vector<std::string> snapshot_scope_;   // the scope its last page names
  std::vector<std::string> snapshot_owners_;  // the owners the pages list, in code order
  uint64_t snapshot_id_ = 0;  // distinguishes a restarted snapshot's pages and acks (from the
                              // wall clock: above every id of the hub's earlier runs)
  uint64_t snapshot_at_ = 0;
  uint64_t snapshot_up_covered_ = 0;  // the station's log we held when it began
  Stamp snapshot_stamp_;
  struct PageStart {
    size_t owner = 0;   // index into snapshot_owners_
    std::string after;  // list cursor within that owner's records
  };
  std::vector<PageStart> page_starts_;  // page p lists records from page_starts_[p]
  uint32_t next_page_ = 0;
  uint32_t acked_pages_ = 0;
  bool sent_last_page_ = false;
  uint64_t snapshot_left_ = 0;        // records of the scope not yet acknowledged (for lag)
  uint64_t snapshot_total_ = 0;       // snapshot_left_ when the snapshot began (for progress)
  uint64_t snapshot_started_ms_ = 0;  // when the snapshot began (for lag_ms)
};

}  // namespace stationsync
