// The station's side of sync, as pure logic: it takes decoded messages and the time, reads and
// writes the replica, and returns the messages to send. No socket, clock, thread or randomness,
// so the simulation (tests/sim_test.cc) can drive it through any fault schedule.
//
// Streams (schema/sync.capnp):
//  - up: the station's log after the hub's acknowledged cursor, in batches of deltas; at most
//    `window` unacknowledged; resent from the acknowledged cursor after a gap or a timeout.
//  - down: the hub's batches are applied only in order (from == the stored cursor, or the next
//    snapshot page); the cursor is stored in the same batch as the records (Replica::ApplyRemote);
//    the acknowledgement is sent after that batch is durable.
//  - offer: when the hub lost history, every record of the replica is offered as a whole state
//    before the log stream resumes.
// Invariants:
//  1. Nothing is acknowledged before it is durable, and the stored down cursor never passes a
//     batch that was not applied.
//  2. A message of another link (an older connection) is ignored.
//  3. The hub's word on what it holds (Welcome.up_cursor) is trusted over our own notes, so a
//     hub restored from an older copy gets everything it lost again.
//  4. If the hub holds more of our log than we have (our store is an older copy of itself), the
//     store starts a new epoch and offers everything, so no later write is taken for a replay.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "sync/base/appended_key_set.h"
#include "sync/protocol/session_options.h"
#include "sync/protocol/sync_message.h"
#include "sync/protocol/sync_status.h"
#include "sync/storage/replica.h"

namespace stationsync {

inline constexpr char kHubPeer[] = "hub";  // the station's name for the hub's stream

struct StationStep {
  std::vector<SyncMessage> out;
  bool new_link = false;  // start a fresh connection before sending `out` (it begins with Hello)
};

class StationSession {
 public:
  // `replica` is borrowed and must outlive the session.
  StationSession(Replica& replica, SessionOptions options);

  // Taken by value: a page's records move into the store's batch (callers that keep theirs copy).
  StationStep Receive(SyncMessage message, uint64_t now_ms);
  // Heartbeats, liveness, reconnects, resends, and new local writes.
  StationStep Tick(uint64_t now_ms);
  // Sends new local writes now (call after a local commit, to cut latency).
  StationStep Pump(uint64_t now_ms);
  // Stopping cleanly: tells the hub, which shows the link down at once instead of after
  // silence_ms. The session is idle afterwards.
  StationStep Goodbye(uint64_t now_ms);

  // Asks the hub for a record outside our scope (`syncctl get --remote`); sends nothing unless
  // linked. Replies arrive through TakeLookupReplies; the caller times out what never does.
  StationStep StartLookup(uint64_t request, Table table, const std::string& id,
                          const std::string& actor, uint64_t now_ms);
  std::vector<LookupReply> TakeLookupReplies();
  // A step of `syncctl verify` (sync/admin/verify_walk.h), in the same way: sends nothing unless
  // linked; replies arrive through TakeVerifyReplies.
  StationStep StartVerify(const VerifyQuery& query, uint64_t now_ms);
  std::vector<VerifyReply> TakeVerifyReplies();
  // The hub's orders to verify (`syncctl verify --station`), and the report of one.
  std::vector<VerifyOrder> TakeVerifyOrders();
  StationStep SendVerifyResult(const VerifyResult& result, uint64_t now_ms);
  // Whether the link is up and carries the log streams (no offer of whole states under way), so
  // that what is in flight is exactly the station's log after up_acked().
  bool streaming() const { return linked() && !offering_; }
  // The station's log position the hub acknowledged holding.
  uint64_t up_acked() const { return up_acked_; }

  SyncStatus Report() const;
  bool linked() const { return state_ == State::kLinked; }
  const std::string& refusal() const { return refusal_; }

 private:
  enum class State { kIdle, kHelloSent, kLinked };

  void StartLink(uint64_t now_ms, StationStep& step);
  void DropLink(uint64_t now_ms, uint64_t retry_after_ms);
  // Stops syncing for now (a clock out of bounds): logs the reason once, shows it in status.
  void RefuseHub(const std::string& reason, uint64_t now_ms);

 public:
  // A problem with the link below the protocol (the hub refused our key at the handshake):
  // logged once, shown in status until a Welcome.
  void NoteLinkProblem(const std::string& problem);

 private:
  void OnWelcome(const Welcome& welcome, uint64_t now_ms, StationStep& step);
  // At a link without a snapshot: removes records outside the stored scope (see the .cc).
  void EvictAbandonedSnapshotPages();
  void OnUpAck(const UpAck& ack, uint64_t now_ms, StationStep& step);
  void OnDown(Down& down, uint64_t now_ms, StationStep& step);
  void OnHeartbeat(const Heartbeat& heartbeat);
  void SendUp(uint64_t now_ms, StationStep& step);
  void SendOffer(uint64_t now_ms, StationStep& step);
  void Send(SyncBody body, uint64_t now_ms, StationStep& step);
  uint64_t PendingUp() const;
  Hello MakeHello() const;

  Replica& replica_;
  SessionOptions options_;
  State state_ = State::kIdle;
  uint64_t link_ = 0;
  uint64_t links_started_ = 0;
  uint64_t next_attempt_ms_ = 0;
  uint32_t attempts_ = 0;
  uint64_t last_heard_ms_ = 0;
  uint64_t last_sent_ms_ = 0;
  std::string refusal_;
  int64_t clock_ahead_ms_ = 0;  // ours minus the hub's, as last measured
  std::string hub_epoch_;
  uint32_t window_ = 1;

  // Up stream: the hub holds up to up_acked_; we sent up to up_sent_; each in-flight batch's end.
  uint64_t up_acked_ = 0;
  uint64_t up_sent_ = 0;
  std::deque<uint64_t> up_in_flight_;
  uint64_t up_progress_ms_ = 0;
  uint64_t reported_pending_ = UINT64_MAX;

  // Offer: pages of whole states; page_starts_[p] is the list cursor page p starts after.
  bool offering_ = false;
  std::vector<std::string> offer_page_starts_;
  uint32_t offer_next_page_ = 0;
  uint32_t offer_acked_pages_ = 0;  // pages 0..n-1 are stored at the hub
  bool offer_sent_last_ = false;

  // Down stream.
  uint32_t snapshot_next_page_ = 0;
  uint64_t snapshot_id_ = 0;  // the snapshot whose pages we apply (or applied last)
  bool snapshot_done_ = false;
  bool offering_this_link_ = false;  // the hub lost history: its snapshot may lack our records
  AppendedKeySet snapshot_keys_;     // records the snapshot's pages named, until its last page
  // Records of `scope` that we hold but the finished snapshot did not name: they left the scope
  // while we were away, unless we wrote them after the hub's `up_covered` position.
  Result<std::vector<RecordRef>> StaleAfterSnapshot(const std::vector<std::string>& scope,
                                                    uint64_t up_covered) const;
  std::vector<LookupReply> lookup_replies_;
  std::vector<VerifyReply> verify_replies_;
  std::vector<VerifyOrder> verify_orders_;
  uint64_t lag_records_ = 0;
};

}  // namespace stationsync
