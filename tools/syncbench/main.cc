// syncbench: the one harness for StationSync's performance figures. Each subcommand sets up what
// it measures on loopback (its own hub and stations in a scratch directory, CURVE on as in
// production), measures the raw limit of the same work with the bare libraries in the same run
// on the same records (tools/syncbench/raw_limits.h), and prints one JSON line per figure
// (tools/syncbench/figures.h): the median over --runs runs. Progress goes to stderr.
//
// Exit codes: 0 measured; 2 usage; 5 a run failed (the message says which step).
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

#include <CLI/CLI.hpp>

#include "tools/syncbench/benches.h"

namespace {

constexpr const char* kFigures =
    R"(Figures (one JSON line each: figure, value, unit, baseline, baseline_value, ratio, runs):
  initial-sync  initial_sync_rate      records/s an empty station receives its N-record scope
                                       (station start to the hub's wait-synced); baseline
                                       raw_curve_pipeline_rate: RocksDB scan -> ZeroMQ
                                       ROUTER/DEALER with CURVE, 1,000 a message -> a synced
                                       WriteBatch per message
                initial_sync_seconds   the same, in seconds
                initial_sync_station_cpu_us, initial_sync_hub_cpu_us   CPU time (user +
                                       system, every thread) per record of the station from
                                       its start, and of the hub over the sync: steadier than
                                       the rate on a shared machine
                station_store_bytes    the station's store on disk after the sync; baseline
                                       raw_store_bytes: the raw store of the same records
                station_wal_bytes      of which write-ahead log
  import        import_rate            records/s of `syncctl import` of N records into a hub;
                                       baseline raw_ingest_rate: the same records' bytes in
                                       synced WriteBatches of 1,000
                import_hub_cpu_us      the hub's CPU time per record over the import
                hub_store_bytes, hub_wal_bytes   as for the station
  writes        durable_write_rate     acknowledged single-record writes/s through a station's
                                       API with --writers concurrent writers; baseline
                                       raw_synced_write_rate: as many threads each putting one
                                       record with sync=true
                durable_write_p50_ms, durable_write_p99_ms   time to acknowledgement
  http-writes   http_durable_write_rate   records/s written by --clients concurrent clients
                                       through the app API (PUT /v1/records/..., one keep-alive
                                       connection each, 200 only once durable) into a hub;
                                       baseline syncctl_import_rate: `syncctl import` of the
                                       same --records records into a fresh hub in the same run
                http_durable_write_p50_ms, http_durable_write_p99_ms   time to the 200
  latency       latency_hub_{p50,p99,max}_ms, latency_sibling_{p50,p99,max}_ms
                                       an open-loop load of --rate writes/s at a station: from
                                       each write's scheduled time until the record is visible
                                       at the hub, and at a station merged with the writer
                                       (visibility: the live record count each node
                                       announces on its change feed (syncd --feed) after
                                       every commit; no request while it runs)
                latency_write_rate     the rate achieved
  merge         merge_seconds          `syncctl merge` of --members stations of
                                       --records-per-member records each until every member's
                                       digest equals the hub's digest of the group; baseline
                                       merge_target_seconds: 2 s plus the backfill at the
                                       members' own initial-sync rate (measured in the run)
                merge_backfill_rate    records/s received by the members in the merge
  restart       start_seconds_after_kills   a hub with N records: process start until its API
                                       answers, after --kills SIGKILLs (each life writing a
                                       record); baseline start_seconds_after_clean_stop
                wal_files_after_kills, wal_bytes_after_kills   the log left behind
  hub           hub_fleet_initial_sync_seconds, hub_fleet_initial_sync_rate   --stations
                                       stations (threads of syncbench, each running the
                                       station loop of syncd) receive --records records dealt
                                       out among them, from station start to wait-synced
                hub_fleet_initial_sync_cpu_seconds   the hub's CPU time for it
                hub_steady_cpu_percent, hub_cpu_us_per_steady_write   the hub's CPU while the
                                       stations write --writes records at --rate writes/s in
                                       all, until the hub holds them all
                hub_peak_rss_bytes     the hub's peak resident memory over the run (VmHWM);
                                       the target is 512 MiB with 1M records, 100 stations
  verify        verify_seconds, verify_deep_seconds   `syncctl verify` (and --deep) at a
                                       station whose --records-record scope differs from the
                                       hub's in --differences records (changed at the stopped
                                       station without a log entry, as a sync bug would leave
                                       them); set up once, each verify timed --runs times
                verify_bytes_exchanged, verify_deep_bytes_exchanged   sync bytes both ways;
                                       baseline scope_record_bytes: the scope's records as
                                       JSON lines, what sending them all would cost at least
  scale         initial_sync_us_per_record_at_N, import_us_per_record_at_N   per-record time at
                                       each size; baseline: the same at the smallest size, so a
                                       ratio above 1 is a slowdown as the data grows
Records are syncgen's (the 临朐 profile, scaled). A hub given records to start a run with is left
until it is idle (its compactions done; at most 120 s) before the run's figures start. Use the
release build (tools/run build) and a --dir on a real disk: on tmpfs an fsync costs nothing.)";

