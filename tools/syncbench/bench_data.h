// The records a benchmark moves: realistic ones from syncgen (the 临朐 profile, scaled to the
// count asked for), dealt out in turn to the first `stations` station units (one: the whole set
// is that station's scope). Asked for more stations than the county has (it has 12), the rest
// are made up in the same county.
// Written as two import files: the county's units but the other stations (so that the hub waits
// for no station the bench does not start), and the first `count` records in syncgen's order.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "sync/base/status.h"

namespace stationsync::bench {

struct BenchData {
  std::string units_path;             // JSON lines of the county's units, these stations only
  std::string records_path;           // JSON lines of `records` records, owned by the stations
  std::vector<std::string> stations;  // station unit codes, in code order
  size_t records = 0;
  size_t record_bytes = 0;  // sum of the lines' lengths
};

Result<BenchData> MakeBenchData(const std::string& dir, size_t count, uint64_t seed,
                                size_t stations = 1);

}  // namespace stationsync::bench
