#include "tools/syncbench/disk_use.h"

#include <filesystem>
#include <memory>
#include <vector>

#include <rocksdb/db.h>
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

std::map<std::string, uint64_t> TableBytesByFamily(const std::string& data_dir) {
  namespace fs = std::filesystem;
  std::map<std::string, uint64_t> bytes;
  std::string dir;  // the store: the directory holding CURRENT
  std::error_code ec;
  for (fs::recursive_directory_iterator it(data_dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().filename() == "CURRENT") dir = it->path().parent_path().string();
  }
  if (dir.empty()) return bytes;
  std::vector<std::string> names;
  if (!rocksdb::DB::ListColumnFamilies({}, dir, &names).ok()) return bytes;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& name : names) descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  // Only the manifest's file list is read: no merge operator or table options are needed.
  if (!rocksdb::DB::OpenForReadOnly({}, dir, descriptors, &handles, &raw).ok()) return bytes;
  std::unique_ptr<rocksdb::DB> db(raw);
  for (auto* handle : handles) {
    rocksdb::ColumnFamilyMetaData meta;
    db->GetColumnFamilyMetaData(handle, &meta);
    bytes[meta.name] = meta.size;
    db->DestroyColumnFamilyHandle(handle);
  }
  return bytes;
}

}  // namespace stationsync::bench
