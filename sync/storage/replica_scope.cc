// The replica's side of scopes: digest buckets by owner (digest.h), the scope a station holds,
// and the eviction of records that left it. See replica.h (Digest, Scope, RemoteBatch).
#include <algorithm>

#include <fmt/format.h>

#include "sync/codec/record_codec.h"
#include "sync/storage/replica.h"
#include "sync/storage/replica_internal.h"
#include "sync/storage/replica_keys.h"

namespace stationsync {

using namespace replica_internal;  // this module's own internals

namespace {

std::string JoinScope(const std::vector<std::string>& scope) {
  return fmt::format("{}", fmt::join(scope, ","));
}

std::vector<std::string> SplitScope(std::string_view joined) {
  std::vector<std::string> scope;
  while (!joined.empty()) {
    const size_t comma = joined.find(',');
    scope.emplace_back(joined.substr(0, comma));
    if (comma == std::string_view::npos) break;
    joined.remove_prefix(comma + 1);
  }
  return scope;
}

bool Contains(const std::vector<std::string>& sorted, const std::string& code) {
  return std::binary_search(sorted.begin(), sorted.end(), code);
}

}  // namespace

Replica::Tally Replica::StartTally() const {
  return Tally{record_count_.load(), {}, {}, {}, nullptr, 0};
}

DigestBucket& Replica::BucketFor(Tally& tally, const std::string& owner) const {
  auto it = tally.buckets.find(owner);
  if (it != tally.buckets.end()) return it->second;
  std::lock_guard lock(digest_mutex_);
  const auto held = digests_.find(owner);
  return tally.buckets[owner] = held == digests_.end() ? DigestBucket{} : held->second;
}

void Replica::CommitTally(Tally& tally) {
  record_count_ = tally.live;
  changed_total_ += tally.changed;
  std::lock_guard lock(digest_mutex_);
  for (auto& [owner, bucket] : tally.buckets) digests_[owner] = bucket;
}

Status Replica::LoadDigests() {
  auto& h = *db_;
  std::string value;
  std::lock_guard lock(digest_mutex_);
  scope_ = h.db->Get({}, h.meta, kMetaScope, &value).ok() ? SplitScope(value)
                                                          : std::vector<std::string>{unit()};
  digests_.clear();
  if (h.db->Get({}, h.meta, kMetaDigestsKept, &value).ok()) {
    std::unique_ptr<rocksdb::Iterator> it(h.db->NewIterator({}, h.meta));
    for (it->Seek(kMetaDigestPrefix); it->Valid() && it->key().starts_with(kMetaDigestPrefix);
         it->Next()) {
      DigestBucket bucket;
      if (!DigestBucket::Decode(it->value().ToStringView(), bucket)) {
        return Internal("stored digest of " + it->key().ToString() + " is unreadable");
      }
      digests_[it->key().ToString().substr(sizeof kMetaDigestPrefix - 1)] = bucket;
    }
    return FromRocks(it->status(), "reading digests");
  }
  // A store from before digests were kept: build them once from its records.
  std::unique_ptr<rocksdb::Iterator> it(h.db->NewIterator({}, h.records));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto record = DecodeRecord(it->value().ToStringView());
    if (!record.ok()) return Internal("record " + it->key().ToString() + " is unreadable");
    digests_[record->owner].Add(HashRecordBytes(it->value().ToStringView()));
  }
  SS_RETURN_IF_ERROR(FromRocks(it->status(), "building digests"));
  rocksdb::WriteBatch batch;
  for (const auto& [owner, bucket] : digests_) {
    batch.Put(h.meta, kMetaDigestPrefix + owner, bucket.Encode());
  }
  batch.Put(h.meta, kMetaDigestsKept, "1");
  rocksdb::WriteOptions write_options;
  write_options.sync = options_.sync_writes;
  return FromRocks(h.db->Write(write_options, &batch), "storing digests");
}

ScopeDigest Replica::Digest(const std::vector<std::string>& scope) const {
  DigestBucket total;
  {
    std::lock_guard lock(digest_mutex_);
    for (const auto& owner : scope) {
      if (auto it = digests_.find(owner); it != digests_.end()) total.Add(it->second);
    }
  }
  return MakeScopeDigest(scope, total);
}

std::vector<std::string> Replica::Scope() const {
  std::lock_guard lock(digest_mutex_);
  return scope_;
}

Status Replica::StageEviction(rocksdb::WriteBatch& batch, const std::string& key,
                              const Record& current, Tally& tally) const {
  auto& h = *db_;
  // The log keeps what this replica wrote, evicted or not (invariant 7).
  auto history_stored = HistoryStored(tally, key);
  if (!history_stored.ok()) return history_stored.status();
  if (!*history_stored) SS_RETURN_IF_ERROR(StageLoggedDelta(batch, key, current, tally));
  batch.Delete(h.records, key);
  for (const auto& index_key : IndexKeys(current)) batch.Delete(h.index, index_key);
  TallyRecord(tally, current, EncodeRecord(current), false);
  if (!current.deleted) --tally.live;
  ++tally.changed;
  tally.arrivals.history_stored[key] = false;
  for (auto* family : {h.history, h.conflicts}) {
    const std::string prefix = family == h.history ? HistoryPrefix(key) : ConflictPrefix(key);
    std::unique_ptr<rocksdb::Iterator> it(h.db->NewIterator({}, family));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      batch.Delete(family, it->key());
    }
    SS_RETURN_IF_ERROR(FromRocks(it->status(), "listing what an eviction of " + key + " removes"));
  }
  return Status::Ok();
}

Result<size_t> Replica::StageEvictOutside(rocksdb::WriteBatch& batch,
                                          const std::vector<std::string>& scope, Overlay& overlay,
                                          Tally& tally) const {
  size_t evicted = 0;
  std::vector<std::string> owners;
  {
    std::lock_guard lock(digest_mutex_);
    for (const auto& [owner, bucket] : digests_) {
      if (bucket.records > 0 && !Contains(scope, owner)) owners.push_back(owner);
    }
  }
  for (const auto& owner : owners) {
    const std::string prefix = IndexPrefix(kOwnerIndex, owner);
    std::unique_ptr<rocksdb::Iterator> it(db_->db->NewIterator({}, db_->index));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      const std::string key(IndexTarget(it->key().ToStringView()));
      auto current = Current(key, {&overlay});
      if (!current.ok()) return current.status();
      if (!*current || Contains(scope, (*current)->owner)) continue;
      SS_RETURN_IF_ERROR(StageEviction(batch, key, **current, tally));
      overlay[key] = std::nullopt;
      ++evicted;
    }
    SS_RETURN_IF_ERROR(FromRocks(it->status(), "listing records to evict"));
  }
  batch.Put(db_->meta, kMetaScope, JoinScope(scope));
  return evicted;
}

}  // namespace stationsync
