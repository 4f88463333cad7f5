// The replica: a node's records on RocksDB, with their change log, history and indexes.
//
// Ownership and threads: one Replica per data directory and one writer per Replica (the daemon's
// loop, or a test); reads may come from any thread. The Replica owns the rocksdb::DB.
//
// Invariants:
//  1. Every state change is one atomic WriteBatch: the record, its change-log entry, its history
//     entry, its index entries and the meta counters go in together, so after a crash at any
//     point either all of a change is there or none of it.
//  2. Write() returns only once the batch is durable (WAL synced), unless sync_writes is off.
//     Many requests passed to one Write() share one batch and one sync (group commit).
//  3. Bad input never reaches the batch: each request is planned and validated in full first.
//  4. Log sequence numbers are dense: 1, 2, 3, ... in commit order.
//  5. A store that RocksDB reports damaged is never opened, repaired or partly served.
//  6. A record that arrives whole from a peer (one this replica does not hold), or is created
//     by a local write whose history entry reads exactly as that, gets no stored history entry:
//     its arrival entry (merge.h, ArrivalEntry) is the record itself, so History derives it. The
//     batch that next changes the record stores that entry first, made from the record as it
//     was. A snapshot's or an import's records thus cost no history bytes (a third of a store),
//     and every History reads exactly as if each entry had been stored.
//  7. A log entry whose delta is, whole, the record its change left (a new record's first
//     change whose history reads as its arrival, so that invariant 6 holds for it too: an
//     import's records, a station's new records at the hub) does not copy it: it names the
//     record (record_codec.h, StoredChange), which keeps the entry's sequence number next to its
//     history (replica_keys.h), and the log reader takes the delta from the record. The batch
//     that next changes or evicts the record stores that entry whole first, made from the record
//     as it was. Every log read thus reads as if each delta had been stored; the hub's log costs
//     a few bytes per imported record instead of a copy of it.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include <rocksdb/db.h>

#include "sync/base/status.h"
#include "sync/records/clock_bound.h"
#include "sync/records/hlc.h"
#include "sync/records/local_write.h"
#include "sync/records/merge.h"
#include "sync/records/record.h"
#include "sync/storage/digest.h"
#include "sync/storage/verify_tree.h"

namespace stationsync {

struct ReplicaOptions {
  std::string path;        // the RocksDB directory; created when it does not exist or is empty
  std::string node;        // this node's id, stamped on every write; a store refuses another node
  std::string unit;        // the unit that owns records created here without an owner
  Clock* clock = nullptr;  // borrowed; nullptr: the system clock
  rocksdb::Env* env = nullptr;  // borrowed; nullptr: the default (tests inject faults here)
  bool sync_writes = true;      // false only in tests proving that the power-loss test bites
  // A remote change with a stamp further ahead of `clock` than this is refused (clock_bound.h).
  int64_t max_clock_ahead_ms = kMaxClockAheadMsDefault;
};

// One operation of a request: upsert the patch, or (remove) delete patch.table/patch.id.
struct WriteOp {
  bool remove = false;
  RecordPatch patch;
  bool restamp = false;  // write the named values even if unchanged (see PlanPut)
};

// A request's operations succeed or fail together.
struct WriteRequest {
  std::string actor;
  std::vector<WriteOp> ops;
  // Stored with the ops, in the same batch, when the request commits (nullopt: removed); this
  // node's own notes about a write that do not replicate, such as what undoes a person merge
  // (sync/admin/person_merge.h). Read with Replica::Annotation.
  std::map<std::string, std::optional<std::string>> annotations{};
  bool answer_records = true;  // false: the outcome's records stay empty (an import's batches)
};

struct WriteOutcome {
  Status status;
  size_t failed_op = 0;         // when not ok: the index of the op that failed
  std::vector<Record> records;  // when ok: each op's resulting record, in order (if asked)
};

// Where a peer's stream stands: valid only within the peer store's epoch (a wiped or restored
// store starts a new epoch, or is caught by the stamp check). `stamp` is the stamp of the change
// at `cursor`, so that a peer restored from an older copy, whose cursor names a different change,
// is detected.
struct PeerPosition {
  std::string epoch;
  uint64_t cursor = 0;
  Stamp stamp;
  bool operator==(const PeerPosition&) const = default;
};

// How many registration merged_into links a read or write follows (person_merge.h) before it
// gives up: a chain this long means merges of merges, which nobody plans.
inline constexpr int kMergedPersonHopsMax = 8;

// A record by key.
struct RecordRef {
  Table table = Table::kUnit;
  std::string id;
  bool operator==(const RecordRef&) const = default;
};

// A batch of changes from a peer's stream, applied atomically together with the peer's position.
struct RemoteBatch {
  std::string peer;                      // "hub" at a station, a station's unit at the hub
  std::optional<PeerPosition> position;  // stored with the changes; nullopt: keep the stored one
                                         // (snapshot and offer pages: whole states, no cursor)
  std::vector<Record> changes;           // deltas or whole states, in the peer's order
  bool log_changes = false;              // true at the hub: append them to the log (origin: peer)

