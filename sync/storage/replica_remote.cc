// The replica's side of sync: merging a peer's batch of changes, peer positions, and open
// conflicts. See replica.h (ApplyRemote) for the contract and merge.h for the rule.
#include <algorithm>

#include <fmt/format.h>

#include "schema/store.capnp.h"
#include "sync/codec/capnp_io.h"
#include "sync/codec/record_codec.h"
#include "sync/records/validate.h"
#include "sync/storage/replica.h"
#include "sync/storage/replica_internal.h"
#include "sync/storage/replica_keys.h"
#include "sync/storage/sorted_batch.h"

namespace stationsync {

using namespace replica_internal;  // this module's own internals

namespace {

std::string Describe(const Record& change) {
  return fmt::format("{} {}", TableName(change.table), change.id);
}

std::string EncodePeerPosition(const PeerPosition& position) {
  capnp::MallocMessageBuilder message;
  auto out = message.initRoot<schema::PeerPosition>();
  out.setEpoch(position.epoch);
  out.setCursor(position.cursor);
  WriteStamp(position.stamp, out.initStamp());
  return MessageBytes(message);
}

Result<PeerPosition> DecodePeerPosition(std::string_view bytes) {
  return DecodeMessage<schema::PeerPosition>(
      "peer position", bytes, [](schema::PeerPosition::Reader in) {
        return Result<PeerPosition>(
            PeerPosition{in.getEpoch(), in.getCursor(), ReadStamp(in.getStamp())});
      });
}

}  // namespace

PeerPosition Replica::Peer(const std::string& peer) const {
  std::string value;
  if (!db_->db->Get({}, db_->meta, kMetaPeerPrefix + peer, &value).ok()) return {};
  auto position = DecodePeerPosition(value);
  return position.ok() ? *position : PeerPosition{};
}

Status Replica::SetPeer(const std::string& peer, const PeerPosition& position) {
  rocksdb::WriteOptions write_options;
  write_options.sync = options_.sync_writes;
  return FromRocks(
      db_->db->Put(write_options, db_->meta, kMetaPeerPrefix + peer, EncodePeerPosition(position)),
      "storing a peer position");
}

Result<Stamp> Replica::LogStamp(uint64_t seq) const {
  std::string value;
  const rocksdb::Status s = db_->db->Get({}, db_->log, SeqKey(seq), &value);
  if (s.IsNotFound()) return NotFound(fmt::format("no log entry {}", seq));
  SS_RETURN_IF_ERROR(FromRocks(s, "reading the log"));
  auto change = DecodeChange(value);
  if (!change.ok()) return Internal("stored change is unreadable: " + change.status().message());
  return change->delta.updated;
}

std::string Replica::epoch() const {
  std::lock_guard lock(epoch_mutex_);
  return epoch_;
}

Status Replica::StartNewEpoch() {
  const std::string epoch = NewEpoch();
  rocksdb::WriteOptions write_options;
  write_options.sync = options_.sync_writes;
  SS_RETURN_IF_ERROR(
      FromRocks(db_->db->Put(write_options, db_->meta, kMetaEpoch, epoch), "storing a new epoch"));
  std::lock_guard lock(epoch_mutex_);
  epoch_ = epoch;
  return Status::Ok();
}

void Replica::SetNote(const std::string& name, uint64_t value) {
  db_->db->Put({}, db_->meta, kMetaNotePrefix + name, U64(value)).PermitUncheckedError();
}

uint64_t Replica::Note(const std::string& name) const {
  std::string value;
  return db_->db->Get({}, db_->meta, kMetaNotePrefix + name, &value).ok() ? ParseU64(value) : 0;
}

Result<RemoteOutcome> Replica::ApplyRemote(const RemoteBatch& remote) {
  RemoteBatch taken = remote;
  return ApplyRemote(std::move(taken));
}

Result<RemoteOutcome> Replica::ApplyRemote(RemoteBatch&& remote) {
  auto outcomes = ApplyRemoteGroup(std::span(&remote, 1));  // a page's records are not copied
  if (!outcomes.ok()) return outcomes.status();
  return std::move(outcomes->front());
}

Result<std::vector<RemoteOutcome>> Replica::ApplyRemoteGroup(std::span<RemoteBatch> group) {
  auto& h = *db_;
  size_t changes = 0;
  for (const RemoteBatch& remote : group) changes += remote.changes.size();
  rocksdb::WriteBatch batch(kBatchBytesPerChange * changes);
  Overlay overlay;  // merged so far in this group
  uint64_t seq = last_seq_;
  Tally tally = StartTally();
  std::vector<RemoteOutcome> outcomes(group.size());
  const std::vector<std::string>* new_scope = nullptr;
  for (size_t i = 0; i < group.size(); ++i) {
    SS_RETURN_IF_ERROR(StageRemote(group[i], batch, overlay, tally, seq, outcomes[i]));
    if (group[i].new_scope) new_scope = &*group[i].new_scope;
  }
  if (batch.Count() == 0) return outcomes;
  StageCounters(batch, tally, seq);
  SortForMemtables(batch, h.families);
  rocksdb::WriteOptions write_options;
  write_options.sync = options_.sync_writes;
  SS_RETURN_IF_ERROR(FromRocks(h.db->Write(write_options, &batch), "applying remote changes"));
  last_seq_ = seq;
  CommitTally(tally);
  if (new_scope != nullptr) {
    std::lock_guard lock(digest_mutex_);
    scope_ = *new_scope;
  }
  return outcomes;
}

Status Replica::StageRemote(RemoteBatch& remote, rocksdb::WriteBatch& batch, Overlay& overlay,
                            Tally& tally, uint64_t& seq, RemoteOutcome& outcome) {
  auto& h = *db_;
  std::vector<std::string> scope;  // with keep_scope_only: what this replica may hold
  if (remote.keep_scope_only) scope = remote.new_scope ? *remote.new_scope : Scope();
  auto in_scope = [&scope](const std::string& owner) {
    return std::binary_search(scope.begin(), scope.end(), owner);
  };
  auto evict = [&](const std::string& key) -> Status {
    auto current = Current(key, {&overlay});
    if (!current.ok()) return current.status();
    if (!*current) return Status::Ok();
    SS_RETURN_IF_ERROR(StageEviction(batch, key, **current, tally));
    overlay[key] = std::nullopt;
    ++outcome.evicted;
    return Status::Ok();
  };
  for (Record& incoming : remote.changes) {
    const Record& sent = incoming;
    if (Status valid = ValidateRemoteChange(sent); !valid.ok()) {
      outcome.rejected.push_back(fmt::format("{}: {}", Describe(sent), valid.message()));
      continue;
    }
    if (remote.log_changes && sent.table == Table::kRegistration &&
        sent.fields.contains("merged_into")) {
      outcome.rejected.push_back(
          fmt::format("{}: merged_into is written by the hub's person merge only", Describe(sent)));
      continue;
    }
    const std::string key = RecordKey(sent.table, sent.id);
    auto current = Current(key, {&overlay});
    if (!current.ok()) return current.status();
    // A record new here is taken rather than copied, but at the hub, which logs the change too.
    const bool take = !remote.log_changes && !*current;
    MergeResult merged = take ? Merge(*current, std::move(incoming)) : Merge(*current, sent);
    // The change as the peer sent it: the merged record itself when taken, until that moves
    // into the overlay below (past which only the hub, which never takes, reads `change`).
    const Record& change = take ? merged.record : sent;
    if (!merged.changed) continue;
    // A taken record is the change ValidateRemoteChange passed: its field states are not
    // normalized again.
    if (Status valid = ValidateRecord(merged.record,
                                      take ? FieldStates::kPassedAsChange : FieldStates::kCheck);
        !valid.ok()) {
      outcome.rejected.push_back(
          fmt::format("{} would become invalid: {}", Describe(change), valid.message()));
      continue;
    }
    // Our next write comes after everything we have seen; a stamp too far ahead is never
    // adopted (the sessions refuse such batches before they get here; this is the backstop).
    if (!hlc_->Observe(NewestStampHlc(change))) {
      outcome.rejected.push_back(fmt::format("{}: a stamp is more than {} ms ahead of our clock",
                                             Describe(change), options_.max_clock_ahead_ms));
      continue;
    }
    if (remote.keep_scope_only && !in_scope(merged.record.owner)) {
      SS_RETURN_IF_ERROR(evict(key));  // it moved to a unit outside our scope
      continue;
    }
    SS_RETURN_IF_ERROR(StageRecord(batch, key, *current, merged.record, change, tally));
    // A record new here is its own arrival entry (replica.h, invariant 6): none is stored.
    if (*current && !merged.history.changes.empty()) PutHistory(batch, key, merged.history, tally);
    if (remote.log_changes) {
      ++seq;
      // Every scope the change touches: the owner it leaves, what the writer saw, and the new.
      Change logged{seq, change, remote.peer, {merged.record.owner}};
      auto touch = [&logged](const std::string& owner) {
        if (std::find(logged.owners.begin(), logged.owners.end(), owner) == logged.owners.end())
          logged.owners.push_back(owner);
      };
      if (*current) touch((*current)->owner);
      touch(change.owner);
      // The record changed hands since the writer's view (a transfer away and back while it was
      // offline leaves every owner the same): the writer may have evicted it meanwhile.
      logged.echo = *current && !(*current)->owner_stamp.IsZero() &&
                    !Includes(change.seen, (*current)->owner_stamp);
      PutLogEntry(batch, key, logged, merged.record, !*current, tally);
    }
    for (const Conflict& conflict : merged.conflicts) {
      batch.Put(h.conflicts, ConflictKey(key, conflict.Key()), EncodeConflict(conflict));
      ++outcome.conflicts;
    }
    // A node of the overlay: it stays where it is as the follow-ups below add entries.
    std::optional<Record>& merged_now = overlay[key];
    merged_now = std::move(merged.record);
    ++outcome.changed;
    if (remote.log_changes) {
      if (!*current) merged.history = ArrivalEntry(*merged_now);  // Merge leaves it to us
      SS_RETURN_IF_ERROR(StageMergedPersonFollowUps(change, *merged_now, merged.history, batch,
                                                    overlay, tally, seq, outcome));
    }
  }
  for (const RecordRef& ref : remote.evict) {
    auto id = NormalizeId(ref.table, ref.id);
    if (!id.ok()) continue;
    SS_RETURN_IF_ERROR(evict(RecordKey(ref.table, *id)));
  }
  // Even an unchanged scope: pages of an abandoned snapshot of a wider one may have arrived.
  if (remote.new_scope) {
    auto evicted = StageEvictOutside(batch, *remote.new_scope, overlay, tally);
    if (!evicted.ok()) return evicted.status();
    outcome.evicted += *evicted;
  }
  if (remote.position) {
    batch.Put(h.meta, kMetaPeerPrefix + remote.peer, EncodePeerPosition(*remote.position));
  }
  return Status::Ok();
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
