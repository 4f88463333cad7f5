// Serves the local API (schema/api.capnp) on a ZeroMQ ROUTER socket, on the daemon's one thread.
//
// Group commit: each turn of the loop drains every request already waiting (up to
// kDrainRequestsMax) and commits all the writes among them in one durable batch; a response to a
// write is sent only after that batch is durable. Requests are answered in the order they
// arrived, so a client's read that follows its write sees it.
//
// Untrusted input: a malformed frame or message is logged and answered with kInvalid where it
// can be; it never stops the loop.
//
// Scope (role "station"): writes to units and to records outside the station's scope (its group
// of merged units) are refused with kRefused before they reach the replica
// (sync/protocol/write_scope.h). The hub writes anything.
//
// Regrouping (merge, unmerge, transfer; sync/protocol/regroup.h) is made at the hub only (a station
// answers kRefused). Each is planned against the committed registry and committed on its own: the
// writes that arrived before it are committed first, and it is committed before anything after it
// is planned, so two merges in one turn cannot together make a loop that neither makes alone.
//
// Digests (digest): a station answers for its own scope (Replica::Scope()) and refuses another
// unit's; the hub answers for any registry unit's group and refuses a request naming none.
//
// Backups (backup): the checkpoint is made on this thread between two group commits, the copy to
// the backup directory on a thread of its own (daemon/backup.h), from the source SetBackupSource
// gave (by default: no data directory, no key pair). The answer is sent by FinishBackups once the
// copy is done, so it may come after answers to later requests. One backup at a time: another
// is answered kUnavailable while one runs. Destroying the server cancels a running copy (nothing
// is kept) and waits for its thread.
//
// Remote look-ups (getRemote): the hub reads its own replica. A station hands the look-up to its
// hub link through the LookupStarter and answers when the daemon calls CompleteLookup, so the
// answer may come after answers to later requests; without a starter it answers kUnavailable.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "daemon/backup.h"
#include "daemon/latency_histogram.h"
#include "sync/base/status.h"
#include "sync/codec/api_codec.h"
#include "sync/protocol/sync_status.h"
#include "sync/storage/replica.h"

namespace stationsync {

inline constexpr size_t kDrainRequestsMax = 512;
inline constexpr size_t kBatchItemsMax = 10000;
inline constexpr size_t kLookupsInFlightMax = 256;

class ApiServer {
 public:
  // `context` and `replica` are borrowed and must outlive the server. `role` is "station" or
  // "hub". `sync_status` reports the sync links for `syncctl status`, on this server's thread;
  // empty: a station without a hub link (not connected, every local change pending).
  ApiServer(zmq::context_t& context, std::string endpoint, Replica& replica, std::string role,
            std::function<SyncStatus()> sync_status = {});
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // kInvalid if the endpoint is malformed, kUnavailable if it cannot be bound.
  Status Bind();
  // Binds the same socket to an inproc:// endpoint too, for clients inside this process (the
  // HTTP app API, daemon/http/api_bridge.h): their requests are served exactly as those of the
  // API endpoint, in the same turns and group commits. Call after Bind(); kInvalid for an
  // endpoint that is not inproc://.
  Status BindInProcess(const std::string& endpoint);
  // For the daemon's loop (daemon/run_node.h), which waits on socket(): serves every request
  // waiting on socket() now; true if local writes were committed (so the sync link has news).
  bool ServeReady();
  zmq::socket_t& socket() { return socket_; }

  // What a backup copies besides the store: the node's key pair, and the data directory a backup
  // may not be written into.
  void SetBackupSource(BackupSource source) { backup_source_ = std::move(source); }
  // Answers the running backup if its copy is done. The daemon's loop calls it every turn.
  void FinishBackups();
  bool backup_running() const { return backup_.has_value(); }

