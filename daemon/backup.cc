// See backup.h.
#include "daemon/backup.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sync/base/json_log.h"

namespace stationsync {
namespace {

namespace fs = std::filesystem;

constexpr mode_t kBackupDirMode = 0700;            // the secret key is inside
constexpr char kStagingName[] = "backup-staging";  // in DATA: step 1's checkpoint
constexpr char kPartialName[] = "db.partial";      // in DIR: a copy not yet complete

// fsync of a file or directory, so that what the report counts survives a power cut.
Status SyncPath(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Internal(fmt::format("opening {}: {}", path.string(), std::strerror(errno)));
  const int synced = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  if (synced != 0) {
    return Internal(fmt::format("syncing {}: {}", path.string(), std::strerror(error)));
  }
  return Status::Ok();
}

// DIR as an absolute, normal path without a trailing slash, checked against the data directory.
Result<fs::path> CheckTarget(const BackupSource& source, const std::string& dir) {
  fs::path target = fs::path(dir).lexically_normal();
  if (dir.empty() || !target.is_absolute()) {
    return Invalid(fmt::format("backup directory '{}' is not an absolute path", dir));
  }
  if (!target.has_filename()) target = target.parent_path();  // "/a/b/" -> "/a/b"
  if (!source.data_dir.empty()) {
    std::error_code data_ec, target_ec;
    const fs::path data = fs::weakly_canonical(source.data_dir, data_ec);
    const fs::path where = fs::weakly_canonical(target, target_ec);
    const auto [data_end, unused] =
        std::mismatch(data.begin(), data.end(), where.begin(), where.end());
    if (!data_ec && !target_ec && data_end == data.end()) {
      return Invalid(fmt::format(
          "backup directory {} is inside the data directory {}: choose a directory outside it",
          target.string(), data.string()));
    }
  }
  return target;
}

// Makes DIR (mode 0700), or accepts it if it is an empty directory. `made`: whether we made it.
Status PrepareTarget(const fs::path& target, bool& made) {
  std::error_code ec;
  const fs::file_status status = fs::symlink_status(target, ec);
  if (fs::exists(status)) {
    if (!fs::is_directory(status)) {
      return Refused(fmt::format(
          "backup directory {} exists and is not a directory; nothing was written (choose a new "
          "directory)",
          target.string()));
    }
    if (!fs::is_empty(target, ec) || ec) {
      return Refused(fmt::format(
          "backup directory {} exists and is not empty; nothing was written (choose a new "
          "directory, or empty this one)",
          target.string()));
    }
    made = false;
    if (::chmod(target.c_str(), kBackupDirMode) != 0) {
      return Invalid(fmt::format("cannot restrict backup directory {} to mode 0700: {}",
                                 target.string(), std::strerror(errno)));
    }
    return Status::Ok();
  }
  if (!fs::is_directory(target.parent_path(), ec)) {
    return Invalid(fmt::format("cannot make backup directory {}: {} is not a directory",
                               target.string(), target.parent_path().string()));
  }
  if (::mkdir(target.c_str(), kBackupDirMode) != 0) {
    return Invalid(
        fmt::format("cannot make backup directory {}: {}", target.string(), std::strerror(errno)));
  }
  made = true;
  return Status::Ok();
}

// Removes what a failed backup wrote (invariant 2): the staging, and DIR's contents (DIR too if
// the backup made it).
// DATA/backup-staging, or nothing when the checkpoint was made in DIR itself.
void RemoveStaging(const BackupJob& job) {
  std::error_code ec;
  if (job.staging != job.target / "db") fs::remove_all(job.staging.parent_path(), ec);
}

void Undo(const BackupJob& job) {
  RemoveStaging(job);
  std::error_code ec;
  if (job.made_target) {
    fs::remove_all(job.target, ec);
    return;
  }
  for (const auto& entry : fs::directory_iterator(job.target, ec)) {
    fs::remove_all(entry.path(), ec);
  }
}

// Writes the key pair as DIR/node.cert{,_secret} (the names a data directory uses), synced.
Status WriteKeyPair(const fs::path& target, const CurveKeyPair& pair) {
  const fs::path path = target / "node.cert";
  SS_RETURN_IF_ERROR(SaveCertificate(path.string(), pair));
  SS_RETURN_IF_ERROR(SyncPath(path));
  return SyncPath(path.string() + "_secret");
}

// Copies the file `from` to the new file `to` (mode 0600) in chunks, then syncs it. `cancel` is
// checked between chunks; `copied` counts the backup's bytes so far (for job.test_copy).
Status CopyFile(const fs::path& from, const fs::path& to, const BackupJob& job,
                const std::atomic<bool>& cancel, uint64_t& copied) {
  const TEST_BackupCopy& faults = job.test_copy;
  const int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return Internal(fmt::format("reading {}: {}", from.string(), std::strerror(errno)));
  const int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (out < 0) {
    const int error = errno;
    ::close(in);
    return Internal(fmt::format("making {}: {}", to.string(), std::strerror(error)));
  }
  auto failed = [&](const char* doing, int error) {
    ::close(in);
    ::close(out);
    return Internal(fmt::format("copying {} to {}: {}: {}", from.string(), to.string(), doing,
                                std::strerror(error)));
  };
  std::vector<char> buffer(kBackupCopyChunkBytes);
  while (true) {
    if (cancel.load()) {
      ::close(in);
      ::close(out);
      return Unavailable("syncd is stopping: the backup was abandoned");
    }
    const ssize_t got = ::read(in, buffer.data(), buffer.size());
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return failed("reading", errno);
    if (got == 0) break;
    for (size_t done = 0; done < static_cast<size_t>(got);) {
      const size_t left = static_cast<size_t>(got) - done;
      if (faults.fail_after_bytes > 0 && copied + left > faults.fail_after_bytes) {
        return failed("writing", ENOSPC);  // TEST_BackupCopy: a full disk
      }
      const ssize_t put = ::write(out, buffer.data() + done, left);
      if (put < 0 && errno == EINTR) continue;
      if (put < 0) return failed("writing", errno);
      done += static_cast<size_t>(put);
      copied += static_cast<uint64_t>(put);
    }
    if (faults.pause_after_bytes > 0 && copied >= faults.pause_after_bytes) {
      // TEST_BackupCopy: a copy that takes long, until the daemon stops (or the bound).
      spdlog::warn("backup: TEST copy paused after {} bytes", copied);
      for (uint64_t waited_ms = 0; !cancel.load() && waited_ms < kTestBackupPauseMsMax;
           waited_ms += 10) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
  }
  if (::fsync(out) != 0) return failed("syncing", errno);
  ::close(in);
  if (::close(out) != 0) {
    return Internal(fmt::format("closing {}: {}", to.string(), std::strerror(errno)));
  }
  return Status::Ok();
}

// The staged checkpoint as DIR/db: renamed on the same file system, else copied file by file
// into DIR/db.partial, which becomes DIR/db once complete (invariant 5).
Status MoveCheckpoint(const BackupJob& job, const std::atomic<bool>& cancel) {
  const fs::path db = job.target / "db";
  if (job.staging == db) return Status::Ok();
  std::error_code ec;
  if (!job.test_copy.always_copy) {
    fs::rename(job.staging, db, ec);
    if (!ec) return SyncPath(job.target);
    if (ec != std::errc::cross_device_link) {
      return Internal(fmt::format("moving the checkpoint to {}: {}", db.string(), ec.message()));
    }
  }
  const fs::path partial = job.target / kPartialName;
  if (::mkdir(partial.c_str(), 0700) != 0) {
    return Internal(fmt::format("making {}: {}", partial.string(), std::strerror(errno)));
  }
  uint64_t copied = 0;
  for (fs::directory_iterator entry(job.staging, ec), end; !ec && entry != end;
       entry.increment(ec)) {
    SS_RETURN_IF_ERROR(
        CopyFile(entry->path(), partial / entry->path().filename(), job, cancel, copied));
  }
  if (ec) {
    return Internal(
        fmt::format("listing the checkpoint {}: {}", job.staging.string(), ec.message()));
  }
  SS_RETURN_IF_ERROR(SyncPath(partial));
  fs::rename(partial, db, ec);
  if (ec) {
    return Internal(
        fmt::format("renaming {} to {}: {}", partial.string(), db.string(), ec.message()));
  }
  return SyncPath(job.target);
}

// Every file under DIR and their sizes.
Result<BackupReport> Count(const fs::path& target) {
  BackupReport report;
  report.path = target.string();
  std::error_code ec;
  for (const auto& entry : fs::recursive_directory_iterator(target, ec)) {
    if (!entry.is_regular_file(ec)) continue;
    ++report.files;
    report.bytes += entry.file_size(ec);
  }
  if (ec) {
    return Internal(fmt::format("counting backup files in {}: {}", report.path, ec.message()));
  }
  return report;
}

Result<BackupReport> Finish(const BackupJob& job, const std::atomic<bool>& cancel) {
  SS_RETURN_IF_ERROR(MoveCheckpoint(job, cancel));
  RemoveStaging(job);
  if (job.key_pair) SS_RETURN_IF_ERROR(WriteKeyPair(job.target, *job.key_pair));
  SS_RETURN_IF_ERROR(SyncPath(job.target));
  if (job.made_target) SS_RETURN_IF_ERROR(SyncPath(job.target.parent_path()));
  auto report = Count(job.target);
  if (!report.ok()) return report.status();
  report->log_position = job.log_position;
  report->key_pair = job.key_pair.has_value();
  return report;
}

}  // namespace

void AbandonBackup(const BackupJob& job) {
  Undo(job);
}

TEST_BackupCopy TEST_BackupCopyFromEnvironment() {
  TEST_BackupCopy faults;
  const char* value = std::getenv(kTestBackupCopyVariable);
  if (value == nullptr) return faults;
  std::string_view rest(value);
  while (!rest.empty()) {
    const std::string_view item = rest.substr(0, rest.find(','));
    rest.remove_prefix(std::min(rest.size(), item.size() + 1));
    const auto number = [&item](std::string_view name, uint64_t& into) {
      if (!item.starts_with(name)) return false;
      const std::string_view digits = item.substr(name.size());
      const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), into);
      return error == std::errc() && end == digits.data() + digits.size() && into > 0;
    };
    if (item == "copy" || number("pause_after=", faults.pause_after_bytes) ||
        number("fail_after=", faults.fail_after_bytes)) {
      faults.always_copy = true;
    } else if (!item.empty()) {
      spdlog::warn("{}: ignoring '{}' (copy, pause_after=BYTES, fail_after=BYTES)",
                   kTestBackupCopyVariable, item);
    }
  }
  if (faults.always_copy) {
    spdlog::warn("{} is set: backups copy with test faults (tests only)", kTestBackupCopyVariable);
  }
  return faults;
}

