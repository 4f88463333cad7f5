#include "tools/syncbench/disk_use.h"

#include <filesystem>

#include <sys/stat.h>

namespace stationsync::bench {

DiskUse MeasureDiskUse(const std::string& dir) {
  namespace fs = std::filesystem;
  DiskUse use;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    struct stat info {};
    if (!it->is_regular_file(ec) || ::stat(it->path().c_str(), &info) != 0) continue;
    const uint64_t bytes = static_cast<uint64_t>(info.st_blocks) * 512;
    use.total += bytes;
    if (it->path().extension() == ".log") use.wal += bytes;
  }
  return use;
}

}  // namespace stationsync::bench
