// hub: one hub serving many stations through their initial syncs and then steady writes. The
// stations run in this process (station_fleet.h); the hub is a real `syncd hub`, whose CPU time
// and peak memory are read from /proc.
#include <algorithm>
#include <atomic>
#include <filesystem>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "tools/syncbench/benches.h"
#include "tools/syncbench/cluster.h"
#include "tools/syncbench/proc_usage.h"
#include "tools/syncbench/station_fleet.h"

namespace stationsync::bench {
namespace {

// Writes `writes` records at `rate` per second in all, spread over the fleet's stations in turn,
// each station's share by a thread of its own on an open-loop schedule. Returns the first error.
Status SteadyWrites(const StationFleet& fleet, double rate, size_t writes) {
  const size_t stations = fleet.units().size();
  const auto start = Clock::now();
  std::mutex failure_mutex;
  Status failure = Status::Ok();
  std::vector<std::thread> writers;
  for (size_t s = 0; s < stations; ++s) {
    writers.emplace_back([&, s] {
      ApiClient client(fleet.api(s), std::chrono::seconds(30), "syncbench");
      for (size_t n = s; n < writes; n += stations) {
        std::this_thread::sleep_until(start + std::chrono::duration_cast<Clock::duration>(
                                                  std::chrono::duration<double>(n / rate)));
        auto put = client.Put(NewPersonnel(fmt::format("H{:09}", n)));
        if (!put.ok()) {
          std::lock_guard lock(failure_mutex);
          if (failure.ok()) failure = put.status();
          return;
        }
      }
    });
  }
  for (auto& writer : writers) writer.join();
  return failure;
}

// Waits until the hub holds `records` records (bounded).
Status WaitForRecords(const StationDaemon& hub, uint64_t records) {
  auto client = hub.Client("syncbench");
  const bool arrived = WaitUntil(
      [&] {
        auto status = client->GetStatus();
        return status.ok() && status->records >= records;
      },
      std::chrono::minutes(30));
  return arrived ? Status::Ok() : Internal("the stations' writes did not all reach the hub");
}

}  // namespace

Status HubLoad(const BenchOptions& options, size_t stations, size_t records, double rate,
               size_t writes, Report& report) {
  std::string source;
  auto data = Data(options, records, stations, &source);
  if (!data.ok()) return data.status();
  for (int run = 1; run <= options.runs; ++run) {
    const std::string dir = RunDir(options, "hub", run);
    auto hub = StartHub(dir, *data, /*with_records=*/true);
    if (!hub.ok()) return hub.status();
    const pid_t pid = (*hub)->process()->pid();
    StationFleet fleet(dir, data->stations, **hub);
    SS_RETURN_IF_ERROR(fleet.Enroll(**hub));

    double cpu = CpuSeconds(pid);
    auto start = Clock::now();
    SS_RETURN_IF_ERROR(fleet.Start());
    if (auto synced = (*hub)->Ctl({"wait-synced", "--timeout", "7200"}, "", kLongCommand);
        synced.exit_code != 0) {
      return Failed("waiting for the stations' initial syncs", synced);
    }
    double seconds = SecondsSince(start);
    Add(report, {"hub_fleet_initial_sync_seconds", seconds, "s", "", 0});
    Add(report, {"hub_fleet_initial_sync_rate", static_cast<double>(data->records) / seconds,
                 "records/s", "", 0});
    Add(report, {"hub_fleet_initial_sync_cpu_seconds", CpuSeconds(pid) - cpu, "s", "", 0});

    auto before = (*hub)->Client("syncbench")->GetStatus();
    if (!before.ok()) return before.status();
    cpu = CpuSeconds(pid);
    start = Clock::now();
    SS_RETURN_IF_ERROR(SteadyWrites(fleet, rate, writes));
    SS_RETURN_IF_ERROR(WaitForRecords(**hub, before->records + writes));
    seconds = SecondsSince(start);
    const double steady_cpu = CpuSeconds(pid) - cpu;
    Add(report, {"hub_steady_cpu_percent", 100 * steady_cpu / seconds, "%", "", 0});
    Add(report, {"hub_cpu_us_per_steady_write", 1e6 * steady_cpu / static_cast<double>(writes),
                 "us", "", 0});
    Add(report, {"hub_peak_rss_bytes", static_cast<double>(PeakRssBytes(pid)), "bytes", "", 0});
    SS_RETURN_IF_ERROR(fleet.Stop());
    (*hub)->Stop();
    std::filesystem::remove_all(dir);
  }
  return Status::Ok();
}

}  // namespace stationsync::bench
