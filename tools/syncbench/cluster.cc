#include "tools/syncbench/cluster.h"

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>

#include <fmt/format.h>

#include "tools/syncbench/disk_use.h"
#include "tools/syncbench/proc_usage.h"
#include "tools/syncbench/raw_limits.h"

namespace stationsync::bench {

namespace fs = std::filesystem;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void Add(Report& report, Figure figure) {
  Announce(figure);
  report.Add(figure);
}

Status Failed(const std::string& what, const CommandResult& result) {
  return Internal(fmt::format("{} failed (exit {}): {}", what, result.exit_code, result.err));
}

std::string RunDir(const BenchOptions& options, const std::string& name, int run) {
  const fs::path dir = fs::path(options.dir) / fmt::format("{}-{}", name, run);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

Result<BenchData> Data(const BenchOptions& options, size_t records, size_t stations,
                       std::string* source) {
  const std::string dir =
      (fs::path(options.dir) / fmt::format("data-{}x{}", records, stations)).string();
  *source = dir + "/raw-source";
  // Made once per process (scale measures two things on each size's data).
  static std::map<std::string, BenchData> made;
  if (auto it = made.find(dir); it != made.end()) return it->second;
  fs::create_directories(dir);
  std::fprintf(stderr, "syncbench: generating %zu records\n", records);
  auto data = MakeBenchData(dir, records, options.seed, stations);
  if (!data.ok()) return data;
  fs::remove_all(*source);
  SS_RETURN_IF_ERROR(BuildSourceStore(data->records_path, *source));
  made.emplace(dir, *data);
  return data;
}

Result<std::unique_ptr<StationDaemon>> StartHub(const std::string& dir, const BenchData& data,
                                                bool with_records, bool http) {
  DaemonRole role;
  role.hub = true;
  role.sync = FreeTcpEndpoint();
  role.http = http;
  auto hub = std::make_unique<StationDaemon>("hub", dir + "/hub", role);
  if (!hub->Start()) return Internal("the hub did not start: " + hub->Log());
  if (auto r = hub->Ctl({"import", data.units_path}); r.exit_code != 0) {
    return Failed("importing units", r);
  }
  if (with_records) {
    if (auto r = hub->Ctl({"import", data.records_path}, "", kLongCommand); r.exit_code != 0) {
      return Failed("importing records", r);
    }
    // Figures start from a quiet hub, not one still compacting what it was just given.
    const double settled = WaitUntilIdle(hub->process()->pid(), kSettleSecondsMax);
    std::cerr << fmt::format("syncbench: the hub settled {:.1f} s after its import\n", settled);
  }
  return hub;
}

Result<std::unique_ptr<StationDaemon>> StartStation(const std::string& dir, const std::string& unit,
                                                    StationDaemon& hub,
                                                    Clock::time_point* started_at) {
  DaemonRole role;
  role.sync = hub.role().sync;
  role.hub_key = hub.public_key();
  auto station = std::make_unique<StationDaemon>(unit, dir + "/" + unit, role);
  if (station->Enroll(hub) != 0) return Internal("enrolling the key of station " + unit);
  if (started_at != nullptr) *started_at = Clock::now();
  if (!station->Start()) return Internal("station " + unit + " did not start: " + station->Log());
  return station;
}

RecordPatch NewPersonnel(const std::string& id, const std::string& owner) {
  return {Table::kPersonnel,
          id,
          owner,
          {{"name", Value(std::string("测量员"))}, {"role", Value(std::string("civilian"))}}};
}

void AddDiskFigures(Report& report, const std::string& who, const std::string& store,
                    const std::string& raw_store) {
  const DiskUse use = MeasureDiskUse(store);
  const DiskUse raw = MeasureDiskUse(raw_store);
  Add(report, {who + "_store_bytes", static_cast<double>(use.total), "bytes", "raw_store_bytes",
               static_cast<double>(raw.total)});
  Add(report, {who + "_wal_bytes", static_cast<double>(use.wal), "bytes", "", 0});
  std::string families;
  for (const auto& [name, bytes] : TableBytesByFamily(store)) {
    if (bytes > 0) families += fmt::format(" {} {:.1f} MB", name, bytes / 1e6);
  }
  std::fprintf(stderr, "syncbench: %s store's table files by family:%s\n", who.c_str(),
               families.c_str());
}

}  // namespace stationsync::bench
