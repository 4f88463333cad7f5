// SortedScratch: an external sort for admin checks over more records than fit in memory.
//
// A throw-away RocksDB in a fresh directory under a parent the caller names, written without a
// log and without fsync (nothing in it must survive a crash: the check simply runs again), then
// read back once in key order. RocksDB spills sorted runs to disk as its memtables fill, so memory
// stays bounded by kScratchMemoryBytes whatever the number of entries.
//
// Keys are built with AppendKeyPart: each part is length-prefixed, so a key's parts can be split
// again and two keys share a byte prefix of whole parts only when they share those parts. Every
// key with the same leading parts is therefore adjacent in key order: a check groups entries by
// their leading parts in one pass.
//
// Not thread-safe; one owner. The directory is deleted when the object is destroyed.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sync/base/status.h"

namespace rocksdb {
class DB;
class WriteBatch;
}  // namespace rocksdb

namespace stationsync {

// Memory the scratch store may use for its memtables and block cache, in bytes.
inline constexpr size_t kScratchMemoryBytes = 64 << 20;

// Appends `part` to `key`, length-prefixed (4 bytes, big-endian).
void AppendKeyPart(std::string& key, std::string_view part);
// The parts of a key made by AppendKeyPart; kInternal if the key is not such a key.
Result<std::vector<std::string_view>> SplitKeyParts(std::string_view key);

class SortedScratch {
 public:
  // A new empty store in a fresh directory under `parent_dir` (made if missing).
  static Result<std::unique_ptr<SortedScratch>> Create(const std::string& parent_dir);
  ~SortedScratch();
  SortedScratch(const SortedScratch&) = delete;
  SortedScratch& operator=(const SortedScratch&) = delete;

  // Adds one entry; an entry with the same key replaces the earlier one. Buffered: Scan (or the
  // buffer filling) writes it.
  Status Add(std::string_view key, std::string_view value);
  // Calls `each` for every entry in key order. Entries added after Scan starts are not seen.
  Status Scan(const std::function<void(std::string_view key, std::string_view value)>& each);
  // Entries added so far.
  size_t entries() const { return entries_; }

 private:
  SortedScratch(std::string dir, std::unique_ptr<rocksdb::DB> db);
  Status WriteBuffered();

  std::string dir_;
  std::unique_ptr<rocksdb::DB> db_;
  std::unique_ptr<rocksdb::WriteBatch> buffer_;
  size_t entries_ = 0;
};

}  // namespace stationsync
