// PowerLossFileSystem: tracking of written and synced bytes, the cut, and the truncation that
// stands for the lost page cache. See power_loss_fs.h for what is and is not modeled.
//
// Invariant: every tracking update happens under mu_, in the same critical section as the base
// file system call it describes, so the recorded state always matches what the call did.
#include "tests/support/power_loss_fs.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <utility>

namespace stationsync::testing {
namespace {

using rocksdb::IODebugContext;
using rocksdb::IOOptions;
using rocksdb::IOStatus;

std::string Key(const std::string& fname) {
  return std::filesystem::path(fname).lexically_normal().string();
}

}  // namespace

// A writable file that reports its appends and syncs to the file system's bookkeeping.
class PowerLossFileSystem::TrackedFile final : public rocksdb::FSWritableFileWrapper {
 public:
  TrackedFile(PowerLossFileSystem* fs, std::shared_ptr<FileState> state,
              std::unique_ptr<rocksdb::FSWritableFile> base)
      : rocksdb::FSWritableFileWrapper(base.get()),
        fs_(fs),
        state_(std::move(state)),
        base_(std::move(base)) {}

  ~TrackedFile() override {
    base_.reset();  // closes the descriptor if RocksDB did not, before the file counts as closed
    std::lock_guard lock(fs_->mu_);
    --fs_->open_files_;
  }

  IOStatus Append(const rocksdb::Slice& data, const IOOptions& options,
                  IODebugContext* dbg) override {
    std::lock_guard lock(fs_->mu_);
    IOStatus s = fs_->AdmitLocked();
    if (s.ok()) s = target()->Append(data, options, dbg);
    if (s.ok()) state_->written += data.size();
    return s;
  }
  IOStatus Append(const rocksdb::Slice& data, const IOOptions& options,
                  const rocksdb::DataVerificationInfo& info, IODebugContext* dbg) override {
    std::lock_guard lock(fs_->mu_);
    IOStatus s = fs_->AdmitLocked();
    if (s.ok()) s = target()->Append(data, options, info, dbg);
    if (s.ok()) state_->written += data.size();
    return s;
  }
  IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset, const IOOptions& options,
                            IODebugContext* dbg) override {
    std::lock_guard lock(fs_->mu_);
    IOStatus s = fs_->AdmitLocked();
    if (s.ok()) s = target()->PositionedAppend(data, offset, options, dbg);
    if (s.ok()) state_->written = std::max(state_->written, offset + data.size());
    return s;
  }
  IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset, const IOOptions& options,
                            const rocksdb::DataVerificationInfo& info,
                            IODebugContext* dbg) override {
    std::lock_guard lock(fs_->mu_);
    IOStatus s = fs_->AdmitLocked();
    if (s.ok()) s = target()->PositionedAppend(data, offset, options, info, dbg);
    if (s.ok()) state_->written = std::max(state_->written, offset + data.size());
    return s;
  }
  IOStatus Truncate(uint64_t size, const IOOptions& options, IODebugContext* dbg) override {
    std::lock_guard lock(fs_->mu_);
    IOStatus s = fs_->AdmitLocked();
    if (s.ok()) s = target()->Truncate(size, options, dbg);
    if (s.ok()) {
      state_->written = size;
      state_->synced = std::min(state_->synced, size);
    }
    return s;
  }
  IOStatus Flush(const IOOptions& options, IODebugContext* dbg) override {
    std::lock_guard lock(fs_->mu_);
    IOStatus s = fs_->AdmitLocked();
    if (s.ok()) s = target()->Flush(options, dbg);
    return s;
  }
  IOStatus Sync(const IOOptions& options, IODebugContext* dbg) override {
    std::lock_guard lock(fs_->mu_);
    IOStatus s = fs_->AdmitLocked();
    if (s.ok()) s = target()->Sync(options, dbg);
    if (s.ok()) state_->synced = state_->written;
    return s;
  }
  IOStatus Fsync(const IOOptions& options, IODebugContext* dbg) override {
    std::lock_guard lock(fs_->mu_);
    IOStatus s = fs_->AdmitLocked();
    if (s.ok()) s = target()->Fsync(options, dbg);
    if (s.ok()) state_->synced = state_->written;
    return s;
  }
  // Not a durability point: sync_file_range(SYNC_FILE_RANGE_WRITE) only starts writeback.
  IOStatus RangeSync(uint64_t offset, uint64_t nbytes, const IOOptions& options,
                     IODebugContext* dbg) override {
    std::lock_guard lock(fs_->mu_);
    IOStatus s = fs_->AdmitLocked();
    if (s.ok()) s = target()->RangeSync(offset, nbytes, options, dbg);
    return s;
  }
  // Not a durability point, and allowed after the cut: it only releases the descriptor (the
  // POSIX file trims its preallocation to the size already written).
  IOStatus Close(const IOOptions& options, IODebugContext* dbg) override {
    std::lock_guard lock(fs_->mu_);
    return target()->Close(options, dbg);
  }

 private:
  PowerLossFileSystem* const fs_;
  const std::shared_ptr<FileState> state_;
  std::unique_ptr<rocksdb::FSWritableFile> base_;
};

