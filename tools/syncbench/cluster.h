// What every syncbench subcommand sets up: scratch directories per run, the bench data with its
// raw source store, hubs and stations on loopback with CURVE (keys made and enrolled as an
// operator would), and the disk-use figures of a store.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "sync/base/status.h"
#include "tools/common/station_daemon.h"
#include "tools/syncbench/bench_data.h"
#include "tools/syncbench/benches.h"
#include "tools/syncbench/figures.h"

namespace stationsync::bench {

using Clock = std::chrono::steady_clock;
inline constexpr auto kLongCommand = std::chrono::hours(2);
// How long a hub given records may take to finish compacting them before a run goes on.
inline constexpr double kSettleSecondsMax = 120;

double SecondsSince(Clock::time_point start);

// Prints the figure (stderr) and adds it to the report.
void Add(Report& report, Figure figure);

// An error naming the step and what the command said.
Status Failed(const std::string& what, const CommandResult& result);

// A fresh, empty directory for one run of a subcommand.
std::string RunDir(const BenchOptions& options, const std::string& name, int run);

// The bench data for `records` records over `stations` stations, with its raw source store
// (raw_limits.h) in *source; generated at the first call for that size in this process.
Result<BenchData> Data(const BenchOptions& options, size_t records, size_t stations,
                       std::string* source);

// A hub in dir/hub holding the bench data's units, and its records when `with_records`; with
// HTTP (the app API) on a free loopback port when `http`.
Result<std::unique_ptr<StationDaemon>> StartHub(const std::string& dir, const BenchData& data,
                                                bool with_records, bool http = false);

// A station of `unit` in dir/unit linked to `hub`, its key enrolled there, started (until it
// answers a ping). *started_at, if given, is when the process was started.
Result<std::unique_ptr<StationDaemon>> StartStation(const std::string& dir, const std::string& unit,
                                                    StationDaemon& hub,
                                                    Clock::time_point* started_at = nullptr);

// A new personnel record for a benchmark's writes (owner "": the writing node's unit).
RecordPatch NewPersonnel(const std::string& id, const std::string& owner = "");

// `who`_store_bytes (baseline: the raw store) and `who`_wal_bytes.
void AddDiskFigures(Report& report, const std::string& who, const std::string& store,
                    const std::string& raw_store);

}  // namespace stationsync::bench
