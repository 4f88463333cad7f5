#include "sync/storage/replica.h"

#include <cstdarg>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include <fmt/format.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/options_util.h>
#include <spdlog/spdlog.h>

#include "sync/codec/record_codec.h"
#include "sync/records/local_write.h"
#include "sync/records/validate.h"
#include "sync/storage/replica_internal.h"
#include "sync/storage/replica_keys.h"
#include "sync/storage/sorted_batch.h"

namespace stationsync {

using namespace replica_internal;  // this file's own internals

namespace {

namespace fs = std::filesystem;

constexpr size_t kPageBytesMax = 2 * 1024 * 1024;
constexpr size_t kPageLimitMax = 10000;

// Moves every entry of `from` into `into`, replacing what `into` holds under the same key, by
// moving map nodes (no key or value is copied).
template <typename Map>
void MoveEntries(Map& from, Map& into) {
  while (!from.empty()) {
    auto moved = into.insert(from.extract(from.begin()));
    if (!moved.inserted) moved.position->second = std::move(moved.node.mapped());
  }
}

size_t ApproximateBytes(const Record& record) {
  size_t bytes = 64 + record.id.size();
  for (const auto& [name, state] : record.fields) {
    bytes += name.size() + 32;
    if (const auto* text = std::get_if<std::string>(&state.value)) bytes += text->size();
    if (const auto* list = std::get_if<std::vector<std::string>>(&state.value)) {
      for (const auto& item : *list) bytes += item.size() + 8;
    }
  }
  return bytes;
}

// "store DIR (MANIFEST-000005)": names the manifest in use, since RocksDB's errors about a
// damaged manifest often do not.
std::string StoreName(const std::string& path) {
  std::ifstream current(fs::path(path) / "CURRENT");
  std::string manifest;
  std::getline(current, manifest);
  return manifest.empty() ? fmt::format("store {}", path)
                          : fmt::format("store {} ({})", path, manifest);
}

// Options per column family. The records family is read by key before every write and for every
// record a peer sends, mostly for keys it does not hold yet (new records, snapshot pages): a
// Bloom filter in its tables answers those without reading a block, and one in its memtable
// (about 1.3 MB for a 64 MB memtable) without a skip-list search, which was a sixth of the hub's
// time in an import (two look-ups per record: the person-merge redirect, then the write).
// syncbench, 200k records, median of 3: import 14,478 -> 17,629 records/s, initial sync 23,638
// -> 30,015 records/s.
// Compression: LZ4 for flushes and upper levels (cheap on the write path); ZSTD with a dictionary
// at the bottom level, where most of the store ends: the values are small Cap'n Proto records
// that repeat field names' layout and stamps, which a dictionary shares across blocks. 16 KiB
// blocks (4 KiB by default) compress better and index smaller. syncbench initial-sync, 1M
// records: the station's store went from 759 MB (snappy, 4 KiB) to about 250 MB. The dictionary
// is 16 KiB of the file's own values as they come, not trained (zstd_max_train_bytes 0): in a
// young store every compaction writes the bottom level, and training one per output file cost
// the station 13% of its CPU in an initial sync for 5% of the store (1M records, median of 3:
// 39.8 -> 34.7 us per record, 28,879 -> 33,718 records/s; store 152 -> 160 MB). Files written
// under older options stay readable (each names its compression).
rocksdb::ColumnFamilyOptions FamilyOptions(const std::string& name) {
  rocksdb::ColumnFamilyOptions options;
  if (name == "index") options.merge_operator = DigestSumOperator();  // the tree's sums
  options.compression = rocksdb::kLZ4Compression;
  options.bottommost_compression = rocksdb::kZSTD;
  options.bottommost_compression_opts.enabled = true;
  options.bottommost_compression_opts.max_dict_bytes = 16 << 10;
  options.bottommost_compression_opts.zstd_max_train_bytes = 0;  // sampled, not trained
  rocksdb::BlockBasedTableOptions table;
  table.block_size = 16 << 10;
  if (name == "records") {
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    options.memtable_whole_key_filtering = true;  // no prefix extractor: whole keys only
    options.memtable_prefix_bloom_size_ratio = 0.02;
  }
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  // A memtable insert searches from where the memtable's last insert went (sorted_batch.h);
  // with this, from where the last key of the same first byte went: a sorted batch walks the
  // index family's kinds of keys (household, id number, tree sums, owner, tree slot) one after
  // the other, and each kind now resumes where the previous batch's keys of that kind ended
  // instead of where the last kind did. Memtable inserts were a quarter of a station's loop in an
  // initial sync. syncbench initial-sync, 1M records, median of 3, same hour: station CPU 30.4 ->
  // 27.9 us per record, 38,742 -> 42,849 records/s. A hint only chooses where a search starts:
  // writes that RocksDB inserts in parallel ignore it, and what is stored never depends on it.
  options.memtable_insert_with_hint_prefix_extractor.reset(rocksdb::NewCappedPrefixTransform(1));
  // A store of a million records fits in level 1, so each compaction of level 0 rewrites most of
  // the store (the index family's keys are spread over it): waiting for 8 flushed files instead
  // of 4 halves those rewrites. Compaction was a fifth of a station's CPU in an initial sync of
  // 1M records. syncbench, 1M records, one run each, interleaved: initial sync station CPU
  // 22.86 / 24.48 -> 20.05 / 21.16 us per record; import hub CPU 48.4 -> 42.3 us. The price is
  // up to 8 files in level 0 (point reads check their Bloom filters) and a store that holds
  // more not yet compacted: 160 -> 186 MB after the initial sync (raw 126 MB), 200 -> 205 MB
  // after the import; at 3M records 538 MB (station) and 611 MB (hub) against a raw 337 MB.
  options.level0_file_num_compaction_trigger = 8;
  return options;
}

Status ProbeReadOnly(const rocksdb::DBOptions& db_options, const std::string& path,
                     const std::vector<rocksdb::ColumnFamilyDescriptor>& descriptors) {
  std::vector<rocksdb::ColumnFamilyHandle*> families;
  rocksdb::DB* raw = nullptr;
  const rocksdb::Status s =
      rocksdb::DB::OpenForReadOnly(db_options, path, descriptors, &families, &raw);
  if (!s.ok()) return FromRocks(s, StoreName(path));
  for (auto* family : families) raw->DestroyColumnFamilyHandle(family);
  delete raw;
  return Status::Ok();
}

// Creates an empty store with its column families and identity, atomically: it is built in a
// staging directory and renamed into place, so a crash during creation leaves either no store
// (and creation starts over) or a complete one, never a half-made store that cannot be opened.
Status CreateStore(const ReplicaOptions& options, const rocksdb::DBOptions& db_options,
                   const std::vector<rocksdb::ColumnFamilyDescriptor>& descriptors) {
  rocksdb::Env* env = db_options.env;
  const std::string staging = options.path + ".creating";
  const std::string parent = fs::path(options.path).parent_path().empty()
                                 ? std::string(".")
                                 : fs::path(options.path).parent_path().string();
  std::error_code ec;
  fs::remove_all(staging, ec);  // left over from a crash during an earlier creation
  fs::create_directories(staging, ec);
  rocksdb::DBOptions create_options = db_options;
  create_options.create_if_missing = true;
  create_options.create_missing_column_families = true;
  std::vector<rocksdb::ColumnFamilyHandle*> families;
  rocksdb::DB* raw = nullptr;
  const std::string what = fmt::format("creating store {}", options.path);
  SS_RETURN_IF_ERROR(
      FromRocks(rocksdb::DB::Open(create_options, staging, descriptors, &families, &raw), what));
  std::unique_ptr<rocksdb::DB> db(raw);
  rocksdb::WriteBatch batch;
  batch.Put(families[kMetaFamily], kMetaNode, options.node);
  batch.Put(families[kMetaFamily], kMetaUnit, options.unit);
  batch.Put(families[kMetaFamily], kMetaEpoch, NewEpoch());
  batch.Put(families[kMetaFamily], kMetaLastSeq, U64(0));
  // An empty store keeps its digests and verify tree from the first record on: nothing to build.
  batch.Put(families[kMetaFamily], kMetaDigestsKept, "1");
  batch.Put(families[kMetaFamily], kMetaTreeKept, kDerivedLayout);
  rocksdb::WriteOptions write_options;
  write_options.sync = true;
  Status status = FromRocks(db->Write(write_options, &batch), what);
  for (auto* family : families) db->DestroyColumnFamilyHandle(family);
  if (status.ok()) status = FromRocks(db->Close(), what);
  db.reset();
  SS_RETURN_IF_ERROR(status);
  SS_RETURN_IF_ERROR(FromRocks(env->RenameFile(staging, options.path), what));
  std::unique_ptr<rocksdb::Directory> directory;
  SS_RETURN_IF_ERROR(FromRocks(env->NewDirectory(parent, &directory), what));
  return FromRocks(directory->Fsync(), what);
}

}  // namespace

Replica::Replica(const ReplicaOptions& options) : options_(options) {}
Replica::~Replica() = default;

Result<std::unique_ptr<Replica>> Replica::Open(const ReplicaOptions& options) {
  std::unique_ptr<Replica> replica(new Replica(options));
  if (replica->options_.clock == nullptr) {
    replica->own_clock_ = std::make_unique<SystemClock>();
    replica->options_.clock = replica->own_clock_.get();
  }
  auto handles = std::make_unique<Handles>();
  rocksdb::DBOptions db_options;
  db_options.paranoid_checks = true;
  db_options.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  db_options.info_log = handles->logger;
  db_options.max_background_jobs = 2;
  // No periodic statistics tasks: nothing reads them, and each registers with a timer thread.
  db_options.stats_dump_period_sec = 0;
  db_options.stats_persist_period_sec = 0;
  // Preallocating each log file (about 70 MB with the default write buffer) costs more than it
  // saves for a station's write rates, and is slow on tmpfs.
  db_options.allow_fallocate = false;
  // Recovered log data stays in the memtable (and the log) instead of being flushed to new
  // files at every start: a restart costs no writes.
  db_options.avoid_flush_during_recovery = true;
  // Table files are opened on this thread: the default starts 16 threads per column family at
  // every open, which is most of what an open costs for a store of our size.
  db_options.max_file_opening_threads = 1;
  // RocksDB keeps a log file until every family that wrote to it has flushed, and a family that
  // changes rarely (meta, conflicts) would pin every log ever written: 4 GB of log for 1M
  // records, all replayed at each start. Past this total, the families holding the oldest log
  // are flushed so that it can go.
  db_options.max_total_wal_size = kMaxTotalWalBytes;
  if (options.env != nullptr) db_options.env = options.env;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& name : kFamilies) {
    descriptors.emplace_back(name, FamilyOptions(name));
  }