void RemoveBackupStaging(const std::string& data_dir) {
  std::error_code ec;
  fs::remove_all(fs::path(data_dir) / kStagingName, ec);
}

Result<BackupJob> StartBackup(const Replica& replica, const BackupSource& source,
                              const std::string& dir) {
  auto refuse = [&dir](const Status& status) {
    LogEvent(spdlog::level::warn, "backup_refused", {{"path", dir}, {"error", status.message()}},
             "backup to {} refused: {}", dir, status.ToString());
    return status;
  };
  auto target = CheckTarget(source, dir);
  if (!target.ok()) return refuse(target.status());
  BackupJob job;
  job.target = *target;
  job.key_pair = source.key_pair;
  job.test_copy = source.test_copy;
  if (Status prepared = PrepareTarget(job.target, job.made_target); !prepared.ok()) {
    return refuse(prepared);
  }
  job.staging = job.target / "db";
  if (!source.data_dir.empty()) {
    // What a backup cut short by a crash left here is not anyone's backup (invariant 4).
    RemoveBackupStaging(source.data_dir);
    const fs::path staging_parent = fs::path(source.data_dir) / kStagingName;
    std::error_code ec;
    fs::create_directories(staging_parent, ec);
    job.staging = staging_parent / "db";
  }
  auto position = replica.Checkpoint(job.staging.string());
  if (!position.ok()) {
    Undo(job);
    LogEvent(spdlog::level::err, "backup_failed",
             {{"path", job.target.string()}, {"error", position.status().message()}},
             "backup to {} failed, nothing kept: {}", job.target.string(),
             position.status().ToString());
    return position.status();
  }
  job.log_position = *position;
  return job;
}

Result<BackupReport> FinishBackup(const BackupJob& job, const std::atomic<bool>& cancel) {
  auto report = Finish(job, cancel);
  if (!report.ok()) {
    Undo(job);
    LogEvent(spdlog::level::err, "backup_failed",
             {{"path", job.target.string()}, {"error", report.status().message()}},
             "backup to {} failed, nothing kept: {}", job.target.string(),
             report.status().ToString());
    return report.status();
  }
  LogEvent(spdlog::level::info, "backup_written",
           {{"path", report->path},
            {"files", report->files},
            {"bytes", report->bytes},
            {"log_position", report->log_position},
            {"key_pair", report->key_pair}},
           "backup written to {}: {} files, {} bytes, log at {}{}", report->path, report->files,
           report->bytes, report->log_position,
           report->key_pair ? ", with the node's key pair" : " (no key pair: --insecure)");
  return report;
}

}  // namespace stationsync
