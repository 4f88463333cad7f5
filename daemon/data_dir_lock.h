// An exclusive lock on a data directory, so that only one syncd ever writes a replica.
// Held (flock on DIR/syncd.lock) for the object's lifetime; released by the kernel if the
// process dies, so a kill -9 never leaves a stale lock behind.
#pragma once

#include <memory>
#include <string>

#include "sync/base/status.h"

namespace stationsync {

class DataDirLock {
 public:
  // kUnavailable if another process holds it; kUnavailable if DIR cannot be created or opened.
  static Result<std::unique_ptr<DataDirLock>> Acquire(const std::string& dir);
  ~DataDirLock();
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;

 private:
  explicit DataDirLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace stationsync
