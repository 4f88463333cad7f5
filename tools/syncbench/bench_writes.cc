// writes and latency: officers' applications writing through a station's API.
#include <algorithm>
#include <atomic>
#include <filesystem>
#include <memory>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "tools/syncbench/benches.h"
#include "tools/syncbench/cluster.h"
#include "tools/syncbench/concurrent_writes.h"
#include "tools/syncbench/raw_limits.h"

namespace stationsync::bench {
namespace {

using Millis = std::chrono::duration<double, std::milli>;

// Watches a node's change feed (daemon/change_feed.h) from another thread and notes when each
// new record became visible: the n-th new record at the time the feed's live record count first
// reached base + n. No request to the node while it runs: one status request at the start gives
// the base, then the node announces each commit.
class VisibilityWatch {
 public:
  VisibilityWatch(const StationDaemon& node, size_t expected)
      : expected_(expected), socket_(context_, zmq::socket_type::sub) {
    socket_.set(zmq::sockopt::subscribe, "");
    socket_.set(zmq::sockopt::rcvtimeo, 100);
    socket_.connect(node.feed());
    auto status = node.Client("syncbench")->GetStatus();
    base_ = status.ok() ? status->records : 0;
    thread_ = std::thread([this] { Run(); });
  }
  ~VisibilityWatch() { Finish(); }
  // Waits until every expected record was seen, or 30 s more have passed.
  void Finish() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  // When each of the `expected` new records became visible (fewer if not all did).
  const std::vector<Clock::time_point>& seen() const { return seen_; }

 private:
  void Run() {
    const auto deadline_after_stop = std::chrono::seconds(30);
    Clock::time_point stop_seen{};
    while (seen_.size() < expected_) {
      if (stop_ && stop_seen == Clock::time_point{}) stop_seen = Clock::now();
      if (stop_ && Clock::now() - stop_seen > deadline_after_stop) return;
      zmq::message_t message;
      if (!socket_.recv(message)) continue;  // the receive timeout: look at stop_ again
      const auto now = Clock::now();
      const auto announced = nlohmann::json::parse(message.to_string_view(), nullptr, false);
      // A const json's operator[] on a missing key is undefined: look it up with find.
      const auto field = announced.is_object() ? announced.find("records") : announced.end();
      if (field == announced.end() || !field->is_number_unsigned()) continue;
      const uint64_t records = field->get<uint64_t>();
      if (records <= base_) continue;
      const size_t visible = std::min<size_t>(records - base_, expected_);
      while (seen_.size() < visible) seen_.push_back(now);
    }
  }

