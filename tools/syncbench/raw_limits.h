// The baselines: the same work done with nothing but the libraries StationSync is built on, on the
// same records' bytes, so that each figure can be read as a ratio of what the libraries allow.
//
//   source store   the records as key "<table>/<id>" -> the record's JSON line, in a RocksDB
//                  store with default options (built once, untimed)
//   raw ingest     scan the source, a synced WriteBatch per 1,000 records into a fresh store
//   raw pipeline   scan the source -> ZeroMQ ROUTER -> DEALER over loopback TCP with CURVE, one
//                  message per 1,000 records (a window of 8 in flight) -> a synced WriteBatch
//                  per message into a fresh store
//   raw writes     `writers` threads each putting single records with sync=true into one store
//                  (RocksDB's own group commit joins them)
#pragma once

#include <cstddef>
#include <string>

#include "sync/base/status.h"

namespace stationsync::bench {

// Builds the source store at `path` from a file of JSON record lines.
Status BuildSourceStore(const std::string& records_path, const std::string& path);

// Records per second of each baseline; `dest` is a fresh directory to write into.
Result<double> RawIngest(const std::string& source, const std::string& dest);
Result<double> RawCurvePipeline(const std::string& source, const std::string& dest);
Result<double> RawSyncedWrites(const std::string& dest, size_t writers, size_t writes,
                               size_t value_bytes);

}  // namespace stationsync::bench