  // Station only. A record that the batch leaves owned by a unit outside the scope (the new one,
  // else the stored one) is evicted rather than stored: removed with its history and conflicts,
  // without a log entry, since it left this replica's scope and not the data set.
  bool keep_scope_only = false;
  std::optional<std::vector<std::string>> new_scope;  // stored, and every record outside evicted
  std::vector<RecordRef> evict;                       // records that left the scope (if held)
};

struct RemoteOutcome {
  size_t changed = 0;                 // records that the batch changed
  size_t evicted = 0;                 // records removed because they left the scope
  size_t conflicts = 0;               // conflicts this batch found (each stored once)
  std::vector<std::string> rejected;  // changes refused (invalid, or an invalid result), why
};

struct ListQuery {
  std::optional<Table> table;  // nullopt: every table
  std::string owner;           // empty: any owner
  std::string household;       // empty: any household
  std::string after;           // opaque cursor from the previous page; empty: from the start
  size_t limit = 1000;
  bool include_deleted = false;  // tombstones too (snapshots); only by owner or over everything
  // Records as stored (Page::stored), checked (CheckStoredRecord) but not decoded; tombstones
  // included whatever include_deleted says. A snapshot page passes them through.
  bool stored = false;
};

struct Page {
  std::vector<Record> records;
  std::vector<std::string> stored;  // ListQuery::stored: EncodeRecord's bytes, in the same order
  std::string next;                 // cursor for the next page; empty when there is no more
};

// The store's size on disk, from RocksDB's properties (estimates; for metrics).
struct StoreSizes {
  uint64_t live_data_bytes = 0;  // estimated live data, every column family
  uint64_t sst_bytes = 0;        // table files of the current version, every column family
  uint64_t memtable_bytes = 0;   // memtables, every column family
  uint64_t wal_bytes = 0;        // write-ahead log files
};

class Replica {
 public:
  // Errors: kUnavailable if the store is locked by another process, kInternal (naming the file)
  // if it is damaged, kRefused if it belongs to another node.
  static Result<std::unique_ptr<Replica>> Open(const ReplicaOptions& options);
  ~Replica();
  Replica(const Replica&) = delete;
  Replica& operator=(const Replica&) = delete;

  // Plans every request, then commits all valid ones in one durable batch. outcome[i] answers
  // requests[i]; an invalid request changes nothing. If the commit fails, every request that
  // was to be committed gets kInternal and the store is unchanged.
  std::vector<WriteOutcome> Write(const std::vector<WriteRequest>& requests);

