// initial-sync, import and scale: moving a whole data set into a store.
#include <filesystem>

#include <fmt/format.h>

#include "tools/syncbench/benches.h"
#include "tools/syncbench/cluster.h"
#include "tools/syncbench/proc_usage.h"
#include "tools/syncbench/raw_limits.h"

namespace stationsync::bench {

Status InitialSync(const BenchOptions& options, size_t records, Report& report) {
  std::string source;
  auto data = Data(options, records, 1, &source);
  if (!data.ok()) return data.status();
  for (int run = 1; run <= options.runs; ++run) {
    const std::string dir = RunDir(options, "initial-sync", run);
    auto raw = RawCurvePipeline(source, dir + "/raw");
    if (!raw.ok()) return raw.status();
    auto hub = StartHub(dir, *data, /*with_records=*/true);
    if (!hub.ok()) return hub.status();
    const double hub_cpu = CpuSeconds((*hub)->process()->pid());
    Clock::time_point start;
    auto station = StartStation(dir, data->stations.front(), **hub, &start);
    if (!station.ok()) return station.status();
    auto synced = (*hub)->Ctl({"wait-synced", "--timeout", "7200"}, "", kLongCommand);
    if (synced.exit_code != 0) return Failed("waiting for the initial sync", synced);
    const double seconds = SecondsSince(start);
    const double per_record_us = 1e6 / static_cast<double>(data->records);
    Add(report, {"initial_sync_rate", static_cast<double>(data->records) / seconds, "records/s",
                 "raw_curve_pipeline_rate", *raw});
    Add(report, {"initial_sync_seconds", seconds, "s", "", 0});
    Add(report, {"initial_sync_station_cpu_us",
                 CpuSeconds((*station)->process()->pid()) * per_record_us, "us/record", "", 0});
    Add(report,
        {"initial_sync_hub_cpu_us",
         (CpuSeconds((*hub)->process()->pid()) - hub_cpu) * per_record_us, "us/record", "", 0});
    (*station)->Stop();
    (*hub)->Stop();
    AddDiskFigures(report, "station", (*station)->data(), dir + "/raw");
    std::filesystem::remove_all(dir);
  }
  return Status::Ok();
}

Status Import(const BenchOptions& options, size_t records, Report& report) {
  std::string source;
  auto data = Data(options, records, 1, &source);
  if (!data.ok()) return data.status();
  for (int run = 1; run <= options.runs; ++run) {
    const std::string dir = RunDir(options, "import", run);
    auto raw = RawIngest(source, dir + "/raw");
    if (!raw.ok()) return raw.status();
    auto hub = StartHub(dir, *data, /*with_records=*/false);
    if (!hub.ok()) return hub.status();
    const double hub_cpu = CpuSeconds((*hub)->process()->pid());
    const auto start = Clock::now();
    auto imported = (*hub)->Ctl({"import", data->records_path}, "", kLongCommand);
    if (imported.exit_code != 0) return Failed("syncctl import", imported);
    const double seconds = SecondsSince(start);
    Add(report, {"import_rate", static_cast<double>(data->records) / seconds, "records/s",
                 "raw_ingest_rate", *raw});
    Add(report, {"import_hub_cpu_us",
                 (CpuSeconds((*hub)->process()->pid()) - hub_cpu) * 1e6 /
                     static_cast<double>(data->records),
                 "us/record", "", 0});
    (*hub)->Stop();
    AddDiskFigures(report, "hub", (*hub)->data(), dir + "/raw");
    std::filesystem::remove_all(dir);
  }
  return Status::Ok();
}

Status Scale(const BenchOptions& options, const std::vector<size_t>& sizes, Report& report) {
  // Microseconds per record at the first size: the baseline of the growth figures.
  double first_sync_us = 0, first_import_us = 0;
  for (size_t size : sizes) {
    Report sync, import;
    SS_RETURN_IF_ERROR(InitialSync(options, size, sync));
    SS_RETURN_IF_ERROR(Import(options, size, import));
    const double sync_us = 1e6 / sync.MedianOf("initial_sync_rate");
    const double import_us = 1e6 / import.MedianOf("import_rate");
    if (first_sync_us == 0) first_sync_us = sync_us, first_import_us = import_us;
    const std::string first = fmt::format("_at_{}", sizes.front());
    Add(report, {fmt::format("initial_sync_us_per_record_at_{}", size), sync_us, "us",
                 "initial_sync_us_per_record" + first, first_sync_us});
    Add(report, {fmt::format("import_us_per_record_at_{}", size), import_us, "us",
                 "import_us_per_record" + first, first_import_us});
  }
  return Status::Ok();
}

}  // namespace stationsync::bench