PowerLossFileSystem::PowerLossFileSystem(const std::shared_ptr<rocksdb::FileSystem>& base)
    : rocksdb::FileSystemWrapper(base) {}

PowerLossFileSystem::~PowerLossFileSystem() = default;

void PowerLossFileSystem::Cut() {
  std::lock_guard lock(mu_);
  cut_ = true;
}

void PowerLossFileSystem::CutBeforeOperation(uint64_t n) {
  std::lock_guard lock(mu_);
  cut_before_ = operations_ + std::max<uint64_t>(n, 1);
}

bool PowerLossFileSystem::is_cut() const {
  std::lock_guard lock(mu_);
  return cut_;
}

uint64_t PowerLossFileSystem::operations() const {
  std::lock_guard lock(mu_);
  return operations_;
}

uint64_t PowerLossFileSystem::dropped_bytes() const {
  std::lock_guard lock(mu_);
  return dropped_bytes_;
}

IOStatus PowerLossFileSystem::AdmitLocked() {
  ++operations_;
  if (cut_before_ != 0 && operations_ >= cut_before_) {
    cut_ = true;
    cut_before_ = 0;
  }
  if (cut_) return IOStatus::IOError("simulated power cut: the disk is gone");
  return IOStatus::OK();
}

IOStatus PowerLossFileSystem::WrapLocked(const std::string& fname, std::shared_ptr<FileState> state,
                                         std::unique_ptr<rocksdb::FSWritableFile>* result) {
  files_[Key(fname)] = state;
  ++open_files_;
  *result = std::make_unique<TrackedFile>(this, std::move(state), std::move(*result));
  return IOStatus::OK();
}

IOStatus PowerLossFileSystem::DropUnsyncedData(LostTail tail, uint32_t seed) {
  std::lock_guard lock(mu_);
  if (open_files_ != 0) {
    return IOStatus::IOError("DropUnsyncedData: " + std::to_string(open_files_) +
                             " written files are still open; close the DB first");
  }
  cut_ = true;
  std::mt19937 rng(seed);
  // RocksDB's POSIX file system does not implement FileSystem::Truncate, so the lost page cache
  // is dropped with truncate(2) on the local path.
  std::set<const FileState*> done;  // hard links share one state: handle it once
  for (const auto& [name, state] : files_) {
    if (!done.insert(state.get()).second) continue;
    std::error_code ec;
    const uint64_t size = std::filesystem::file_size(name, ec);
    if (ec == std::errc::no_such_file_or_directory) continue;
    if (ec) return IOStatus::IOError("DropUnsyncedData: size of " + name + ": " + ec.message());
    if (size <= state->synced) continue;
    const uint64_t unsynced = size - state->synced;
    switch (tail) {
      case LostTail::kTruncated:
        std::filesystem::resize_file(name, state->synced, ec);
        dropped_bytes_ += unsynced;
        break;
      case LostTail::kTorn: {
        const uint64_t kept = std::uniform_int_distribution<uint64_t>(0, unsynced)(rng);
        std::filesystem::resize_file(name, state->synced + kept, ec);
        dropped_bytes_ += unsynced - kept;
        break;
      }
      case LostTail::kZeroed: {
        std::fstream file(name, std::ios::in | std::ios::out | std::ios::binary);
        file.seekp(static_cast<std::streamoff>(state->synced));
        const std::string zeros(unsynced, '\0');
        file.write(zeros.data(), static_cast<std::streamsize>(zeros.size()));
        file.close();
        if (!file) ec = std::make_error_code(std::errc::io_error);
        dropped_bytes_ += unsynced;
        break;
      }
    }
    if (ec) return IOStatus::IOError("DropUnsyncedData: cutting " + name + ": " + ec.message());
  }
  files_.clear();
  cut_before_ = 0;
  cut_ = false;
  return IOStatus::OK();
}

IOStatus PowerLossFileSystem::NewWritableFile(const std::string& fname,
                                              const rocksdb::FileOptions& options,
                                              std::unique_ptr<rocksdb::FSWritableFile>* result,
                                              IODebugContext* dbg) {
  std::lock_guard lock(mu_);
  IOStatus s = AdmitLocked();
  if (s.ok()) s = target()->NewWritableFile(fname, options, result, dbg);
  if (!s.ok()) return s;
  return WrapLocked(fname, std::make_shared<FileState>(), result);  // created or truncated: empty
}