  std::error_code ec;
  if (!fs::exists(options.path, ec) || fs::is_empty(options.path, ec)) {
    SS_RETURN_IF_ERROR(CreateStore(options, db_options, descriptors));
  }
  if (!fs::exists(fs::path(options.path) / "CURRENT", ec)) {
    return Internal(fmt::format(
        "store {}: file CURRENT is missing, so the store cannot be read; it will not be "
        "recreated or repaired (restore it from a backup)",
        options.path));
  }
  // A read-write open that fails can still have written (a flush of the recovered log, a new
  // MANIFEST). Recover read-only first, which writes nothing, so that a damaged store is refused
  // exactly as it was found.
  SS_RETURN_IF_ERROR(ProbeReadOnly(db_options, options.path, descriptors));
  rocksdb::DB* raw = nullptr;
  const rocksdb::Status s =
      rocksdb::DB::Open(db_options, options.path, descriptors, &handles->families, &raw);
  if (!s.ok()) return FromRocks(s, StoreName(options.path));
  handles->db.reset(raw);
  handles->records = handles->families[1];
  handles->log = handles->families[2];
  handles->history = handles->families[3];
  handles->index = handles->families[4];
  handles->meta = handles->families[5];
  handles->conflicts = handles->families[6];
  replica->db_ = std::move(handles);
  SS_RETURN_IF_ERROR(replica->Load());
  SS_RETURN_IF_ERROR(replica->ReleaseRecoveredLogs());
  return replica;
}

