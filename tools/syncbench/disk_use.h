// Disk use of a RocksDB store directory: everything in it, and the write-ahead log part of that
// (the *.log files), in bytes as allocated on disk (st_blocks), so sparse or preallocated files
// count as what they cost; and the table files' bytes by column family, to say where it goes.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace stationsync::bench {

struct DiskUse {
  uint64_t total = 0;
  uint64_t wal = 0;
};

DiskUse MeasureDiskUse(const std::string& dir);

// The live table files' bytes of each column family of the (stopped) store under `data_dir` (the
// directory holding its CURRENT file), by family name; empty if it cannot be opened read-only.
std::map<std::string, uint64_t> TableBytesByFamily(const std::string& data_dir);

}  // namespace stationsync::bench
