// The harness of syncbench's write benches (writes, http-writes): `workers` threads share
// `count` writes, each taking the next index from one shared counter, timing each write, and
// stopping all at the first failure, which is reported.
//
// Thread: RunConcurrentWrites runs on the caller's thread and joins every worker before it
// returns. make_writer and the functions it returns run on the workers' threads; make_writer is
// called once per worker, concurrently, and must be safe to call so.
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

#include "sync/base/status.h"

namespace stationsync::bench {

struct ConcurrentWrites {
  double seconds = 0;                // wall time from the first worker's start to the last's end
  std::vector<double> latencies_ms;  // one per write, grouped by worker
};

// Writes the index-th record; not ok stops the run.
using WriteOne = std::function<Status(size_t index)>;
// One worker's WriteOne, made on that worker's thread (it may hold a client or a connection).
using MakeWriter = std::function<WriteOne(size_t worker)>;

// Runs writes 0..count-1 on `workers` threads (workers >= 1), each write exactly once unless one
// fails. Returns the timings, or the first failure's status (the write's index prefixed).
Result<ConcurrentWrites> RunConcurrentWrites(size_t workers, size_t count,
                                             const MakeWriter& make_writer);

}  // namespace stationsync::bench