// Recovered log data stays in memtables (avoid_flush_during_recovery), so each start adds a log
// file and keeps the old ones: a node killed often would replay more and more logs at every start
// (twice: the read-only probe, then the open). Past a few, flushing once releases them all.
Status Replica::ReleaseRecoveredLogs() {
  rocksdb::VectorLogPtr logs;
  SS_RETURN_IF_ERROR(FromRocks(db_->db->GetSortedWalFiles(logs), "listing the store's logs"));
  if (logs.size() <= kRecoveredLogsKept) return Status::Ok();
  std::vector<rocksdb::ColumnFamilyHandle*> families(db_->families.begin(), db_->families.end());
  return FromRocks(db_->db->Flush({}, families), "flushing recovered logs");
}

void Replica::FlushForNextStart() {
  std::vector<rocksdb::ColumnFamilyHandle*> families(db_->families.begin(), db_->families.end());
  const rocksdb::Status s = db_->db->Flush({}, families);
  if (!s.ok()) spdlog::warn("flushing the store before stopping: {}", s.ToString());
}

// Reads the node identity and the counters, and checks that they agree with the log.
Status Replica::Load() {
  auto& h = *db_;
  std::string node;
  rocksdb::Status s = h.db->Get({}, h.meta, kMetaNode, &node);
  if (s.IsNotFound()) {
    return Internal(fmt::format("{} has no identity record; it is not a StationSync store",
                                StoreName(options_.path)));
  }
  SS_RETURN_IF_ERROR(FromRocks(s, "reading store identity"));
  if (node != options_.node) {
    return Refused(
        fmt::format("store {} belongs to node '{}', not '{}'", options_.path, node, options_.node));
  }
  std::string value;
  SS_RETURN_IF_ERROR(FromRocks(h.db->Get({}, h.meta, kMetaEpoch, &epoch_), "reading epoch"));
  s = h.db->Get({}, h.meta, kMetaHlc, &value);
  hlc_ = std::make_unique<Hlc>(options_.clock, s.ok() ? ParseU64(value) : 0,
                               options_.max_clock_ahead_ms);
  s = h.db->Get({}, h.meta, kMetaRecords, &value);
  record_count_ = s.ok() ? ParseU64(value) : 0;
  std::unique_ptr<rocksdb::Iterator> it(h.db->NewIterator({}, h.log));
  it->SeekToLast();
  if (it->Valid()) last_seq_ = ParseSeqKey(it->key().ToStringView()).value_or(0);
  SS_RETURN_IF_ERROR(FromRocks(it->status(), "reading the change log"));
  // Both are written in every batch, in different column families: if they disagree, files of
  // the store were lost or damaged (a MANIFEST cut short forgets table files silently).
  s = h.db->Get({}, h.meta, kMetaLastSeq, &value);
  const uint64_t meta_seq = s.ok() ? ParseU64(value) : 0;
  if (meta_seq != last_seq_) {
    return Internal(fmt::format(
        "{} is damaged: its change log ends at {} but its metadata says {}; it will not be "
        "served or repaired (restore it from a backup)",
        StoreName(options_.path), last_seq_, meta_seq));
  }
  SS_RETURN_IF_ERROR(LoadDigests());
  return LoadTree();
}

Result<std::optional<Record>> Replica::GetByKey(const std::string& key) const {
  std::string bytes;
  const rocksdb::Status s = db_->db->Get({}, db_->records, key, &bytes);
  if (s.IsNotFound()) return std::optional<Record>();
  SS_RETURN_IF_ERROR(FromRocks(s, "reading record " + key));
  auto record = DecodeRecord(bytes);
  if (!record.ok())
    return Internal("stored record " + key + " is unreadable: " + record.status().message());
  return std::optional<Record>(std::move(record).value());
}

