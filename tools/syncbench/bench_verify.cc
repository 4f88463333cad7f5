// verify: `syncctl verify` at a station holding an N-record scope that differs from the hub's in
// K records, the divergence a sync bug would leave (each record changed at the stopped station by
// Replica::Repair, which keeps the station's sums consistent and logs nothing, so the change never
// syncs). Set up once; the verify and the deep verify are each timed --runs times.
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "sync/storage/replica.h"
#include "sync/storage/replica_keys.h"
#include "tools/syncbench/benches.h"
#include "tools/syncbench/cluster.h"

namespace stationsync::bench {
namespace {

// Changes `count` records spread over the station's store (their `actor`, which no rule checks),
// with the daemon stopped.
Status Diverge(const StationDaemon& station, size_t count) {
  auto store = Replica::Open(
      {.path = station.data() + "/db", .node = station.unit(), .unit = station.unit()});
  if (!store.ok()) return store.status();
  std::vector<std::string> keys;
  SS_RETURN_IF_ERROR((*store)->ForEachStoredRecord([&](std::string_view key, std::string_view) {
    keys.emplace_back(key);
    return Status::Ok();
  }));
  if (keys.size() < count) return Invalid("fewer records than differences asked for");
  std::vector<std::pair<std::string, std::optional<Record>>> states;
  for (size_t i = 0; i < count; ++i) {
    const std::string& key = keys[i * (keys.size() / count)];
    auto parts = ParseRecordKey(key);
    auto record = (*store)->Get(parts->table, parts->id);
    if (!record.ok() || !record->has_value()) return Internal("reading " + key);
    (*record)->actor = "syncbench-divergence";
    states.emplace_back(key, std::move(**record));
  }
  return (*store)->Repair(states, "syncbench");
}

// One verify; its summary line.
Result<nlohmann::json> RunVerify(const StationDaemon& station, bool deep) {
  std::vector<std::string> args{"verify", "--json"};
  if (deep) args.push_back("--deep");
  const auto run = station.Ctl(args, "", kLongCommand);
  if (run.exit_code != 0 && run.exit_code != 1) return Failed("syncctl verify", run);
  const std::string last = run.out.substr(run.out.rfind('\n', run.out.size() - 2) + 1);
  return nlohmann::json::parse(last);
}

}  // namespace

Status Verify(const BenchOptions& options, size_t records, size_t differences, Report& report) {
  std::string source;
  auto data = Data(options, records, 1, &source);
  if (!data.ok()) return data.status();
  const std::string dir = RunDir(options, "verify", 1);
  auto hub = StartHub(dir, *data, /*with_records=*/true);
  if (!hub.ok()) return hub.status();
  auto station = StartStation(dir, data->stations.front(), **hub);
  if (!station.ok()) return station.status();
  // The hub's wait-synced: the station's own may return before its snapshot is all stored.
  auto synced = (*hub)->Ctl({"wait-synced", "--timeout", "7200"}, "", kLongCommand);
  if (synced.exit_code != 0) return Failed("waiting for the initial sync", synced);
  (*station)->Stop();
  SS_RETURN_IF_ERROR(Diverge(**station, differences));
  if (!(*station)->Start()) return Internal("restarting the station: " + (*station)->Log());
  for (StationDaemon* node : {station->get(), hub->get()}) {  // linked again, and nothing due
    synced = node->Ctl({"wait-synced", "--timeout", "600"}, "", kLongCommand);
    if (synced.exit_code != 0) return Failed("waiting for the station to link", synced);
  }
  for (int run = 1; run <= options.runs; ++run) {
    for (bool deep : {false, true}) {
      auto summary = RunVerify(**station, deep);
      if (!summary.ok()) return summary.status();
      if ((*summary)["differences"] != differences) {
        return Internal(fmt::format("verify found {} differences, {} were made",
                                    (*summary)["differences"].dump(), differences));
      }
      const std::string name = deep ? "verify_deep" : "verify";
      Add(report, {name + "_seconds", (*summary)["ms"].get<double>() / 1000, "s", "", 0});
      Add(report, {name + "_bytes_exchanged", (*summary)["bytes_exchanged"].get<double>(), "bytes",
                   "scope_record_bytes", static_cast<double>(data->record_bytes)});
    }
  }
  (*station)->Stop();
  (*hub)->Stop();
  std::filesystem::remove_all(dir);
  return Status::Ok();
}

}  // namespace stationsync::bench