  Result<std::optional<Record>> Get(Table table, std::string_view id) const;
  // Live (not deleted) records matching the query, in key order.
  Result<Page> List(const ListQuery& query) const;
  // How many records (tombstones included) `owner` owns; reads the owner index only.
  uint64_t CountOwned(const std::string& owner) const;
  // Calls `visit` with the key ("<table>/<id>", replica_keys.h) of every record `owner` owns,
  // tombstones included, in key order; reads the owner index only.
  Status ForEachOwnedKey(const std::string& owner,
                         const std::function<void(std::string_view record_key)>& visit) const;
  // The stored record under a key ForEachOwnedKey gave (nullopt if there is none).
  Result<std::optional<Record>> GetByKey(const std::string& key) const;
  // Oldest first (by stamp); a record held with no stored entry has its arrival entry (see
  // invariant 6). Empty when the record is not held.
  Result<std::vector<HistoryEntry>> History(Table table, std::string_view id) const;
  // The live records that refer to the citizen id number `id_number` (canonical form): personnel
  // whose id_number it is and cases that list it in `involved`, in key order (not its
  // registration: that is Get(kRegistration, id_number)); kRefused if there are more than `max`.
  // Reads the id-number index only.
  Result<std::vector<RecordRef>> RecordsNaming(std::string_view id_number, size_t max) const;
  // What a committed WriteRequest::annotations left under `name` (nullopt: nothing).
  Result<std::optional<std::string>> Annotation(const std::string& name) const;
  // Up to `max` log entries with seq > after, in order.
  Result<std::vector<Change>> ChangesAfter(uint64_t after, size_t max) const;
  // The same entries decoded as heads only (DecodeChangeHead): for routing changes to scopes.
  Result<std::vector<Change>> ChangeHeadsAfter(uint64_t after, size_t max) const;

  // Merges a peer's changes (merge.h) and stores, in one durable batch, the merged records, their
  // history and indexes, new conflicts, (at the hub) log entries, and the peer's position, so the
  // position never runs ahead of what it covers. Every change is checked first (validate.h); an
  // invalid change, or one whose merge would leave an invalid record, is skipped and reported in
  // `rejected`, so one bad record cannot stall a stream. The caller checks that the batch follows
  // the stored position (sessions do).
  //
  // At the hub (log_changes), a station's change that meets a merged person (person_merge.h)
  // gets a follow-up write in the same batch, by the hub for the change's actor: fields written
  // to a merged registration's tombstone are written to the registration its merged_into chain
  // leads to (a station offline during the merge wrote to the old number), and a case's
  // `involved` or a personnel `id_number` naming a merged registration is rewritten to name the
  // kept one. A follow-up that cannot be applied (the kept record would become invalid) is
  // reported in `rejected`; the station's write stays where it landed. A station may not write
  // `merged_into` itself: such a change is rejected.
  Result<RemoteOutcome> ApplyRemote(const RemoteBatch& batch);
  // The same, taking the batch's records: a record new here is moved into the stored state
  // rather than copied (a snapshot page is a thousand such). The rest of the batch is untouched.
  Result<RemoteOutcome> ApplyRemote(RemoteBatch&& batch);
  // Several peers' batches in one durable write (the hub's group commit): as ApplyRemote for
  // each, in order (a later batch merges into what the earlier ones left), all or nothing. Takes
  // the batches' records as ApplyRemote(RemoteBatch&&) does.
  Result<std::vector<RemoteOutcome>> ApplyRemoteGroup(std::span<RemoteBatch> group);
  // The peer's stream position last stored (all empty: none).
  PeerPosition Peer(const std::string& peer) const;
  // Replaces the peer's position (a new peer epoch). Durable.
  Status SetPeer(const std::string& peer, const PeerPosition& position);
  // The stamp of the log entry at `seq` (the newest write of its change); kNotFound if none.
  Result<Stamp> LogStamp(uint64_t seq) const;
  // Conflicts not yet resolved, by record. A later write to a conflict's field, stamped above
  // both sides (a resolution, or simply a newer write), closes it.
  Result<std::vector<Conflict>> OpenConflicts() const;

  // The digest of the records owned by the units of `scope` (sorted, unique); see digest.h.
  ScopeDigest Digest(const std::vector<std::string>& scope) const;
  // The units whose records this replica holds: at a station, its group as the hub last sent it
  // (RemoteBatch::new_scope), at first only its own unit. Sorted.
  std::vector<std::string> Scope() const;

  // A moment of this replica's stored state (a RocksDB snapshot, released with the last copy):
  // reads given it see no write made after it was taken, from whichever thread they run. It must
  // not outlive the replica.
  using ReadPoint = std::shared_ptr<const rocksdb::Snapshot>;
  ReadPoint TakeReadPoint() const;