Result<std::optional<Record>> Replica::Get(Table table, std::string_view id) const {
  auto canonical = NormalizeId(table, id);
  if (!canonical.ok()) return canonical.status();
  return GetByKey(RecordKey(table, *canonical));
}

Result<std::optional<Record>> Replica::Current(
    const std::string& key, std::initializer_list<const Overlay*> overlays) const {
  for (const Overlay* overlay : overlays) {
    if (auto it = overlay->find(key); it != overlay->end()) return it->second;
  }
  return GetByKey(key);
}

Status Replica::StageRecord(rocksdb::WriteBatch& batch, const std::string& key,
                            const std::optional<Record>& current, const Record& next,
                            const Record& written, Tally& tally) const {
  auto& h = *db_;
  if (current) {
    auto stored = HistoryStored(tally, key);
    if (!stored.ok()) return stored.status();
    if (!*stored) {
      // It arrived whole and has not changed since: `current` is still its arrival state, and
      // what a log entry naming it reads (invariants 6 and 7 hold only for such a record).
      SS_RETURN_IF_ERROR(StageLoggedDelta(batch, key, *current, tally));
      PutHistory(batch, key, ArrivalEntry(*current), tally);
    }
  }
  if (!current) tally.arrivals.history_stored[key] = false;  // until the caller puts an entry
  const std::string encoded = EncodeRecord(next);
  batch.Put(h.records, key, encoded);
  if (current) {
    for (const auto& index_key : IndexKeys(*current)) batch.Delete(h.index, index_key);
    TallyRecord(tally, *current, EncodeRecord(*current), false);
  }
  for (const auto& index_key : IndexKeys(next)) batch.Put(h.index, index_key, "");
  TallyRecord(tally, next, encoded, true);
  tally.live = tally.live + (next.deleted ? 0 : 1) - (IsLive(current) ? 1 : 0);
  ++tally.changed;
  if (current) StageClosedConflicts(batch, key, next, written);
  return Status::Ok();
}

void Replica::PutHistory(rocksdb::WriteBatch& batch, const std::string& key,
                         const HistoryEntry& entry, Tally& tally) const {
  batch.Put(db_->history, HistoryKey(key, entry.at), EncodeHistoryEntry(entry));
  tally.arrivals.history_stored[key] = true;
}

Result<bool> Replica::HistoryStored(const Tally& tally, const std::string& key) const {
  for (const Tally::Arrivals* known : {&tally.arrivals, tally.outer}) {
    if (known == nullptr) continue;
    const auto it = known->history_stored.find(key);
    if (it != known->history_stored.end()) return it->second;
  }
  const std::string prefix = HistoryPrefix(key);
  std::unique_ptr<rocksdb::Iterator> it(db_->db->NewIterator({}, db_->history));
  it->Seek(prefix);
  // A read error fails the write: guessing either way could lose an arrival entry or a logged
  // delta (invariants 6 and 7), or store one over a later change's.
  SS_RETURN_IF_ERROR(FromRocks(it->status(), "reading the history of " + key));
  return it->Valid() && it->key().starts_with(prefix);
}

void Replica::StageClosedConflicts(rocksdb::WriteBatch& batch, const std::string& key,
                                   const Record& next, const Record& written) const {
  auto& h = *db_;
  const std::string prefix = ConflictPrefix(key);
  std::unique_ptr<rocksdb::Iterator> it(h.db->NewIterator({}, h.conflicts));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    auto conflict = DecodeConflict(it->value().ToStringView());
    if (!conflict.ok()) continue;  // CheckIntegrity reports it; a write must not stall on it
    const Stamp newest = std::max(conflict->kept.stamp, conflict->lost.stamp);
    const Stamp now = RegisterStamp(next, conflict->field);
    const bool wrote_it = RegisterStamp(written, conflict->field) == now;
    const bool saw_both = Includes(written.seen, conflict->kept.stamp) &&
                          Includes(written.seen, conflict->lost.stamp);
    if (wrote_it && saw_both && now > newest) {
      batch.Delete(h.conflicts, it->key());
    }
  }
}

void Replica::StageCounters(rocksdb::WriteBatch& batch, const Tally& tally, uint64_t seq) const {
  auto& h = *db_;
  batch.Put(h.meta, kMetaHlc, U64(hlc_->last()));
  batch.Put(h.meta, kMetaRecords, U64(tally.live));
  batch.Put(h.meta, kMetaLastSeq, U64(seq));
  for (const auto& [owner, bucket] : tally.buckets) {
    batch.Put(h.meta, kMetaDigestPrefix + owner, bucket.Encode());
  }
  for (const auto& [node_key, delta] : tally.tree) {
    if (delta != DigestBucket{}) batch.Merge(h.index, node_key, delta.Encode());
  }
}

Status Replica::StageLocalPlan(rocksdb::WriteBatch& batch, const std::string& key,
                               const std::optional<Record>& current, WritePlan& plan, Tally& tally,
                               uint64_t& seq) const {
  plan.change.seq = ++seq;
  plan.change.owners = {plan.record.owner};
  if (current && current->owner != plan.record.owner) plan.change.owners.push_back(current->owner);
  SS_RETURN_IF_ERROR(StageRecord(batch, key, current, plan.record, plan.change.delta, tally));
  // A new record whose entry reads exactly as its arrival entry needs none stored (invariant 6).
  if (current || plan.history != ArrivalEntry(plan.record)) {
    PutHistory(batch, key, plan.history, tally);
  }
  PutLogEntry(batch, key, plan.change, plan.record, !current, tally);
  return Status::Ok();
}

