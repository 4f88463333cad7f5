// See wal_sync_timing.h.
#include "daemon/wal_sync_timing.h"

#include <chrono>

namespace stationsync {

class WalSyncTimingFileSystem::TimedFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  TimedFile(std::unique_ptr<rocksdb::FSWritableFile> file, WalSyncTimingFileSystem& owner)
      : rocksdb::FSWritableFileOwnerWrapper(std::move(file)), owner_(owner) {}

  rocksdb::IOStatus Sync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    const auto started = std::chrono::steady_clock::now();
    rocksdb::IOStatus status = target()->Sync(options, dbg);
    Done(started);
    return status;
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options,
                          rocksdb::IODebugContext* dbg) override {
    const auto started = std::chrono::steady_clock::now();
    rocksdb::IOStatus status = target()->Fsync(options, dbg);
    Done(started);
    return status;
  }

 private:
  void Done(std::chrono::steady_clock::time_point started) {
    owner_.Observe(static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                             std::chrono::steady_clock::now() - started)
                                             .count()));
  }

  WalSyncTimingFileSystem& owner_;
};

WalSyncTimingFileSystem::WalSyncTimingFileSystem(const std::shared_ptr<rocksdb::FileSystem>& base)
    : rocksdb::FileSystemWrapper(base) {}

void WalSyncTimingFileSystem::Observe(uint64_t micros) {
  buckets_[LatencyHistogram::BucketOf(micros)].fetch_add(1, std::memory_order_relaxed);
  sum_us_.fetch_add(micros, std::memory_order_relaxed);
}

LatencyHistogram WalSyncTimingFileSystem::sync_latency() const {
  LatencyHistogram histogram;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    histogram.buckets[i] = buckets_[i].load(std::memory_order_relaxed);
    histogram.count += histogram.buckets[i];  // so count == sum of buckets, whatever races
  }
  histogram.sum_us = sum_us_.load(std::memory_order_relaxed);
  return histogram;
}

rocksdb::IOStatus WalSyncTimingFileSystem::Wrap(const std::string& fname, rocksdb::IOStatus opened,
                                                std::unique_ptr<rocksdb::FSWritableFile>* result) {
  if (opened.ok() && fname.ends_with(".log")) {
    *result = std::make_unique<TimedFile>(std::move(*result), *this);
  }
  return opened;
}

rocksdb::IOStatus WalSyncTimingFileSystem::NewWritableFile(
    const std::string& fname, const rocksdb::FileOptions& options,
    std::unique_ptr<rocksdb::FSWritableFile>* result, rocksdb::IODebugContext* dbg) {
  return Wrap(fname, target()->NewWritableFile(fname, options, result, dbg), result);
}

rocksdb::IOStatus WalSyncTimingFileSystem::ReopenWritableFile(
    const std::string& fname, const rocksdb::FileOptions& options,
    std::unique_ptr<rocksdb::FSWritableFile>* result, rocksdb::IODebugContext* dbg) {
  return Wrap(fname, target()->ReopenWritableFile(fname, options, result, dbg), result);
}

rocksdb::IOStatus WalSyncTimingFileSystem::ReuseWritableFile(
    const std::string& fname, const std::string& old_fname, const rocksdb::FileOptions& options,
    std::unique_ptr<rocksdb::FSWritableFile>* result, rocksdb::IODebugContext* dbg) {
  return Wrap(fname, target()->ReuseWritableFile(fname, old_fname, options, result, dbg), result);
}

}  // namespace stationsync
