// A station's `syncctl verify` from start to answer, on the daemon's loop: the walk
// (sync/admin/verify_walk.h) over the sync link, then with --repair the fetch of the hub's states
// of the differing records, their repair (Replica::Repair, one durable batch per fetch), the
// rebuild of the kept sums after a deep repair, and a second walk.
//
// One verify at a time; a second is refused (kUnavailable). Queries are paced below the hub's
// limit (a burst of 60, then 2 a second). Every query waits at most
// kVerifyStepTimeoutMs for its reply; the link down for as long, or the hub refusing a query, ends
// the verify with kUnavailable (exit 3). Reading the station's records (the walk's comparisons, a
// deep verify's full read) runs on a thread of its own, so the loop keeps syncing meanwhile; the
// repair and the rebuild after a deep repair write, so they run on the loop. A record the station
// changed since the walk, or that the hub marks in flight, is never repaired: it is still syncing,
// and overwriting it could lose an acknowledged write.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "sync/admin/verify_walk.h"
#include "sync/codec/api_codec.h"
#include "sync/protocol/station_session.h"
#include "sync/storage/replica.h"

namespace stationsync {

inline constexpr uint64_t kVerifyStepTimeoutMs = 30000;

class VerifyRunner {
 public:
  using Send = std::function<void(const VerifyQuery& query)>;
  using Complete = std::function<void(uint64_t token, const Result<VerifyReport>& result)>;
  // All borrowed; they outlive the runner.
  VerifyRunner(Replica& replica, const StationSession& session, Send send, Complete complete);
  ~VerifyRunner();

  // A verify asked for by API request `token`; answered through `complete` (perhaps at once).
  void Start(uint64_t token, const VerifyRequest& request, uint64_t now_ms);
  // The loop hands over every verify reply the session received, and ticks the deadline.
  void OnReply(const VerifyReply& reply, uint64_t now_ms);
  void Tick(uint64_t now_ms);
  bool running() const { return job_ != nullptr; }

 private:
  struct Job;
  // Runs the station's side of a step on a thread; Tick advances when it is done.
  void RunLocal(std::function<Status()> work);
  // Sends the job's next query, or finishes the phase it is in.
  void Advance(uint64_t now_ms);
  void SendQuery(VerifyQuery query, uint64_t now_ms);
  // Sends the query held for pacing if a token is free (else Tick tries again).
  void SendHeld(uint64_t now_ms);
  // Starts a walk over the scope, deep or not (a deep one reads every record first).
  Status StartWalk();
  Status Repair(const VerifyReply& reply);
  void Finish(const Result<VerifyReport>& result);
  // Whether the station changed the record and the hub has not acknowledged it yet.
  bool LocalInFlight(Table table, const std::string& id);

  Replica& replica_;
  const StationSession& session_;
  Send send_;
  Complete complete_;
  std::unique_ptr<Job> job_;
};

}  // namespace stationsync
