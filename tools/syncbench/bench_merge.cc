// merge: stations merged into one group, from the merge command until every member holds the
// group's records (each member's digest equals the hub's digest of the group).
#include <filesystem>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "tools/syncbench/benches.h"
#include "tools/syncbench/cluster.h"

namespace stationsync::bench {
namespace {

// True once the hub's digest of the group (all `members`) and every member's own digest agree.
bool DigestsEqual(const StationDaemon& hub,
                  const std::vector<std::unique_ptr<StationDaemon>>& stations) {
  auto group = hub.Client("syncbench")->Digest(stations.front()->unit());
  if (!group.ok() || group->scope.size() != stations.size()) return false;
  for (const auto& station : stations) {
    auto own = station->Client("syncbench")->Digest("");
    if (!own.ok() || !(*own == *group)) return false;
  }
  return true;
}

}  // namespace

Status Merge(const BenchOptions& options, size_t members, size_t records_per_member,
             Report& report) {
  std::string source;
  auto data = Data(options, members * records_per_member, members, &source);
  if (!data.ok()) return data.status();
  // What every member lacks before the merge: the other members' records.
  const double backfill = static_cast<double>(members * (members - 1) * records_per_member);
  for (int run = 1; run <= options.runs; ++run) {
    const std::string dir = RunDir(options, "merge", run);
    auto hub = StartHub(dir, *data, /*with_records=*/true);
    if (!hub.ok()) return hub.status();
    std::vector<std::unique_ptr<StationDaemon>> stations;
    const auto initial_start = Clock::now();
    for (const auto& unit : data->stations) {
      auto station = StartStation(dir, unit, **hub);
      if (!station.ok()) return station.status();
      stations.push_back(std::move(station).value());
    }
    if (auto synced = (*hub)->Ctl({"wait-synced", "--timeout", "7200"}, "", kLongCommand);
        synced.exit_code != 0) {
      return Failed("waiting for the initial syncs", synced);
    }
    // The members' own initial syncs, measured here: the rate the merge's backfill is held to.
    const double initial_rate = static_cast<double>(data->records) / SecondsSince(initial_start);

    std::vector<std::string> command{"merge", "--into", data->stations.front()};
    command.insert(command.end(), data->stations.begin() + 1, data->stations.end());
    command.insert(command.end(), {"--as", "suboffice"});
    const auto start = Clock::now();
    if (auto merged = (*hub)->Ctl(command); merged.exit_code != 0) {
      return Failed("the merge command", merged);
    }
    bool equal = false;
    while (!(equal = DigestsEqual(**hub, stations)) && SecondsSince(start) < 7200) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (!equal) return Internal("the members' digests did not converge within 2 h");
    const double seconds = SecondsSince(start);
    // The target: 2 s plus the backfill at the initial-sync rate.
    Add(report,
        {"merge_seconds", seconds, "s", "merge_target_seconds", 2.0 + backfill / initial_rate});
    Add(report, {"merge_backfill_rate", backfill / seconds, "records/s",
                 "members_initial_sync_rate", initial_rate});
    for (auto& station : stations) station->Stop();
    (*hub)->Stop();
    std::filesystem::remove_all(dir);
  }
  return Status::Ok();
}

}  // namespace stationsync::bench
