// PowerLossFileSystem: a rocksdb::FileSystem for tests that simulates the machine losing power.
//
// It owns the bookkeeping of what RocksDB has made durable: for every file RocksDB writes through
// it, how many bytes were handed to the file system ("written") and how many of those were
// covered by a Sync/Fsync that returned OK ("synced"). The power cut has two steps:
//   Cut()              the power goes out: from now on every operation that would change the
//                      disk fails with an IOError and changes nothing, and the synced sizes are
//                      frozen. The DB can then be closed or destroyed without its shutdown
//                      writing, syncing, renaming or deleting anything.
//   DropUnsyncedData() after the DB is gone: truncates every tracked file to its synced size (or,
//                      on request, tears or zeroes the unsynced tail instead) and brings the
//                      power back (tracking starts afresh; what is on disk is durable).
//
// What it models (as LevelDB's db/fault_injection_test.cc and RocksDB's FaultInjectionTestFS):
//  - Data bytes not covered by a successful Sync/Fsync of their file are lost. Flush, RangeSync
//    (sync_file_range does not make data durable) and Close do not count as a sync.
//  - A file created and never synced comes back empty (with the default LostTail::kTruncated).
//  - Renames carry the source's state to the target (CURRENT is written as a synced temporary
//    file and renamed); hard links share it; deletes forget it; Truncate shrinks it.
//  - Files that were on disk before tracking began (or before the last DropUnsyncedData) are
//    durable; reopening one for append keeps its current size as synced.
// What it does not model (each makes it more lenient; none can report a false loss):
//  - Directory entries: a created, renamed or deleted name survives even without a directory
//    fsync. Reordered writes within the unsynced tail (it is dropped, torn or zeroed as a whole;
//    never a later block kept with an earlier one lost).
//  - Files it does not track: RocksDB's info LOG (NewLogger) passes through untouched.
//  - Recycled WAL files (ReuseWritableFile) and random-read-write files (NewRandomRWFile) are
//    refused with NotSupported rather than tracked wrongly; RocksDB uses neither by default.
//
// Invariants:
//  1. For every tracked file, synced <= written.
//  2. A Sync/Fsync returns OK if and only if it set `synced` to `written`; so nothing RocksDB
//     acknowledges rests on bytes this file system will drop.
//  3. After the cut no call changes the disk (Close only releases the descriptor) until
//     DropUnsyncedData. Every mutating call runs under one mutex, so the cut is atomic with
//     respect to all of them, including syncs on RocksDB's background threads.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

namespace stationsync::testing {

class PowerLossFileSystem : public rocksdb::FileSystemWrapper {
 public:
  explicit PowerLossFileSystem(
      const std::shared_ptr<rocksdb::FileSystem>& base = rocksdb::FileSystem::Default());
  ~PowerLossFileSystem() override;

  const char* Name() const override { return "PowerLossFileSystem"; }

  // The power goes out now. Idempotent.
  void Cut();
  // The power goes out just before the n-th (n >= 1) mutating operation counted from now, which
  // fails like everything after it. Mutating operations are the file system's create, reopen,
  // delete, rename, link, truncate and directory calls and the files' append, truncate, flush,
  // sync, fsync and range-sync calls.
  void CutBeforeOperation(uint64_t n);
  bool is_cut() const;
  // Mutating operations attempted so far (including ones refused after the cut).
  uint64_t operations() const;

  // What the disk holds of a file's unsynced bytes after the cut.
  enum class LostTail {
    kTruncated,  // nothing: the file ends at its last sync (LevelDB's and RocksDB's model)
    kTorn,       // a random prefix of them (0 to all bytes): a torn write
    kZeroed,     // zeros: the size reached the disk but the data did not (ext4/XFS delalloc)
  };
  // What survives the power cut: cuts every tracked file back to its synced size as `tail` says
  // (`seed` drives kTorn). Implies Cut(). The base file system must be the local one (file
  // names are local paths). Call only once the DB is closed or destroyed: fails without
  // touching anything while a file written through this file system is still open. Afterwards
  // the power is back on.
  rocksdb::IOStatus DropUnsyncedData(LostTail tail = LostTail::kTruncated, uint32_t seed = 0);
  // Bytes DropUnsyncedData has dropped so far, over all calls.
  uint64_t dropped_bytes() const;

  rocksdb::IOStatus NewWritableFile(const std::string& fname, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReopenWritableFile(const std::string& fname,
                                       const rocksdb::FileOptions& options,
                                       std::unique_ptr<rocksdb::FSWritableFile>* result,
                                       rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReuseWritableFile(const std::string& fname, const std::string& old_fname,
                                      const rocksdb::FileOptions& options,
                                      std::unique_ptr<rocksdb::FSWritableFile>* result,
                                      rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus NewRandomRWFile(const std::string& fname, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSRandomRWFile>* result,
                                    rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus NewMemoryMappedFileBuffer(
      const std::string& fname, std::unique_ptr<rocksdb::MemoryMappedFileBuffer>* result) override;
  rocksdb::IOStatus DeleteFile(const std::string& fname, const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus Truncate(const std::string& fname, size_t size,
                             const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus RenameFile(const std::string& src, const std::string& target_name,
                               const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus LinkFile(const std::string& src, const std::string& target_name,
                             const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus CreateDir(const std::string& dirname, const rocksdb::IOOptions& options,
                              rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus CreateDirIfMissing(const std::string& dirname,
                                       const rocksdb::IOOptions& options,
                                       rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus DeleteDir(const std::string& dirname, const rocksdb::IOOptions& options,
                              rocksdb::IODebugContext* dbg) override;

 private:
  struct FileState {
    uint64_t written = 0;  // bytes handed to the base file system
    uint64_t synced = 0;   // bytes covered by the last successful Sync/Fsync
  };
  class TrackedFile;

  // Counts one mutating operation, cuts the power if its time has come, and refuses it if the
  // power is out. Requires mu_.
  rocksdb::IOStatus AdmitLocked();
  rocksdb::IOStatus WrapLocked(const std::string& fname, std::shared_ptr<FileState> state,
                               std::unique_ptr<rocksdb::FSWritableFile>* result);

  mutable std::mutex mu_;
  bool cut_ = false;
  uint64_t operations_ = 0;
  uint64_t cut_before_ = 0;  // cut at this operation number; 0: not scheduled
  uint64_t dropped_bytes_ = 0;
  int open_files_ = 0;
  // Keyed by lexically normalized path. Several names share a state after LinkFile; an open
  // TrackedFile keeps its state even after its name is deleted or renamed.
  std::map<std::string, std::shared_ptr<FileState>> files_;
};

// An Env whose file system is `fs` (and the default clock and threads). The Env keeps `fs` alive.
std::unique_ptr<rocksdb::Env> MakeEnv(std::shared_ptr<PowerLossFileSystem> fs);

}  // namespace stationsync::testing
