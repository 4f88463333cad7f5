// A RocksDB file system that times the syncs of the write-ahead log (Sync and Fsync of "*.log"
// files: what a durable write waits for), for the fsync histogram of GET /metrics. Everything
// else passes straight to the base file system.
//
// Threads: RocksDB may sync from any of its threads; the histogram's counters are atomic, and
// sync_latency() may be read from any thread (a copy taken bucket by bucket: its count is the
// sum of its buckets; its sum may include a sync whose bucket was read before it landed).
// Ownership: the daemon keeps this file system and the Env made of it (NewCompositeEnv) alive
// longer than the replica that uses them (ReplicaOptions::env).
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <string>

#include <rocksdb/file_system.h>

#include "daemon/latency_histogram.h"

namespace stationsync {

class WalSyncTimingFileSystem : public rocksdb::FileSystemWrapper {
 public:
  explicit WalSyncTimingFileSystem(
      const std::shared_ptr<rocksdb::FileSystem>& base = rocksdb::FileSystem::Default());

  const char* Name() const override { return "WalSyncTimingFileSystem"; }

  // The syncs timed so far.
  LatencyHistogram sync_latency() const;

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

 private:
  class TimedFile;
  void Observe(uint64_t micros);
  // A WAL file opened: wrap it so its syncs are timed (others are returned as they are).
  rocksdb::IOStatus Wrap(const std::string& fname, rocksdb::IOStatus opened,
                         std::unique_ptr<rocksdb::FSWritableFile>* result);

  std::array<std::atomic<uint64_t>, LatencyHistogram::kBoundsUs.size() + 1> buckets_{};
  std::atomic<uint64_t> sum_us_{0};
};

}  // namespace stationsync
