// A client of a syncd's local API (ZeroMQ DEALER to the daemon's ROUTER), used by syncctl, by
// tests, and inside syncd by the HTTP app API (daemon/http/api_bridge.h, over inproc:// in the
// daemon's own context). One request in flight at a time; not thread-safe: one thread at a time
// (it may move between threads when handed over under a mutex, as ZeroMQ sockets may).
//
// Every call is bounded by the timeout given at construction and returns kUnavailable when the
// daemon does not answer in time; otherwise the daemon's own status.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <zmq.hpp>

#include "sync/base/status.h"
#include "sync/codec/api_codec.h"

namespace stationsync {

class ApiClient {
 public:
  ApiClient(std::string endpoint, std::chrono::milliseconds timeout, std::string actor);
  // A client in `context` (borrowed; it must outlive the client): an inproc:// endpoint is only
  // reachable from sockets of the context that bound it.
  ApiClient(zmq::context_t& context, std::string endpoint, std::chrono::milliseconds timeout,
            std::string actor);

  // Sends the request (its id is assigned here) and waits for the matching response.
  Result<ApiResponse> Call(ApiRequest request);

  // `cancel` (borrowed, may be null: none; it must outlive the client) lets another thread cut
  // calls short: while it is true, Call returns kUnavailable at once, and a call waiting for its
  // answer sees it within kCancelCheckMs and returns kUnavailable (dropping its socket, so a late
  // answer is never read as another's). For the HTTP server's stop (daemon/http/api_bridge.h).
  void SetCancel(const std::atomic<bool>* cancel) { cancel_ = cancel; }
  static constexpr int64_t kCancelCheckMs = 20;

  Status Ping();
  Result<Record> Put(const RecordPatch& patch);
  // A registration merged into another (person_merge.h) answers with the kept one; then
  // `redirected_from` (if given) receives the id asked for, else it is cleared.
  Result<Record> Get(Table table, const std::string& id, std::string* redirected_from = nullptr);
  Result<Record> Delete(Table table, const std::string& id);
  Result<Page> List(const ListQuery& query);
  Result<std::vector<HistoryEntry>> History(Table table, const std::string& id);
  // All or nothing. On kInvalid, `errors` (if given) receives each refused item.
  Result<std::vector<Record>> PutBatch(std::vector<RecordPatch> batch,
                                       std::vector<BatchError>* errors = nullptr);
  // PutBatch, answered with the status only: the daemon neither encodes nor sends the stored
  // records (about a tenth of its work in an import).
  Status PutBatchWithoutRecords(std::vector<RecordPatch> batch,
                                std::vector<BatchError>* errors = nullptr);
  Result<NodeStatus> GetStatus();
  Result<std::vector<Conflict>> Conflicts();
  // Writes the chosen value of an open conflict (conflict_resolution.h); the resulting record.
  Result<Record> ResolveConflict(const ConflictChoice& choice);
  // The digest of `scope_code`'s group; empty: a station's own group (the hub refuses that).
  Result<ScopeDigest> Digest(const std::string& scope_code);
  // Hub only. The members' unit records as stored, in request order (all or none).
  Result<std::vector<Record>> Merge(const MergeRequest& merge);
  // Hub only. The unit record as stored.
  Result<Record> Unmerge(const std::string& code);
  // Hub only. The record as stored, owned by transfer.to.
  Result<Record> Transfer(const TransferRequest& transfer);
  // Hub only. Merges person.duplicate into person.keep, or (unmerge) undoes the merge of
  // person.duplicate; with person.dry_run only says what it would change (person_merge.h).
  Result<PersonMergeReport> PersonMerge(const PersonMergeRequest& person);
  Result<PersonMergeReport> PersonUnmerge(const PersonMergeRequest& person);
  // The hub's copy of a record (at a station, asked through its daemon's hub link).
  // As Get, for a registration merged at the hub.
  Result<Record> GetRemote(Table table, const std::string& id,
                           std::string* redirected_from = nullptr);

  // A consistent copy of the daemon's store and key pair in `dir` (absolute; new or empty), made
  // by the daemon (daemon/backup.h): what it wrote. kRefused if `dir` holds anything.
  Result<BackupReport> Backup(const std::string& dir);
  // Station: compares the replica with the hub's view of its scope (sync/admin/verify_walk.h);
  // kUnavailable when not linked to the hub.
  Result<VerifyReport> Verify(const VerifyRequest& verify);

  const std::string& endpoint() const { return endpoint_; }

 private:
  Status Reconnect();

  std::string endpoint_;
  std::chrono::milliseconds timeout_;
  std::string actor_;
  std::unique_ptr<zmq::context_t> own_context_;  // null when the context is borrowed
  zmq::context_t* context_;                      // own_context_, or the borrowed one
  std::unique_ptr<zmq::socket_t> socket_;
  uint64_t next_id_ = 1;
  const std::atomic<bool>* cancel_ = nullptr;
};

}  // namespace stationsync
