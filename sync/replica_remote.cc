// The replica's side of sync: merging a peer's batch of changes and keeping its conflicts.
// See replica.h (ApplyRemote) for the contract and merge.h for the rule.
#include <fmt/format.h>

#include "sync/record_codec.h"
#include "sync/replica.h"
#include "sync/replica_internal.h"
#include "sync/replica_keys.h"
#include "sync/validate.h"

namespace stationsync {

using namespace replica_internal;  // this module's own internals

namespace {

std::string Describe(size_t index, const Record& change) {
  return fmt::format("change {} ({} {})", index, TableName(change.table), change.id);
}

}  // namespace

uint64_t Replica::PeerCursor(const std::string& peer) const {
  std::string value;
  const rocksdb::Status s = db_->db->Get({}, db_->meta, kMetaCursorPrefix + peer, &value);
  return s.ok() ? ParseU64(value) : 0;
}

Result<RemoteOutcome> Replica::ApplyRemote(const RemoteBatch& remote) {
  auto& h = *db_;
  RemoteOutcome outcome;
  if (remote.cursor <= PeerCursor(remote.peer)) return outcome;  // a replay of what we hold
  for (size_t i = 0; i < remote.changes.size(); ++i) {
    if (Status valid = ValidateRemoteChange(remote.changes[i]); !valid.ok()) {
      return Invalid(fmt::format("{} from {}: {}", Describe(i, remote.changes[i]), remote.peer,
                                 valid.message()));
    }
  }
  Overlay overlay;  // merged so far in this batch
  rocksdb::WriteBatch batch;
  uint64_t seq = last_seq_;
  uint64_t count = record_count_;
  for (size_t i = 0; i < remote.changes.size(); ++i) {
    const Record& change = remote.changes[i];
    const std::string key = RecordKey(change.table, change.id);
    auto current = Current(key, {&overlay});
    if (!current.ok()) return current.status();
    hlc_->Observe(change.updated.hlc);  // our next write comes after everything we have seen
    MergeResult merged = Merge(*current, change);
    if (!merged.changed) continue;
    if (Status valid = ValidateRecord(merged.record); !valid.ok()) {
      return Invalid(fmt::format("{} from {} would leave an invalid record: {}",
                                 Describe(i, change), remote.peer, valid.message()));
    }
    StageRecord(batch, key, *current, merged.record, count);
    if (!merged.history.changes.empty()) {
      batch.Put(h.history, HistoryKey(key, merged.history.at), EncodeHistoryEntry(merged.history));
    }
    if (remote.log_changes) {
      ++seq;
      batch.Put(h.log, SeqKey(seq), EncodeChange({seq, change}));
    }
    for (const Conflict& conflict : merged.conflicts) {
      batch.Put(h.conflicts, conflict.Key(), EncodeConflict(conflict));
      ++outcome.conflicts;
    }
    overlay[key] = std::move(merged.record);
    ++outcome.changed;
  }
  batch.Put(h.meta, kMetaCursorPrefix + remote.peer, U64(remote.cursor));
  StageCounters(batch, count, seq);
  rocksdb::WriteOptions write_options;
  write_options.sync = options_.sync_writes;
  SS_RETURN_IF_ERROR(FromRocks(h.db->Write(write_options, &batch), "applying remote changes"));
  last_seq_ = seq;
  record_count_ = count;
  return outcome;
}

Result<std::vector<Conflict>> Replica::OpenConflicts() const {
  std::vector<Conflict> conflicts;
  std::unique_ptr<rocksdb::Iterator> it(db_->db->NewIterator({}, db_->conflicts));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto conflict = DecodeConflict(it->value().ToStringView());
    if (!conflict.ok())
      return Internal("stored conflict is unreadable: " + conflict.status().message());
    conflicts.push_back(std::move(conflict).value());
  }
  SS_RETURN_IF_ERROR(FromRocks(it->status(), "reading conflicts"));
  return conflicts;
}

}  // namespace stationsync