void Replica::PutLogEntry(rocksdb::WriteBatch& batch, const std::string& key, const Change& change,
                          const Record& record, bool record_is_new, Tally& tally) const {
  auto& h = *db_;
  // New, and no history entry stored (StageRecord noted it, and the caller's PutHistory would
  // have noted an entry): its next change stores this entry whole, as it does the arrival entry.
  const auto known = tally.arrivals.history_stored.find(key);
  const bool arrival_only =
      record_is_new && known != tally.arrivals.history_stored.end() && !known->second;
  if (arrival_only && change.delta == record) {
    batch.Put(h.log, SeqKey(change.seq), EncodeChangeNamingRecord(change));
    batch.Put(h.history, LoggedWholeKey(key), SeqKey(change.seq));
    // Its delta is the record as it stands until it next changes: StageLoggedDelta supplies it.
    tally.arrivals.logged_whole[key] =
        Change{change.seq, {}, change.origin, change.owners, change.echo};
    return;
  }
  batch.Put(h.log, SeqKey(change.seq), EncodeChange(change));
}

Result<std::optional<Change>> Replica::LoggedWhole(const Tally& tally,
                                                   const std::string& key) const {
  for (const Tally::Arrivals* known : {&tally.arrivals, tally.outer}) {
    if (known == nullptr) continue;
    const auto it = known->logged_whole.find(key);
    if (it != known->logged_whole.end()) return it->second;
  }
  auto& h = *db_;
  std::string seq_key;
  rocksdb::Status s = h.db->Get({}, h.history, LoggedWholeKey(key), &seq_key);
  if (s.IsNotFound()) return std::optional<Change>();
  SS_RETURN_IF_ERROR(FromRocks(s, "reading which log entry names " + key));
  std::string encoded;
  s = h.db->Get({}, h.log, seq_key, &encoded);
  SS_RETURN_IF_ERROR(FromRocks(s, "reading the log entry that names " + key));
  auto stored = DecodeStoredChange(encoded);
  if (!stored.ok() || !stored->names_record) {
    return Internal(fmt::format("the log entry that names {} is unreadable or names none", key));
  }
  return std::optional<Change>(std::move(stored->change));
}

Status Replica::StageLoggedDelta(rocksdb::WriteBatch& batch, const std::string& key,
                                 const Record& current, Tally& tally) const {
  auto& h = *db_;
  auto logged = LoggedWhole(tally, key);
  if (!logged.ok()) return logged.status();
  if (!*logged) return Status::Ok();
  Change& change = **logged;
  change.delta = current;
  batch.Put(h.log, SeqKey(change.seq), EncodeChange(change));
  batch.Delete(h.history, LoggedWholeKey(key));
  tally.arrivals.logged_whole[key] = std::nullopt;
  return Status::Ok();
}

std::vector<WriteOutcome> Replica::Write(const std::vector<WriteRequest>& requests) {
  auto& h = *db_;
  std::vector<WriteOutcome> outcomes(requests.size());
  Overlay overlay;  // planned state of the requests accepted so far in this group
  rocksdb::WriteBatch batch(kBatchBytesPerChange * requests.size());
  std::vector<size_t> committing;
  uint64_t seq = last_seq_;
  Tally tally = StartTally();

  for (size_t r = 0; r < requests.size(); ++r) {
    const WriteRequest& request = requests[r];
    Overlay request_overlay;  // this request's own changes, kept only if all its ops succeed
    batch.SetSavePoint();
    uint64_t request_seq = seq;
    // The request's own tree deltas start empty: copying the group's (thousands of nodes) for
    // every request would make a group commit quadratic.
    Tally request_tally{tally.live, tally.buckets, {}, {}, &tally.arrivals, 0};
    WriteOutcome& outcome = outcomes[r];
    for (size_t op_index = 0; op_index < request.ops.size(); ++op_index) {
      const WriteOp& op = request.ops[op_index];
      outcome.failed_op = op_index;
      auto id = NormalizeId(op.patch.table, op.patch.id);
      if (!id.ok()) {
        outcome.status = id.status();
        break;
      }
      const std::string key = RecordKey(op.patch.table, *id);
      auto current = Current(key, {&request_overlay, &overlay});
      if (!current.ok()) {
        outcome.status = current.status();
        break;
      }
      const Stamp stamp{hlc_->Now(), options_.node};
      auto plan =
          op.remove ? PlanDelete(*current, op.patch.table, *id, stamp, request.actor, op.restamp)
                    : PlanPut(*current, op.patch, stamp, request.actor, options_.unit, op.restamp);
      if (!plan.ok()) {
        outcome.status = plan.status();
        break;
      }
      if (request.answer_records) outcome.records.push_back(plan->record);
      if (!plan->changed) continue;
      if (Status staged = StageLocalPlan(batch, key, *current, *plan, request_tally, request_seq);
          !staged.ok()) {
        outcome.status = staged;
        break;
      }
      request_overlay[key] = std::move(plan->record);
    }
    if (!outcome.status.ok()) {
      outcome.records.clear();
      batch.RollbackToSavePoint().PermitUncheckedError();
      continue;
    }
    for (const auto& [name, value] : request.annotations) {
      if (value) {
        batch.Put(h.meta, kMetaAnnotationPrefix + name, *value);
      } else {
        batch.Delete(h.meta, kMetaAnnotationPrefix + name);
      }
    }
    batch.PopSavePoint().PermitUncheckedError();
    MoveEntries(request_overlay, overlay);
    seq = request_seq;
    tally.live = request_tally.live;
    tally.changed += request_tally.changed;
    tally.buckets = std::move(request_tally.buckets);
    for (const auto& [node_key, delta] : request_tally.tree) tally.tree[node_key].Add(delta);
    MoveEntries(request_tally.arrivals.history_stored, tally.arrivals.history_stored);
    MoveEntries(request_tally.arrivals.logged_whole, tally.arrivals.logged_whole);
    committing.push_back(r);
  }

  if (batch.Count() == 0) return outcomes;
  StageCounters(batch, tally, seq);
  SortForMemtables(batch, h.families);
  if (before_commit_) before_commit_();
  rocksdb::WriteOptions write_options;
  write_options.sync = options_.sync_writes;
  const Status status = FromRocks(h.db->Write(write_options, &batch), "committing writes");
  if (!status.ok()) {
    spdlog::error("{}", status.ToString());
    for (size_t r : committing) outcomes[r] = {status, 0, {}};
    return outcomes;
  }
  last_seq_ = seq;
  CommitTally(tally);
  return outcomes;
}

