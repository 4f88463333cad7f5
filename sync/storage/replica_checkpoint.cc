// The replica's consistent copy of itself for backups (Replica::Checkpoint, replica.h).
//
// A RocksDB checkpoint is a point-in-time image of every column family: the writer's thread
// makes it between two commits, so the copy holds exactly the changes up to last_seq, with the
// counters, the log and the peer positions that belong to them (the store's invariant 1 holds in
// the copy as in the original). Memtables are flushed first (log_size_for_flush 0), so the copy
// needs no log replay to hold what was acknowledged.
#include <filesystem>
#include <memory>

#include <rocksdb/utilities/checkpoint.h>

#include "sync/storage/replica.h"
#include "sync/storage/replica_internal.h"

namespace stationsync {

using namespace replica_internal;  // this module's own internals

Result<uint64_t> Replica::Checkpoint(const std::string& dir) const {
  assert(std::filesystem::path(dir).is_absolute());
  const uint64_t position = last_seq();
  rocksdb::Checkpoint* raw = nullptr;
  SS_RETURN_IF_ERROR(FromRocks(rocksdb::Checkpoint::Create(db_->db.get(), &raw), "checkpoint"));
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  const rocksdb::Status s = checkpoint->CreateCheckpoint(dir, /*log_size_for_flush=*/0);
  if (!s.ok()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);  // a partial copy must never pass for a backup
    return FromRocks(s, "writing a checkpoint to " + dir);
  }
  // The writer's thread made the copy: no commit ran while it was made.
  assert(last_seq() == position);
  return position;
}

}  // namespace stationsync