  // Starts a look-up at the hub for a station's `get --remote`; the daemon answers it later with
  // CompleteLookup(token, ...). Called on this server's thread, inside ServeReady(); it may call
  // CompleteLookup at once.
  using LookupStarter = std::function<void(uint64_t token, Table table, const std::string& id,
                                           const std::string& actor)>;
  void SetLookupStarter(LookupStarter start);
  // Answers the look-up `token` (on this server's thread): the record, nullopt (or a tombstone)
  // for kNotFound, or the error (kNotFound, kUnavailable, ...) as the client's code. An unknown
  // or already answered token is ignored.
  void CompleteLookup(uint64_t token, const Result<std::optional<Record>>& result);
  // Starts a station's verify (daemon/verify_runner.h); the daemon answers it later with
  // CompleteVerify(token, ...), as for look-ups. Without a starter (the hub), verify is refused.
  using VerifyStarter = std::function<void(uint64_t token, const VerifyRequest& request)>;
  void SetVerifyStarter(VerifyStarter start) { start_verify_ = std::move(start); }
  void CompleteVerify(uint64_t token, const Result<VerifyReport>& result);
  // Look-ups started and not yet answered.
  size_t lookups_pending() const { return lookups_.size(); }
  // The time of each group commit (Replica::Write of a turn's writes), on this server's thread.
  const LatencyHistogram& write_latency() const { return write_latency_; }

 private:
  struct Pending {
    zmq::message_t routing_id;
    ApiRequest request;
  };
  struct PendingBackup {
    zmq::message_t routing_id;
    uint64_t request_id = 0;
    std::string path;
    std::future<Result<BackupReport>> done;
  };
  struct PendingVerify {
    zmq::message_t routing_id;
    uint64_t request_id = 0;
  };
  struct PendingLookup {
    zmq::message_t routing_id;
    uint64_t request_id = 0;
    Table table = Table::kCase;
    std::string id;
  };

  void ServeTurn();
  void FlushWrites(std::vector<Pending>& writes);
  // The write a request asks for, or why it may not be made (for a batch, `failed_op` names the
  // item refused). Takes the request's records (a batch's thousand are not copied).
  // A put of a merged registration is redirected to the registration it was merged into
  // (person_merge.h); `redirected_from` then names the id asked for.
  Result<WriteRequest> ToWrite(ApiRequest& request, size_t& failed_op,
                               std::string& redirected_from) const;
  // Redirects the registration puts of `write` (see ToWrite) and the merged persons a case put
  // lists in `involved` (RedirectMergedInvolved); refuses a put of merged_into.
  Status RedirectMergedPersons(WriteRequest& write, size_t& failed_op,
                               std::string& redirected_from) const;
  // A person merge or unmerge (hub only): planned, and unless a dry run, committed on its own.
  ApiResponse HandlePersonMerge(const ApiRequest& request);
  // A merge, unmerge or transfer, planned against the committed registry (hub only).
  Result<WriteRequest> ToRegroup(const ApiRequest& request) const;
  ApiResponse HandleRead(const ApiRequest& request);
  Result<NodeStatus> CurrentStatus() const;
  Result<ScopeDigest> DigestOf(const std::string& code) const;
  // A station's getRemote: starts the look-up, or answers at once when it cannot be started.
  void StartLookup(zmq::message_t& routing_id, const ApiRequest& request);
  void StartVerify(zmq::message_t& routing_id, const ApiRequest& request);
  // A backup: its checkpoint now, its copy on a thread; answered by FinishBackups (or at once
  // when it cannot start).
  void StartBackupCopy(zmq::message_t& routing_id, const ApiRequest& request);
  bool is_hub() const { return role_ == "hub"; }
  void Reply(zmq::message_t& routing_id, const ApiResponse& response);

  std::string endpoint_;
  Replica& replica_;
  std::string role_;
  std::function<SyncStatus()> sync_status_;
  zmq::socket_t socket_;
  LookupStarter start_lookup_;
  std::map<uint64_t, PendingLookup> lookups_;  // by token
  uint64_t next_lookup_ = 1;                   // look-up and verify tokens
  VerifyStarter start_verify_;
  std::map<uint64_t, PendingVerify> verifies_;  // by token
  LatencyHistogram write_latency_;
  BackupSource backup_source_;
  std::atomic<bool> cancel_backup_{false};  // read by the copy's thread
  std::optional<PendingBackup> backup_;     // after cancel_backup_: destroyed before it
};

}  // namespace stationsync