Result<Page> Replica::List(const ListQuery& query) const {
  auto& h = *db_;
  const size_t limit = std::clamp<size_t>(query.limit == 0 ? 1000 : query.limit, 1, kPageLimitMax);
  const std::string table_prefix = query.table ? TablePrefix(*query.table) : std::string();
  // Iterate either the records themselves or an index whose keys end in a record key.
  rocksdb::ColumnFamilyHandle* family = h.records;
  std::string prefix = table_prefix;
  if (!query.household.empty()) {
    family = h.index;
    prefix = IndexPrefix(kHouseholdIndex, query.household);
  } else if (!query.owner.empty()) {
    family = h.index;
    prefix = IndexPrefix(kOwnerIndex, query.owner) + table_prefix;
  }

  Page page;
  size_t bytes = 0;
  auto listed = [&] { return page.records.size() + page.stored.size(); };
  auto full = [&] { return listed() >= limit || bytes >= kPageBytesMax; };
  // Takes the next record in key order (`key`: its entry in the family iterated); false once the
  // page is full, without taking it.
  auto take = [&](std::string_view key, std::string_view record_key,
                  std::string_view value) -> Result<bool> {
    if (full()) return false;
    if (query.stored) {
      if (Status readable = CheckStoredRecord(value); !readable.ok()) {
        return Internal(
            fmt::format("stored record {} is unreadable: {}", record_key, readable.message()));
      }
      page.next = std::string(key);
      bytes += value.size();
      page.stored.emplace_back(value);
      return true;
    }
    auto record = DecodeRecord(value);
    if (!record.ok()) {
      return Internal(
          fmt::format("stored record {} is unreadable: {}", record_key, record.status().message()));
    }
    page.next = std::string(key);
    if (record->deleted && !query.include_deleted) return true;
    bytes += ApproximateBytes(*record);
    page.records.push_back(std::move(record).value());
    return true;
  };
  std::unique_ptr<rocksdb::Iterator> it(h.db->NewIterator({}, family));
  it->Seek(query.after.empty() ? prefix : query.after);
  if (!query.after.empty() && it->Valid() && it->key().ToStringView() == query.after) it->Next();
  auto more = [&] { return it->Valid() && it->key().starts_with(prefix); };
  if (family == h.records) {
    for (; more(); it->Next()) {
      const std::string_view key = it->key().ToStringView();
      auto taken = take(key, key, it->value().ToStringView());
      if (!taken.ok()) return taken.status();
      if (!*taken) return page;
    }
  } else {
    // An index's entries name their records in key order: a page reads them in batches with
    // MultiGet, which looks up a batch's keys level by level and reads each block once, rather
    // than a Get per record (a snapshot page lists 1,024 of them). syncbench initial-sync 200k,
    // median of 3: the hub's CPU per record 9.65 -> 7.7 us.
    std::vector<std::string> entries, targets;
    while (more()) {
      if (full()) return page;
      entries.clear();
      targets.clear();
      const size_t want = limit - listed();
      for (; more() && targets.size() < want; it->Next()) {
        const std::string_view entry = it->key().ToStringView();
        std::string target(IndexTarget(entry));
        if (!table_prefix.empty() && !target.starts_with(table_prefix)) continue;
        entries.emplace_back(entry);
        targets.push_back(std::move(target));
      }
      std::vector<rocksdb::Slice> keys(targets.begin(), targets.end());
      std::vector<rocksdb::PinnableSlice> values(keys.size());
      std::vector<rocksdb::Status> statuses(keys.size());
      h.db->MultiGet({}, h.records, keys.size(), keys.data(), values.data(), statuses.data());
      for (size_t i = 0; i < keys.size(); ++i) {
        if (statuses[i].IsNotFound()) {
          return Internal("index entry points at missing record " + targets[i]);
        }
        SS_RETURN_IF_ERROR(FromRocks(statuses[i], "reading record " + targets[i]));
        auto taken = take(entries[i], targets[i], values[i].ToStringView());
        if (!taken.ok()) return taken.status();
        if (!*taken) return page;
      }
    }
  }
  SS_RETURN_IF_ERROR(FromRocks(it->status(), "listing records"));
  page.next.clear();  // reached the end
  return page;
}