IOStatus PowerLossFileSystem::ReopenWritableFile(const std::string& fname,
                                                 const rocksdb::FileOptions& options,
                                                 std::unique_ptr<rocksdb::FSWritableFile>* result,
                                                 IODebugContext* dbg) {
  std::lock_guard lock(mu_);
  IOStatus s = AdmitLocked();
  if (s.ok()) s = target()->ReopenWritableFile(fname, options, result, dbg);
  if (!s.ok()) return s;
  std::shared_ptr<FileState> state;
  if (auto it = files_.find(Key(fname)); it != files_.end()) {
    state = it->second;
  } else {
    // Untracked: it was on disk before tracking began, so all of it is durable.
    uint64_t size = 0;
    s = target()->GetFileSize(fname, IOOptions(), &size, dbg);
    if (!s.ok()) {
      result->reset();
      return s;
    }
    state = std::make_shared<FileState>(FileState{size, size});
  }
  return WrapLocked(fname, std::move(state), result);
}

IOStatus PowerLossFileSystem::ReuseWritableFile(const std::string&, const std::string&,
                                                const rocksdb::FileOptions&,
                                                std::unique_ptr<rocksdb::FSWritableFile>*,
                                                IODebugContext*) {
  return IOStatus::NotSupported("PowerLossFileSystem does not model recycled files");
}

IOStatus PowerLossFileSystem::NewRandomRWFile(const std::string&, const rocksdb::FileOptions&,
                                              std::unique_ptr<rocksdb::FSRandomRWFile>*,
                                              IODebugContext*) {
  return IOStatus::NotSupported("PowerLossFileSystem does not model random-write files");
}

IOStatus PowerLossFileSystem::NewMemoryMappedFileBuffer(
    const std::string&, std::unique_ptr<rocksdb::MemoryMappedFileBuffer>*) {
  return IOStatus::NotSupported("PowerLossFileSystem does not model memory-mapped writes");
}

IOStatus PowerLossFileSystem::DeleteFile(const std::string& fname, const IOOptions& options,
                                         IODebugContext* dbg) {
  std::lock_guard lock(mu_);
  IOStatus s = AdmitLocked();
  if (s.ok()) s = target()->DeleteFile(fname, options, dbg);
  if (s.ok()) files_.erase(Key(fname));
  return s;
}

IOStatus PowerLossFileSystem::Truncate(const std::string& fname, size_t size,
                                       const IOOptions& options, IODebugContext* dbg) {
  std::lock_guard lock(mu_);
  IOStatus s = AdmitLocked();
  if (s.ok()) s = target()->Truncate(fname, size, options, dbg);
  if (s.ok()) {
    if (auto it = files_.find(Key(fname)); it != files_.end()) {
      it->second->written = size;
      it->second->synced = std::min<uint64_t>(it->second->synced, size);
    }
  }
  return s;
}

IOStatus PowerLossFileSystem::RenameFile(const std::string& src, const std::string& target_name,
                                         const IOOptions& options, IODebugContext* dbg) {
  std::lock_guard lock(mu_);
  IOStatus s = AdmitLocked();
  if (s.ok()) s = target()->RenameFile(src, target_name, options, dbg);
  if (!s.ok()) return s;
  auto node = files_.extract(Key(src));
  files_.erase(Key(target_name));  // replaced
  if (!node.empty()) {
    node.key() = Key(target_name);
    files_.insert(std::move(node));
  }
  return s;
}

IOStatus PowerLossFileSystem::LinkFile(const std::string& src, const std::string& target_name,
                                       const IOOptions& options, IODebugContext* dbg) {
  std::lock_guard lock(mu_);
  IOStatus s = AdmitLocked();
  if (s.ok()) s = target()->LinkFile(src, target_name, options, dbg);
  if (!s.ok()) return s;
  if (auto it = files_.find(Key(src)); it != files_.end()) {
    files_[Key(target_name)] = it->second;
  } else {
    files_.erase(Key(target_name));
  }
  return s;
}

IOStatus PowerLossFileSystem::CreateDir(const std::string& dirname, const IOOptions& options,
                                        IODebugContext* dbg) {
  std::lock_guard lock(mu_);
  IOStatus s = AdmitLocked();
  if (s.ok()) s = target()->CreateDir(dirname, options, dbg);
  return s;
}

IOStatus PowerLossFileSystem::CreateDirIfMissing(const std::string& dirname,
                                                 const IOOptions& options, IODebugContext* dbg) {
  std::lock_guard lock(mu_);
  IOStatus s = AdmitLocked();
  if (s.ok()) s = target()->CreateDirIfMissing(dirname, options, dbg);
  return s;
}

IOStatus PowerLossFileSystem::DeleteDir(const std::string& dirname, const IOOptions& options,
                                        IODebugContext* dbg) {
  std::lock_guard lock(mu_);
  IOStatus s = AdmitLocked();
  if (s.ok()) s = target()->DeleteDir(dirname, options, dbg);
  return s;
}

std::unique_ptr<rocksdb::Env> MakeEnv(std::shared_ptr<PowerLossFileSystem> fs) {
  return rocksdb::NewCompositeEnv(std::move(fs));
}

}  // namespace stationsync::testing
