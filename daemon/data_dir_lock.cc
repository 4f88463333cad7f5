#include "daemon/data_dir_lock.h"

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace stationsync {

Result<std::unique_ptr<DataDirLock>> DataDirLock::Acquire(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Unavailable(fmt::format("cannot create data directory {}: {}", dir, ec.message()));
  // Records, keys and the API socket live here: the daemon's user and group only (0750 or
  // tighter; a tighter mode is kept).
  struct stat info {};
  if (::stat(dir.c_str(), &info) == 0 && (info.st_mode & 0027) != 0 &&
      ::chmod(dir.c_str(), info.st_mode & 07750) != 0) {
    return Unavailable(fmt::format("cannot restrict data directory {} to mode 0750: {}", dir,
                                   std::strerror(errno)));
  }
  const std::string path = dir + "/syncd.lock";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Unavailable(fmt::format("cannot open {}: {}", path, std::strerror(errno)));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    ::close(fd);
    if (error == EWOULDBLOCK) {
      return Unavailable(
          fmt::format("data directory {} is in use by another syncd (lock {} is held)", dir, path));
    }
    return Unavailable(fmt::format("cannot lock {}: {}", path, std::strerror(error)));
  }
  // Record the holder's pid for people; the lock itself is the flock.
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) == 0 && ::write(fd, pid.data(), pid.size()) < 0) {
    // Not fatal: the pid is informational.
  }
  return std::unique_ptr<DataDirLock>(new DataDirLock(fd));
}

DataDirLock::~DataDirLock() {
  ::close(fd_);
}

}  // namespace stationsync