  // The verify tree (verify_tree.h), as this replica keeps it in the same batches as the
  // records. A node's sum: maintained for levels 0-12, summed from its records for a leaf.
  Result<DigestBucket> TreeNodeSum(const TreeNode& node) const;
  // The records under `node` as the tree index lists them, in slot then key order; kInvalid if
  // there are more than `max`.
  struct TreeRecord {
    std::string key;  // "<table>/<id>"
    uint16_t slot = 0;
    RecordHash hash{};
    std::string version;  // VersionString
  };
  // `as_of`: read the replica as it was at that read point (null: as it is now).
  Result<std::vector<TreeRecord>> TreeRecords(const TreeNode& node, size_t max,
                                              const ReadPoint& as_of = {}) const;
  // Every stored record's key and encoding, in key order, read from the records family itself
  // and not through any index or sum (`verify --deep`). Stops at the first error `visit` returns.
  Status ForEachStoredRecord(
      const std::function<Status(std::string_view key, std::string_view encoded)>& visit,
      const ReadPoint& as_of = {}) const;
  // Makes the stored records under the given keys equal to the given states (nullopt: none), in
  // one durable batch, with a history entry by `actor` for each record replaced; a record removed
  // goes with its history, as an eviction does, and so does a state owned outside this
  // station's scope. No log entry: the states come from the hub,
  // which holds them already (`verify --repair`).
  Status Repair(const std::vector<std::pair<std::string, std::optional<Record>>>& states,
                const std::string& actor);
  // Rebuilds every index, digest bucket, tree sum and the record counter from the stored records
  // (after a repair of damage made behind the replica's back, or for a store made before the
  // tree was kept). Crash-safe: a start that finds a rebuild unfinished runs it again.
  Status RebuildDerived();

  // Gives the store a new epoch (durably): for a store found to be an older copy of itself, so
  // that peers stop trusting positions they hold for it and it offers everything again.
  Status StartNewEpoch();

  // Advisory counters that need not survive a power cut (e.g. the last acknowledgement a peer
  // reported, for status while it is away). Not synced; 0 when never set.
  void SetNote(const std::string& name, uint64_t value);
  uint64_t Note(const std::string& name) const;

  // Read-only figures for metrics (replica_stats.cc), safe from any thread. Sizes reads
  // RocksDB's properties and lists the WAL files. CountStoredByTable reads every key of the
  // records family (no values decoded): records by table, tombstones included; not for hot paths.
  StoreSizes Sizes() const;
  Result<std::map<Table, uint64_t>> CountStoredByTable() const;

  // Checks that every record decodes and validates, that indexes hold exactly the keys the
  // records imply, and that the counters match. Reads everything.
  Status CheckIntegrity() const;

  const std::string& node() const { return options_.node; }
  // The wall clock this replica stamps with (ms since the epoch), and its bound on peers' stamps.
  int64_t WallMs() const { return options_.clock->NowMs(); }
  int64_t max_clock_ahead_ms() const { return options_.max_clock_ahead_ms; }
  const std::string& unit() const { return options_.unit; }
  std::string epoch() const;
  uint64_t last_seq() const { return last_seq_.load(); }
  uint64_t record_count() const { return record_count_.load(); }
  // Records changed by durable commits since this Replica was opened: stored, evicted or
  // repaired, by local writes and peers' batches alike (what a change feed announces).
  uint64_t changed_total() const { return changed_total_.load(); }

  // Writes an openable copy of the store as it is now into `dir` (a RocksDB checkpoint:
  // replica_checkpoint.cc), and returns the log position it holds (last_seq at that moment).
  // `dir` must be an absolute path that does not exist; its parent must. Table files are hard
  // links when `dir` is on the store's file system, copies otherwise; the rest is copied. Call
  // it on the writer's thread, between writes, so that the position is exactly the copy's.
  // kInternal (nothing left at `dir`) if RocksDB fails.
  Result<uint64_t> Checkpoint(const std::string& dir) const;

  // Writes the memtables to table files, so that the next start replays no log (a clean stop
  // calls it; a kill leaves logs, bounded by ReleaseRecoveredLogs at the next start). Best
  // effort: a failure is logged, and the logs still hold everything.
  void FlushForNextStart();