  size_t expected_;
  uint64_t base_ = 0;
  zmq::context_t context_{1};
  zmq::socket_t socket_;
  std::vector<Clock::time_point> seen_;
  std::atomic<bool> stop_ = false;
  std::thread thread_;
};

}  // namespace

Status Writes(const BenchOptions& options, size_t writers, size_t writes, Report& report) {
  for (int run = 1; run <= options.runs; ++run) {
    const std::string dir = RunDir(options, "writes", run);
    auto raw = RawSyncedWrites(dir + "/raw", writers, writes, 300);
    if (!raw.ok()) return raw.status();
    StationDaemon station("P01", dir + "/station");
    if (!station.Start()) return Internal("the station did not start: " + station.Log());
    auto timed = RunConcurrentWrites(writers, writes, [&station](size_t) -> WriteOne {
      std::shared_ptr<ApiClient> client = station.Client("syncbench");
      return [client](size_t i) {
        auto put = client->Put(NewPersonnel(fmt::format("W{:08}", i)));
        return put.ok() ? Status::Ok() : put.status();
      };
    });
    station.Stop();
    if (!timed.ok()) return Internal("a write failed: " + timed.status().ToString());
    const double seconds = timed->seconds;
    const std::vector<double>& all = timed->latencies_ms;
    Add(report, {"durable_write_rate", static_cast<double>(writes) / seconds, "writes/s",
                 "raw_synced_write_rate", *raw});
    Add(report, {"durable_write_p50_ms", Quantile(all, 0.50), "ms", "", 0});
    Add(report, {"durable_write_p99_ms", Quantile(all, 0.99), "ms", "", 0});
    std::filesystem::remove_all(dir);
  }
  return Status::Ok();
}

Status Latency(const BenchOptions& options, double rate, size_t writes, Report& report) {
  std::string source;
  auto data = Data(options, 1000, 2, &source);
  if (!data.ok()) return data.status();
  const std::string& writer_unit = data->stations[0];
  const std::string& sibling_unit = data->stations[1];
  // Writers take the next scheduled slot (open loop: the schedule never waits for a slow write);
  // enough of them that a write's own time does not hold the next one back.
  constexpr size_t kWriters = 16;
  for (int run = 1; run <= options.runs; ++run) {
    const std::string dir = RunDir(options, "latency", run);
    auto hub = StartHub(dir, *data, /*with_records=*/true);
    if (!hub.ok()) return hub.status();
    auto writer = StartStation(dir, writer_unit, **hub);
    if (!writer.ok()) return writer.status();
    auto sibling = StartStation(dir, sibling_unit, **hub);
    if (!sibling.ok()) return sibling.status();
    if (auto merged =
            (*hub)->Ctl({"merge", "--into", writer_unit, sibling_unit, "--as", "suboffice"});
        merged.exit_code != 0) {
      return Failed("merging the two stations", merged);
    }
    if (auto synced = (*hub)->Ctl({"wait-synced", "--timeout", "600"}, "", kLongCommand);
        synced.exit_code != 0) {
      return Failed("waiting for the merge", synced);
    }

    VisibilityWatch at_hub(**hub, writes), at_sibling(**sibling, writes);
    std::vector<Clock::time_point> scheduled(writes), acked(writes);
    const auto period = std::chrono::duration<double>(1.0 / rate);
    const auto start = Clock::now() + std::chrono::milliseconds(100);
    auto timed = RunConcurrentWrites(kWriters, writes, [&](size_t) -> WriteOne {
      std::shared_ptr<ApiClient> client = (*writer)->Client("syncbench");
      return [&, client](size_t i) {
        scheduled[i] = start + std::chrono::duration_cast<Clock::duration>(period * i);
        std::this_thread::sleep_until(scheduled[i]);
        auto put = client->Put(NewPersonnel(fmt::format("L{:08}", i)));
        acked[i] = Clock::now();
        return put.ok() ? Status::Ok() : put.status();
      };
    });
    const double write_rate = static_cast<double>(writes) / SecondsSince(start);
    if (!timed.ok()) return Internal("a write at the station failed: " + timed.status().ToString());
    at_hub.Finish();
    at_sibling.Finish();
    // Records become visible in the order the station committed them, which is the order of
    // their acknowledgements: the n-th acknowledged write is the n-th record seen.
    std::vector<size_t> order(writes);
    for (size_t i = 0; i < writes; ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return acked[a] < acked[b]; });
    auto latencies = [&](const VisibilityWatch& watch, const std::string& where) -> Status {
      if (watch.seen().size() < writes) {
        return Internal(fmt::format("{} of {} writes became visible at the {} within 30 s",
                                    watch.seen().size(), writes, where));
      }
      std::vector<double> ms;
      for (size_t n = 0; n < writes; ++n) {
        ms.push_back(Millis(watch.seen()[n] - scheduled[order[n]]).count());
      }
      Add(report, {fmt::format("latency_{}_p50_ms", where), Quantile(ms, 0.50), "ms", "", 0});
      Add(report, {fmt::format("latency_{}_p99_ms", where), Quantile(ms, 0.99), "ms", "", 0});
      Add(report, {fmt::format("latency_{}_max_ms", where), Quantile(ms, 1.0), "ms", "", 0});
      return Status::Ok();
    };
    SS_RETURN_IF_ERROR(latencies(at_hub, "hub"));
    SS_RETURN_IF_ERROR(latencies(at_sibling, "sibling"));
    Add(report, {"latency_write_rate", write_rate, "writes/s", "", 0});
    (*sibling)->Stop();
    (*writer)->Stop();
    (*hub)->Stop();
    std::filesystem::remove_all(dir);
  }
  return Status::Ok();
}

}  // namespace stationsync::bench
