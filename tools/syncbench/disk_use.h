// Disk use of a RocksDB store directory: everything in it, and the write-ahead log part of that
// (the *.log files), in bytes as allocated on disk (st_blocks), so sparse or preallocated files
// count as what they cost.
#pragma once

#include <cstdint>
#include <string>

namespace stationsync::bench {

struct DiskUse {
  uint64_t total = 0;
  uint64_t wal = 0;
};

DiskUse MeasureDiskUse(const std::string& dir);

}  // namespace stationsync::bench
