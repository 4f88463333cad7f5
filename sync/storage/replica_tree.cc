// The replica's side of the verify tree (verify_tree.h): the sums it keeps in the index family by
// merge operands (one per touched node per batch, so a write never reads a sum), the reads the
// verify walk makes, the repair of records to the hub's states, and the rebuild of everything
// derived from the records. See replica.h (TreeNodeSum ... RebuildDerived).
#include <algorithm>
#include <limits>
#include <set>

#include <fmt/format.h>
#include <rocksdb/merge_operator.h>
#include <spdlog/spdlog.h>

#include "sync/codec/record_codec.h"
#include "sync/records/validate.h"
#include "sync/storage/replica.h"
#include "sync/storage/replica_internal.h"
#include "sync/storage/replica_keys.h"

namespace stationsync {

using namespace replica_internal;  // this module's own internals

namespace {

// A node's sum plus a delta, both DigestBuckets: modular arithmetic, so operands may come in any
// grouping and a removal is the addition of a negated bucket.
class DigestSum final : public rocksdb::AssociativeMergeOperator {
 public:
  bool Merge(const rocksdb::Slice& /*key*/, const rocksdb::Slice* existing,
             const rocksdb::Slice& value, std::string* new_value,
             rocksdb::Logger* /*logger*/) const override {
    DigestBucket sum;
    DigestBucket delta;
    if (existing != nullptr && !DigestBucket::Decode(existing->ToStringView(), sum)) return false;
    if (!DigestBucket::Decode(value.ToStringView(), delta)) return false;
    sum.Add(delta);
    *new_value = sum.Encode();
    return true;
  }
  const char* Name() const override { return "stationsync.DigestSum"; }
};

// Adds (or takes out) a record's hash to the sums of the kept nodes above its leaf (levels 0-12),
// keyed by TreeNodeKey.
void CountInTree(std::map<std::string, DigestBucket>& sums, const Record& record,
                 std::string_view record_key, const RecordHash& hash, bool add) {
  const uint16_t slot = TreeSlot(record_key);
  for (uint8_t level = 0; level < kTreeLeafLevel; level += kTreeFanoutBits) {
    DigestBucket& node = sums[TreeNodeKey(TreeNodeOf(record.owner, record.table, slot, level))];
    add ? node.Add(hash) : node.Remove(hash);
  }
}

// Records rewritten per batch by RebuildDerived: bounds its memory, not its atomicity (the
// rebuilding flag makes a cut-short rebuild run again).
constexpr size_t kRebuildBatchRecords = 10000;

}  // namespace

std::shared_ptr<rocksdb::MergeOperator> replica_internal::DigestSumOperator() {
  static const auto op = std::make_shared<DigestSum>();
  return op;
}

void Replica::TallyRecord(Tally& tally, const Record& record, std::string_view encoded,
                          bool add) const {
  const RecordHash hash = HashRecordBytes(encoded);
  DigestBucket& owner = BucketFor(tally, record.owner);
  add ? owner.Add(hash) : owner.Remove(hash);
  CountInTree(tally.tree, record, RecordKey(record.table, record.id), hash, add);
}

Status Replica::LoadTree() {
  auto& h = *db_;
  std::string value;
  const bool rebuilding = h.db->Get({}, h.meta, kMetaRebuilding, &value).ok();
  const bool current = h.db->Get({}, h.meta, kMetaTreeKept, &value).ok() && value == kDerivedLayout;
  if (current && !rebuilding) return Status::Ok();
  if (rebuilding) spdlog::warn("store {}: finishing a rebuild of its indexes", options_.path);
  return RebuildDerived();
}

Result<DigestBucket> Replica::TreeNodeSum(const TreeNode& node) const {
  if (!IsValidTreeNode(node)) return Invalid("not a node of the verify tree");
  DigestBucket sum;
  if (node.level < kTreeLeafLevel) {
    std::string value;
    const rocksdb::Status s = db_->db->Get({}, db_->index, TreeNodeKey(node), &value);
    if (s.IsNotFound()) return sum;
    SS_RETURN_IF_ERROR(FromRocks(s, "reading a verify tree sum"));
    if (!DigestBucket::Decode(value, sum)) return Internal("a verify tree sum is unreadable");
    return sum;
  }
  auto records = TreeRecords(node, std::numeric_limits<size_t>::max());
  if (!records.ok()) return records.status();
  for (const auto& record : *records) sum.Add(record.hash);
  return sum;
}

Replica::ReadPoint Replica::TakeReadPoint() const {
  rocksdb::DB* db = db_->db.get();
  return ReadPoint(db->GetSnapshot(),
                   [db](const rocksdb::Snapshot* snapshot) { db->ReleaseSnapshot(snapshot); });
}

Result<std::vector<Replica::TreeRecord>> Replica::TreeRecords(const TreeNode& node, size_t max,
                                                              const ReadPoint& as_of) const {
  if (!IsValidTreeNode(node)) return Invalid("not a node of the verify tree");
  auto& h = *db_;
  const std::string limit = TreeIndexLimit(node);
  const rocksdb::Slice upper(limit);
  rocksdb::ReadOptions read;
  read.iterate_upper_bound = &upper;
  read.snapshot = as_of.get();
  rocksdb::ReadOptions get;
  get.snapshot = as_of.get();
  std::vector<TreeRecord> records;
  std::unique_ptr<rocksdb::Iterator> it(h.db->NewIterator(read, h.index));
  for (it->Seek(TreeIndexStart(node)); it->Valid(); it->Next()) {
    const std::string_view index_key = it->key().ToStringView();
    const std::string_view key = TreeIndexTarget(index_key);
    if (key.empty()) return Internal("an unreadable verify tree index key");
    if (records.size() == max) {
      return Invalid(fmt::format("more than {} records under one node of the verify tree", max));
    }
    std::string bytes;
    const rocksdb::Status s = h.db->Get(get, h.records, key, &bytes);
    // Listed but not stored: damage behind the replica's back (CheckIntegrity names it). The
    // leaf then differs from the kept sums above it, so verify reports the record as missing.
    if (s.IsNotFound()) continue;
    SS_RETURN_IF_ERROR(FromRocks(s, "reading a record of the verify tree"));
    auto record = DecodeRecord(bytes);
    if (!record.ok()) return Internal(fmt::format("stored record {} is unreadable", key));
    const size_t slot_at = index_key.size() - key.size() - 2;
    const auto slot = static_cast<uint16_t>((static_cast<unsigned char>(index_key[slot_at]) << 8) |
                                            static_cast<unsigned char>(index_key[slot_at + 1]));
    records.push_back({std::string(key), slot, HashRecordBytes(bytes), VersionString(*record)});
  }
  SS_RETURN_IF_ERROR(FromRocks(it->status(), "reading the verify tree index"));
  return records;
}

Status Replica::ForEachStoredRecord(
    const std::function<Status(std::string_view key, std::string_view encoded)>& visit,
    const ReadPoint& as_of) const {
  rocksdb::ReadOptions read;
  read.snapshot = as_of.get();
  std::unique_ptr<rocksdb::Iterator> it(db_->db->NewIterator(read, db_->records));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    SS_RETURN_IF_ERROR(visit(it->key().ToStringView(), it->value().ToStringView()));
  }
  return FromRocks(it->status(), "reading the records");
}