  // Test hook: damage behind the replica's back, as bit rot or a restored file would: puts the
  // encoding under `key` in the records family (nullopt: deletes it), touching nothing else.
  Status TEST_PutRawRecord(const std::string& key, const std::optional<std::string>& encoded);
  // Test hook: how many history entries are stored for the record (invariant 6 derives one).
  size_t TEST_StoredHistoryEntries(Table table, std::string_view id) const;
  // Test hook: whether the log entry at `seq` is stored naming its record (invariant 7).
  bool TEST_LogEntryNamesRecord(uint64_t seq) const;
  // Test hook: runs after planning and before the durable write of each group.
  void TEST_SetBeforeCommit(std::function<void()> hook) { before_commit_ = std::move(hook); }

 private:
  struct Handles;
  explicit Replica(const ReplicaOptions& options);
  Status Load();
  Status ReleaseRecoveredLogs();
  // Log entries after `after`; `heads`: as DecodeChangeHead reads them, without the records that
  // entries naming one leave out (invariant 7).
  Result<std::vector<Change>> ReadLog(uint64_t after, size_t max, bool heads) const;

  // Records a batch being built will have written, by key (nullopt: known absent).
  using Overlay = std::unordered_map<std::string, std::optional<Record>>;
  // What a batch being built leaves of the counters: live records, and the digest buckets of
  // the owners it touched.
  struct Tally {
    uint64_t live = 0;
    std::map<std::string, DigestBucket> buckets;
    std::map<std::string, DigestBucket> tree;  // by TreeNodeKey: what the batch adds to the sum
    // What the batch knows of the keys it touched: whether a record's history has a stored entry
    // (invariant 6), and the log entry that names it (invariant 7; nullopt: none; its delta is
    // left empty, the record's state at the time is what it names). A key not here
    // is looked up in `outer` (a group commit's requests so far), then in the store.
    struct Arrivals {
      std::unordered_map<std::string, bool> history_stored;
      std::unordered_map<std::string, std::optional<Change>> logged_whole;
    };
    Arrivals arrivals;
    const Arrivals* outer = nullptr;
    uint64_t changed = 0;  // records the batch stores or removes
  };
  Tally StartTally() const;
  DigestBucket& BucketFor(Tally& tally, const std::string& owner) const;
  // Counts a record's stored encoding in (or out of) its owner's bucket and its tree nodes.
  void TallyRecord(Tally& tally, const Record& record, std::string_view encoded, bool add) const;
  // The record as the batch being built will leave it: the first overlay that has the key wins,
  // else the store.
  Result<std::optional<Record>> Current(const std::string& key,
                                        std::initializer_list<const Overlay*> overlays) const;
  // Adds one peer batch of ApplyRemoteGroup to `batch` (log entries from seq + 1 on).
  Status StageRemote(RemoteBatch& remote, rocksdb::WriteBatch& batch, Overlay& overlay,
                     Tally& tally, uint64_t& seq, RemoteOutcome& outcome);
  // Adds a planned local write (local_write.h) to `batch`: the record (StageRecord), its log
  // entry numbered ++seq, and its history entry (none for a new record whose entry is its
  // arrival entry: invariant 6; then the log entry names the record if it can: invariant 7).
  Status StageLocalPlan(rocksdb::WriteBatch& batch, const std::string& key,
                        const std::optional<Record>& current, WritePlan& plan, Tally& tally,
                        uint64_t& seq) const;
  // Adds `change`, the log entry of the change that left `record` under `key`, to `batch`: naming
  // the record when it is new in this change with no stored history and its delta is the record
  // whole (invariant 7), else whole. After StageRecord and PutHistory.
  void PutLogEntry(rocksdb::WriteBatch& batch, const std::string& key, const Change& change,
                   const Record& record, bool record_is_new, Tally& tally) const;
  // The log entry naming the record under `key` (its head: the delta holds table, id, owner and
  // updated), as the batch being built leaves it; nullopt if none does.
  Result<std::optional<Change>> LoggedWhole(const Tally& tally, const std::string& key) const;
  // For a held record about to change or go: stores whole the log entry that names it, if one
  // does (invariant 7), made from `current`, the record as it is.
  Status StageLoggedDelta(rocksdb::WriteBatch& batch, const std::string& key, const Record& current,
                          Tally& tally) const;
  // At the hub, after a station's `change` merged into `record` (changing what `history` says):
  // the follow-up writes that ApplyRemote describes for merged persons. Adds them to the batch
  // and the overlay.
  Status StageMergedPersonFollowUps(const Record& change, const Record& record,
                                    const HistoryEntry& history, rocksdb::WriteBatch& batch,
                                    Overlay& overlay, Tally& tally, uint64_t& seq,
                                    RemoteOutcome& outcome);
  // Adds to `batch` the replacement of `current` by `next` under `key`: the record, its index
  // entries, and the live-record count and digest buckets in `tally`. A held record whose history
  // has no stored entry gets its arrival entry first (invariant 6), and the log entry naming it,
  // if one does, stored whole (invariant 7); the change's own entries are the caller's
  // (PutHistory, PutLogEntry). Also closes the record's open conflicts that `written` (the write as
  // its writer made it: the registers it set, and in `seen` everything its writer had seen)
  // overwrote, having seen both sides. Errors: reading what invariant 7 needs.
  Status StageRecord(rocksdb::WriteBatch& batch, const std::string& key,
                     const std::optional<Record>& current, const Record& next,
                     const Record& written, Tally& tally) const;
  // Adds a history entry of the record under `key` to `batch`.
  void PutHistory(rocksdb::WriteBatch& batch, const std::string& key, const HistoryEntry& entry,
                  Tally& tally) const;
  // Whether the record's history, as the batch being built leaves it, has a stored entry.
  Result<bool> HistoryStored(const Tally& tally, const std::string& key) const;
  // Adds to `batch` the eviction of `current` (a record that left this replica's scope): the
  // record, its indexes, history and conflicts; no log entry (one naming it is stored whole).
  Status StageEviction(rocksdb::WriteBatch& batch, const std::string& key, const Record& current,
                       Tally& tally) const;
  // Stages the eviction of every record owned by a unit outside `scope` (the overlay holds the
  // batch's records so far, which win over the store's), and the scope. Returns how many.
  Result<size_t> StageEvictOutside(rocksdb::WriteBatch& batch,
                                   const std::vector<std::string>& scope, Overlay& overlay,
                                   Tally& tally) const;
  // Adds to `batch` the removal of the open conflicts of `key` whose register `written` set in
  // `next`, above both sides, having seen both. A write to other registers closes none: the
  // register's value may come from a write that never saw the conflict's losing side.
  void StageClosedConflicts(rocksdb::WriteBatch& batch, const std::string& key, const Record& next,
                            const Record& written) const;
  // Adds the counters every record-changing batch writes: HLC, live records, last sequence,
  // and the digest buckets it touched.
  void StageCounters(rocksdb::WriteBatch& batch, const Tally& tally, uint64_t seq) const;
  // After the batch is durable: the in-memory counters follow it.
  void CommitTally(Tally& tally);
  // Reads the digest buckets and the scope; builds the buckets for a store made before they
  // were kept.
  Status LoadDigests();
  // Rebuilds what RebuildDerived builds if the store predates the verify tree or a rebuild was
  // cut short.
  Status LoadTree();
  // CheckIntegrity's part for the verify tree's maintained sums.
  Status CheckTreeSums() const;
  // CheckIntegrity's part for invariant 7, given the log entries naming a record (record key ->
  // their seq and the record's stamp as they left it).
  Status CheckLoggedWhole(const std::map<std::string, std::pair<uint64_t, Stamp>>& named) const;

  ReplicaOptions options_;
  std::unique_ptr<SystemClock> own_clock_;
  std::unique_ptr<Handles> db_;
  std::unique_ptr<Hlc> hlc_;
  mutable std::mutex epoch_mutex_;  // epoch_ changes only in StartNewEpoch
  std::string epoch_;
  // Atomic so that readers on other threads see a committed value (the writer stores after the
  // commit): a reader never sees a sequence that is not yet durable.
  std::atomic<uint64_t> last_seq_ = 0;
  std::atomic<uint64_t> record_count_ = 0;
  std::atomic<uint64_t> changed_total_ = 0;
  // Digest buckets by owner, as committed (the writer updates them after each commit).
  mutable std::mutex digest_mutex_;
  std::map<std::string, DigestBucket> digests_;
  std::vector<std::string> scope_;  // under digest_mutex_
  std::function<void()> before_commit_;
};

}  // namespace stationsync