uint64_t Replica::CountOwned(const std::string& owner) const {
  const std::string prefix = IndexPrefix(kOwnerIndex, owner);
  uint64_t count = 0;
  std::unique_ptr<rocksdb::Iterator> it(db_->db->NewIterator({}, db_->index));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) ++count;
  return count;
}

Status Replica::ForEachOwnedKey(const std::string& owner,
                                const std::function<void(std::string_view)>& visit) const {
  const std::string prefix = IndexPrefix(kOwnerIndex, owner);
  std::unique_ptr<rocksdb::Iterator> it(db_->db->NewIterator({}, db_->index));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    visit(IndexTarget(it->key().ToStringView()));
  }
  return FromRocks(it->status(), "reading the owner index");
}

Result<std::vector<HistoryEntry>> Replica::History(Table table, std::string_view id) const {
  auto canonical = NormalizeId(table, id);
  if (!canonical.ok()) return canonical.status();
  const std::string prefix = HistoryPrefix(RecordKey(table, *canonical));
  std::vector<HistoryEntry> entries;
  std::unique_ptr<rocksdb::Iterator> it(db_->db->NewIterator({}, db_->history));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    auto entry = DecodeHistoryEntry(it->value().ToStringView());
    if (!entry.ok()) return Internal("stored history is unreadable: " + entry.status().message());
    entries.push_back(std::move(entry).value());
  }
  SS_RETURN_IF_ERROR(FromRocks(it->status(), "reading history"));
  if (entries.empty()) {  // held with no stored entry: it arrived whole (invariant 6)
    auto record = GetByKey(RecordKey(table, *canonical));
    if (!record.ok()) return record.status();
    if (*record) entries.push_back(ArrivalEntry(**record));
  }
  return entries;
}

size_t Replica::TEST_StoredHistoryEntries(Table table, std::string_view id) const {
  const std::string prefix = HistoryPrefix(RecordKey(table, std::string(id)));
  std::unique_ptr<rocksdb::Iterator> it(db_->db->NewIterator({}, db_->history));
  size_t entries = 0;
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) ++entries;
  return entries;
}

bool Replica::TEST_LogEntryNamesRecord(uint64_t seq) const {
  std::string encoded;
  if (!db_->db->Get({}, db_->log, SeqKey(seq), &encoded).ok()) return false;
  auto stored = DecodeStoredChange(encoded);
  return stored.ok() && stored->names_record;
}

Result<std::vector<RecordRef>> Replica::RecordsNaming(std::string_view id_number,
                                                      size_t max) const {
  const std::string prefix = IndexPrefix(kIdNumberIndex, id_number);
  std::vector<RecordRef> refs;
  std::unique_ptr<rocksdb::Iterator> it(db_->db->NewIterator({}, db_->index));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    if (refs.size() == max) {
      return Refused(fmt::format("more than {} records name id number {}", max, id_number));
    }
    auto parts = ParseRecordKey(IndexTarget(it->key().ToStringView()));
    if (!parts) return Internal("an id-number index key names no record");
    refs.push_back({parts->table, std::move(parts->id)});
  }
  SS_RETURN_IF_ERROR(FromRocks(it->status(), "reading the id-number index"));
  return refs;
}