Status Replica::Repair(const std::vector<std::pair<std::string, std::optional<Record>>>& states,
                       const std::string& actor) {
  auto& h = *db_;
  const std::vector<std::string> scope = Scope();
  Tally tally = StartTally();
  Overlay overlay;
  rocksdb::WriteBatch batch;
  for (const auto& [key, state] : states) {
    if (state) {
      if (RecordKey(state->table, state->id) != key) {
        return Invalid(fmt::format("a repair of {} carries record {}/{}", key,
                                   TableName(state->table), state->id));
      }
      SS_RETURN_IF_ERROR(ValidateRecord(*state));
    }
    auto current = Current(key, {&overlay});
    if (!current.ok()) return current.status();
    // A station keeps only its scope: a hub state owned outside it is not stored.
    const bool keep = state && std::binary_search(scope.begin(), scope.end(), state->owner);
    if (!keep) {
      if (*current) SS_RETURN_IF_ERROR(StageEviction(batch, key, **current, tally));
      overlay[key] = std::nullopt;
      continue;
    }
    SS_RETURN_IF_ERROR(StageRecord(batch, key, *current, *state, *state, tally));
    PutHistory(batch, key, {Stamp{hlc_->Now(), node()}, actor, ChangesBetween(*current, *state)},
               tally);
    overlay[key] = *state;
  }
  StageCounters(batch, tally, last_seq_.load());
  rocksdb::WriteOptions write_options;
  write_options.sync = options_.sync_writes;
  SS_RETURN_IF_ERROR(FromRocks(h.db->Write(write_options, &batch), "storing a repair"));
  CommitTally(tally);
  return Status::Ok();
}

