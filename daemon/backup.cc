// See backup.h.
#include "daemon/backup.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sync/base/json_log.h"

namespace stationsync {
namespace {

namespace fs = std::filesystem;

constexpr mode_t kBackupDirMode = 0700;  // the secret key is inside

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

// Removes what a failed backup wrote (invariant 2).
void Undo(const fs::path& target, bool made) {
  std::error_code ec;
  if (made) {
    fs::remove_all(target, ec);
    return;
  }
  for (const auto& entry : fs::directory_iterator(target, ec)) fs::remove_all(entry.path(), ec);
}

// Writes the key pair as DIR/node.cert{,_secret} (the names a data directory uses), synced.
Status WriteKeyPair(const fs::path& target, const CurveKeyPair& pair) {
  const fs::path path = target / "node.cert";
  SS_RETURN_IF_ERROR(SaveCertificate(path.string(), pair));
  SS_RETURN_IF_ERROR(SyncPath(path));
  return SyncPath(path.string() + "_secret");
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
  if (ec)
    return Internal(fmt::format("counting backup files in {}: {}", report.path, ec.message()));
  return report;
}

}  // namespace

Result<BackupReport> MakeBackup(const Replica& replica, const BackupSource& source,
                                const std::string& dir) {
  auto refuse = [&dir](const Status& status) {
    LogEvent(spdlog::level::warn, "backup_refused", {{"path", dir}, {"error", status.message()}},
             "backup to {} refused: {}", dir, status.ToString());
    return status;
  };
  auto target = CheckTarget(source, dir);
  if (!target.ok()) return refuse(target.status());
  bool made = false;
  if (Status prepared = PrepareTarget(*target, made); !prepared.ok()) return refuse(prepared);
  auto fail = [&](const Status& status) {
    Undo(*target, made);
    LogEvent(spdlog::level::err, "backup_failed",
             {{"path", target->string()}, {"error", status.message()}},
             "backup to {} failed, nothing kept: {}", target->string(), status.ToString());
    return status;
  };
  auto position = replica.Checkpoint((*target / "db").string());
  if (!position.ok()) return fail(position.status());
  if (source.key_pair) {
    if (Status written = WriteKeyPair(*target, *source.key_pair); !written.ok()) {
      return fail(written);
    }
  }
  if (Status synced = SyncPath(*target); !synced.ok()) return fail(synced);
  if (made) {
    if (Status synced = SyncPath(target->parent_path()); !synced.ok()) return fail(synced);
  }
  auto report = Count(*target);
  if (!report.ok()) return fail(report.status());
  report->log_position = *position;
  report->key_pair = source.key_pair.has_value();
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