Result<std::optional<std::string>> Replica::Annotation(const std::string& name) const {
  std::string value;
  const rocksdb::Status s = db_->db->Get({}, db_->meta, kMetaAnnotationPrefix + name, &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  SS_RETURN_IF_ERROR(FromRocks(s, "reading an annotation"));
  return std::optional<std::string>(std::move(value));
}

Result<std::vector<Change>> Replica::ChangesAfter(uint64_t after, size_t max) const {
  return ReadLog(after, max, false);
}

Result<std::vector<Change>> Replica::ChangeHeadsAfter(uint64_t after, size_t max) const {
  return ReadLog(after, max, true);
}

Result<std::vector<Change>> Replica::ReadLog(uint64_t after, size_t max, bool heads) const {
  auto& h = *db_;
  // One moment for the log and the records its entries name: the writer may meanwhile change
  // a named record, storing its entry whole first.
  const ReadPoint at = TakeReadPoint();
  rocksdb::ReadOptions read;
  read.snapshot = at.get();
  std::vector<Change> changes;
  std::unique_ptr<rocksdb::Iterator> it(h.db->NewIterator(read, h.log));
  for (it->Seek(SeqKey(after + 1)); it->Valid() && changes.size() < max; it->Next()) {
    const std::string_view bytes = it->value().ToStringView();
    if (heads) {
      auto head = DecodeChangeHead(bytes);
      if (!head.ok()) return Internal("stored change is unreadable: " + head.status().message());
      changes.push_back(std::move(head).value());
      continue;
    }
    auto stored = DecodeStoredChange(bytes);
    if (!stored.ok()) return Internal("stored change is unreadable: " + stored.status().message());
    Change& change = stored->change;
    if (stored->names_record) {
      const std::string key = RecordKey(change.delta.table, change.delta.id);
      std::string record_bytes;
      SS_RETURN_IF_ERROR(
          FromRocks(h.db->Get(read, h.records, key, &record_bytes),
                    fmt::format("reading record {} for log entry {}", key, change.seq)));
      auto record = DecodeRecord(record_bytes);
      if (!record.ok() || record->updated != change.delta.updated) {
        return Internal(fmt::format(
            "log entry {} names record {}, which no longer reads as that change left it",
            change.seq, key));
      }
      change.delta = std::move(record).value();
    }
    changes.push_back(std::move(change));
  }
  SS_RETURN_IF_ERROR(FromRocks(it->status(), "reading the change log"));
  return changes;
}

Status Replica::CheckIntegrity() const {
  auto& h = *db_;
  std::set<std::string> expected_index;
  std::map<std::string, DigestBucket> expected_buckets;
  uint64_t live = 0;
  std::unique_ptr<rocksdb::Iterator> it(h.db->NewIterator({}, h.records));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string key(it->key().ToStringView());
    auto record = DecodeRecord(it->value().ToStringView());
    if (!record.ok()) return Internal("record " + key + ": " + record.status().message());
    if (RecordKey(record->table, record->id) != key)
      return Internal("record " + key + ": key mismatch");
    SS_RETURN_IF_ERROR(ValidateRecord(*record));
    if (!record->deleted) ++live;
    expected_buckets[record->owner].Add(HashRecordBytes(it->value().ToStringView()));
    for (auto& index_key : IndexKeys(*record)) expected_index.insert(std::move(index_key));
    // A record may have no stored history entry: one that arrived whole (invariant 6).
  }
  SS_RETURN_IF_ERROR(FromRocks(it->status(), "checking records"));
  if (live != record_count_) {
    return Internal(fmt::format("record counter says {}, the store holds {}", record_count_, live));
  }
  {
    std::lock_guard lock(digest_mutex_);
    for (const auto& [owner, bucket] : digests_) {
      const auto expected = expected_buckets.find(owner);
      const DigestBucket want =
          expected == expected_buckets.end() ? DigestBucket{} : expected->second;
      if (bucket != want) {
        return Internal(fmt::format("digest of owner {} says {} records, the store holds {}", owner,
                                    bucket.records, want.records));
      }
    }
    for (const auto& [owner, bucket] : expected_buckets) {
      if (!digests_.contains(owner)) return Internal("no digest for owner " + owner);
    }
  }
  std::set<std::string> actual_index;
  it.reset(h.db->NewIterator({}, h.index));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (it->key().starts_with(std::string_view(&kTreeNodeSum, 1))) continue;  // CheckTreeSums
    actual_index.insert(it->key().ToString());
  }
  if (actual_index != expected_index) {
    return Internal(fmt::format("indexes disagree with records: {} index keys, {} expected",
                                actual_index.size(), expected_index.size()));
  }
  SS_RETURN_IF_ERROR(CheckTreeSums());
  uint64_t expected_seq = 0;
  std::map<std::string, std::pair<uint64_t, Stamp>> named;  // record key -> seq, stamp
  it.reset(h.db->NewIterator({}, h.log));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const auto seq = ParseSeqKey(it->key().ToStringView());
    if (!seq || *seq != ++expected_seq) {
      return Internal(fmt::format("change log has a gap before sequence {}", expected_seq));
    }
    auto stored = DecodeStoredChange(it->value().ToStringView());
    if (!stored.ok() || stored->change.seq != *seq) {
      return Internal(fmt::format("change {} is unreadable or misnumbered", *seq));
    }
    if (stored->names_record) {
      const Record& head = stored->change.delta;
      named.emplace(RecordKey(head.table, head.id), std::pair(*seq, head.updated));
    }
  }
  if (expected_seq != last_seq_) return Internal("last sequence disagrees with the change log");
  return CheckLoggedWhole(named);
}

// Invariant 7: the log entries naming a record and the records' keys pointing back at them
// agree, and each named record still reads as its entry's change left it, with no stored
// history (invariant 6 holds for it).
Status Replica::CheckLoggedWhole(
    const std::map<std::string, std::pair<uint64_t, Stamp>>& named) const {
  auto& h = *db_;
  size_t pointers = 0;
  std::unique_ptr<rocksdb::Iterator> it(h.db->NewIterator({}, h.history));
  std::string previous_record;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string_view key = it->key().ToStringView();
    if (const size_t end = key.find('\0'); end != std::string_view::npos) {  // an entry
      previous_record = key.substr(0, end);
      continue;
    }
    const std::string record_key(key.substr(0, key.size() - 1));
    ++pointers;
    const auto entry = named.find(record_key);
    const std::optional<uint64_t> seq = ParseSeqKey(it->value().ToStringView());
    if (entry == named.end() || seq != entry->second.first) {
      return Internal(fmt::format("record {} points at log entry {}, which does not name it",
                                  record_key, seq.value_or(0)));
    }
    if (previous_record == record_key) {
      return Internal(fmt::format("record {} is named by log entry {} but has stored history",
                                  record_key, *seq));
    }
    auto record = GetByKey(record_key);
    if (!record.ok()) return record.status();
    if (!*record || (*record)->updated != entry->second.second) {
      return Internal(
          fmt::format("log entry {} names record {}, which has changed since", *seq, record_key));
    }
  }
  SS_RETURN_IF_ERROR(FromRocks(it->status(), "checking the log entries naming records"));
  if (pointers != named.size()) {
    return Internal(fmt::format("{} log entries name records, {} records point back at one",
                                named.size(), pointers));
  }
  return Status::Ok();
}

}  // namespace stationsync
