// syncbench's subcommands: each sets up what it measures on loopback (its own hub and stations
// under `dir`, CURVE on as in production), measures, adds its figures to the report, and stops
// every process it started. Errors are returned, never thrown; a failing run stops the bench.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "sync/base/status.h"
#include "tools/syncbench/figures.h"

namespace stationsync::bench {

struct BenchOptions {
  std::string dir;  // scratch directory (on the disk to measure: not tmpfs)
  int runs = 1;
  uint64_t seed = 2020;
};

Status InitialSync(const BenchOptions& options, size_t records, Report& report);
Status Import(const BenchOptions& options, size_t records, Report& report);
Status Writes(const BenchOptions& options, size_t writers, size_t writes, Report& report);
// `records` records written through the app API (HTTP) by `clients` concurrent clients, beside
// `syncctl import` of the same records (bench_http.cc).
Status HttpWrites(const BenchOptions& options, size_t clients, size_t records, Report& report);
Status Latency(const BenchOptions& options, double rate, size_t writes, Report& report);
Status Merge(const BenchOptions& options, size_t members, size_t records_per_member,
             Report& report);
Status Restart(const BenchOptions& options, size_t records, size_t kills, Report& report);
// One hub, `stations` stations (in this process) and `records` records: their initial syncs,
// then `writes` writes at `rate` per second spread over the stations.
Status HubLoad(const BenchOptions& options, size_t stations, size_t records, double rate,
               size_t writes, Report& report);
// `syncctl verify` (and --deep) at a station whose `records`-record scope differs from the hub's
// in `differences` records (bench_verify.cc).
Status Verify(const BenchOptions& options, size_t records, size_t differences, Report& report);
// initial-sync and import at each of the sizes, and how the per-record time grows.
Status Scale(const BenchOptions& options, const std::vector<size_t>& sizes, Report& report);

}  // namespace stationsync::bench