Status Replica::RebuildDerived() {
  auto& h = *db_;
  rocksdb::WriteOptions write_options;
  write_options.sync = options_.sync_writes;
  SS_RETURN_IF_ERROR(
      FromRocks(h.db->Put(write_options, h.meta, kMetaRebuilding, "1"), "starting a rebuild"));
  // Every index key and tree sum goes; every record then puts its own back.
  rocksdb::WriteBatch batch;
  SS_RETURN_IF_ERROR(
      FromRocks(batch.DeleteRange(h.index, std::string(1, '\0'), std::string(2, '\xff')),
                "clearing the indexes"));
  std::map<std::string, DigestBucket> owners;
  std::map<std::string, DigestBucket> tree;
  uint64_t live = 0;
  size_t in_batch = 0;
  Status status = ForEachStoredRecord([&](std::string_view key, std::string_view encoded) {
    auto record = DecodeRecord(encoded);
    if (!record.ok()) return Internal(fmt::format("stored record {} is unreadable", key));
    if (!record->deleted) ++live;
    for (const auto& index_key : IndexKeys(*record)) batch.Put(h.index, index_key, "");
    const RecordHash hash = HashRecordBytes(encoded);
    owners[record->owner].Add(hash);
    CountInTree(tree, *record, key, hash, true);
    if (++in_batch < kRebuildBatchRecords) return Status::Ok();
    in_batch = 0;
    SS_RETURN_IF_ERROR(FromRocks(h.db->Write({}, &batch), "rebuilding the indexes"));
    batch.Clear();
    return Status::Ok();
  });
  SS_RETURN_IF_ERROR(status);
  for (const auto& [node_key, sum] : tree) batch.Put(h.index, node_key, sum.Encode());
  {
    std::unique_ptr<rocksdb::Iterator> it(h.db->NewIterator({}, h.meta));
    for (it->Seek(kMetaDigestPrefix); it->Valid() && it->key().starts_with(kMetaDigestPrefix);
         it->Next()) {
      batch.Delete(h.meta, it->key());
    }
    SS_RETURN_IF_ERROR(FromRocks(it->status(), "reading digests"));
  }
  for (const auto& [owner, bucket] : owners) {
    batch.Put(h.meta, kMetaDigestPrefix + owner, bucket.Encode());
  }
  batch.Put(h.meta, kMetaDigestsKept, "1");
  batch.Put(h.meta, kMetaRecords, U64(live));
  batch.Put(h.meta, kMetaTreeKept, kDerivedLayout);
  batch.Delete(h.meta, kMetaRebuilding);
  SS_RETURN_IF_ERROR(FromRocks(h.db->Write(write_options, &batch), "finishing a rebuild"));
  record_count_ = live;
  std::lock_guard lock(digest_mutex_);
  digests_ = std::move(owners);
  return Status::Ok();
}

Status Replica::TEST_PutRawRecord(const std::string& key,
                                  const std::optional<std::string>& encoded) {
  rocksdb::WriteOptions write_options;
  write_options.sync = true;
  return FromRocks(encoded ? db_->db->Put(write_options, db_->records, key, *encoded)
                           : db_->db->Delete(write_options, db_->records, key),
                   "damaging a record");
}

// Called by CheckIntegrity: every maintained node sum equals the sum of its records' hashes.
Status Replica::CheckTreeSums() const {
  auto& h = *db_;
  std::map<std::string, DigestBucket> expected;
  SS_RETURN_IF_ERROR(ForEachStoredRecord([&](std::string_view key, std::string_view encoded) {
    auto record = DecodeRecord(encoded);
    if (!record.ok()) return Internal(fmt::format("record {} is unreadable", key));
    CountInTree(expected, *record, key, HashRecordBytes(encoded), true);
    return Status::Ok();
  }));
  std::unique_ptr<rocksdb::Iterator> it(h.db->NewIterator({}, h.index));
  const std::string prefix(1, kTreeNodeSum);
  size_t held = 0;
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    DigestBucket sum;
    if (!DigestBucket::Decode(it->value().ToStringView(), sum)) {
      return Internal("a verify tree sum is unreadable");
    }
    if (sum == DigestBucket{}) continue;  // every record it counted has gone
    const auto want = expected.find(it->key().ToString());
    if (want == expected.end() || want->second != sum) {
      return Internal(fmt::format("a verify tree sum says {} records, the store holds {}",
                                  sum.records, want == expected.end() ? 0 : want->second.records));
    }
    ++held;
  }
  SS_RETURN_IF_ERROR(FromRocks(it->status(), "reading the verify tree sums"));
  if (held != expected.size()) {
    return Internal(
        fmt::format("the verify tree keeps {} sums, the records imply {}", held, expected.size()));
  }
  return Status::Ok();
}

}  // namespace stationsync
