// A fresh directory under the system temp directory, removed with everything in it when the
// object goes away. Names are short so that ipc:// socket paths inside stay under 107 bytes.
#pragma once

#include <string>

namespace stationsync {

class TempDir {
 public:
  TempDir();
  // Under `base` instead (e.g. /dev/shm, where fsync costs nothing, for tests that do not test
  // durability but open many stores).
  explicit TempDir(const std::string& base);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace stationsync
