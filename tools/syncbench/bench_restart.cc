// restart: how long a node takes to start (process start until its API answers) with a store of
// N records, after a clean stop and after being killed (SIGKILL) many times, each life having
// written a record: rural stations lose power often, and a start must not grow with that.
#include <filesystem>
#include <vector>

#include <fmt/format.h>

#include "tools/syncbench/benches.h"
#include "tools/syncbench/cluster.h"
#include "tools/syncbench/disk_use.h"

namespace stationsync::bench {
namespace {

size_t CountLogFiles(const std::string& dir) {
  size_t count = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.path().extension() == ".log") ++count;
  }
  return count;
}

}  // namespace

Status Restart(const BenchOptions& options, size_t records, size_t kills, Report& report) {
  std::string source;
  auto data = Data(options, records, 1, &source);
  if (!data.ok()) return data.status();
  for (int run = 1; run <= options.runs; ++run) {
    const std::string dir = RunDir(options, "restart", run);
    auto hub = StartHub(dir, *data, /*with_records=*/true);
    if (!hub.ok()) return hub.status();
    StationDaemon& node = **hub;
    if (node.Stop() != 0) return Internal("the hub did not stop cleanly: " + node.Log());
    auto start = Clock::now();
    if (!node.Start()) return Internal("the hub did not start again: " + node.Log());
    const double clean_start = SecondsSince(start);
    double last_start = 0;
    for (size_t kill = 1; kill <= kills; ++kill) {
      auto client = node.Client("syncbench");
      auto put = client->Put(NewPersonnel(fmt::format("R{:06}", kill), data->stations.front()));
      if (!put.ok()) return Internal("a write before kill " + std::to_string(kill) + " failed");
      node.Kill();
      start = Clock::now();
      if (!node.Start()) return Internal("the hub did not start after a kill: " + node.Log());
      last_start = SecondsSince(start);
    }
    Add(report, {"start_seconds_after_kills", last_start, "s", "start_seconds_after_clean_stop",
                 clean_start});
    Add(report,
        {"wal_files_after_kills", static_cast<double>(CountLogFiles(node.data())), "files", "", 0});
    Add(report, {"wal_bytes_after_kills", static_cast<double>(MeasureDiskUse(node.data()).wal),
                 "bytes", "", 0});
    node.Stop();
    std::filesystem::remove_all(dir);
  }
  return Status::Ok();
}

}  // namespace stationsync::bench