std::vector<size_t> ParseSizes(const std::string& text) {
  std::vector<size_t> sizes;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, ',');) sizes.push_back(std::stoull(part));
  return sizes;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace stationsync;
  CLI::App app{"syncbench: StationSync's performance figures against the raw limits, in one run"};
  app.footer(kFigures);
  app.require_subcommand(1);
  bench::BenchOptions options;
  options.dir = std::filesystem::temp_directory_path().string();
  app.add_option("--dir", options.dir, "scratch directory (on the disk to measure)")
      ->capture_default_str()
      ->check(CLI::ExistingDirectory);
  app.add_option("--runs", options.runs, "runs; each figure is the median")
      ->capture_default_str()
      ->check(CLI::Range(1, 99));
  app.add_option("--seed", options.seed, "syncgen's seed")->capture_default_str();

  size_t records = 100000;
  auto* initial_sync = app.add_subcommand("initial-sync", "an empty station receives its scope");
  initial_sync->add_option("--records", records, "records in the scope")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1000}, size_t{10000000}));
  auto* import = app.add_subcommand("import", "syncctl import into a hub");
  import->add_option("--records", records, "records to import")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1000}, size_t{10000000}));
  size_t writers = 32, writes = 20000;
  auto* write_bench = app.add_subcommand("writes", "durable writes with concurrent writers");
  write_bench->add_option("--writers", writers, "concurrent writers")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  write_bench->add_option("--writes", writes, "writes in all")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{10000000}));
  double rate = 1000;
  size_t http_clients = 8, http_records = 20000;
  auto* http_bench =
      app.add_subcommand("http-writes", "app API writes over HTTP beside syncctl import");
  http_bench->add_option("--clients", http_clients, "concurrent HTTP clients")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{64}));
  http_bench->add_option("--records", http_records, "records in all")
      ->capture_default_str()
      ->check(CLI::Range(size_t{100}, size_t{1000000}));

  size_t latency_writes = 5000;
  auto* latency = app.add_subcommand("latency", "write to visible at the hub and a sibling");
  latency->add_option("--rate", rate, "writes per second")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 100000.0));
  latency->add_option("--writes", latency_writes, "writes in all")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{10000000}));
  size_t members = 4, per_member = 100000;
  auto* merge = app.add_subcommand("merge", "merge stations until their digests agree");
  merge->add_option("--members", members, "stations merged")
      ->capture_default_str()
      ->check(CLI::Range(2, 10));
  merge->add_option("--records-per-member", per_member, "records each member holds")
      ->capture_default_str()
      ->check(CLI::Range(size_t{250}, size_t{1000000}));
  size_t kills = 100;
  auto* restart = app.add_subcommand("restart", "start time after many kills");
  restart->add_option("--records", records, "records in the store")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1000}, size_t{10000000}));
  restart->add_option("--kills", kills, "SIGKILLs, each followed by a start")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{10000}));
  size_t hub_stations = 100, hub_writes = 10000;
  double hub_rate = 500;
  auto* hub = app.add_subcommand("hub", "one hub, many stations: initial syncs, steady writes");
  hub->add_option("--stations", hub_stations, "stations (threads of this process)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  hub->add_option("--records", records, "records, dealt out to the stations")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1000}, size_t{10000000}));
  hub->add_option("--rate", hub_rate, "steady writes per second, over all stations")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 100000.0));
  hub->add_option("--writes", hub_writes, "steady writes in all")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{10000000}));
  size_t verify_differences = 10;
  auto* verify = app.add_subcommand("verify", "syncctl verify of a scope with a few differences");
  verify->add_option("--records", records, "records in the station's scope")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1000}, size_t{10000000}));
  verify->add_option("--differences", verify_differences, "records that differ")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{10000}));
  std::string sizes = "100000,1000000,3000000";
  auto* scale = app.add_subcommand("scale", "initial-sync and import at growing sizes");
  scale->add_option("--sizes", sizes, "record counts, comma-separated")->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (options.dir.empty()) options.dir = ".";
  const std::string scratch = options.dir + "/syncbench";
  std::filesystem::create_directories(scratch);
  options.dir = scratch;

  bench::Report report;
  Status status = Status::Ok();
  if (*initial_sync) status = bench::InitialSync(options, records, report);
  if (*import) status = bench::Import(options, records, report);
  if (*write_bench) status = bench::Writes(options, writers, writes, report);
  if (*latency) status = bench::Latency(options, rate, latency_writes, report);
  if (*http_bench) status = bench::HttpWrites(options, http_clients, http_records, report);
  if (*merge) status = bench::Merge(options, members, per_member, report);
  if (*hub) status = bench::HubLoad(options, hub_stations, records, hub_rate, hub_writes, report);
  if (*restart) status = bench::Restart(options, records, kills, report);
  if (*verify) status = bench::Verify(options, records, verify_differences, report);
  if (*scale) {
    std::vector<size_t> parsed;
    try {
      parsed = ParseSizes(sizes);
    } catch (const std::exception&) {
      std::cerr << "syncbench: --sizes must be record counts separated by commas\n";
      return 2;
    }
    status = bench::Scale(options, parsed, report);
  }
  std::filesystem::remove_all(scratch);
  if (!status.ok()) {
    std::cerr << "syncbench: " << status.message() << '\n';
    return 5;
  }
  for (const auto& line : report.Lines()) std::printf("%s\n", line.c_str());
  return 0;
}
