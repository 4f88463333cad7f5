// syncbench: measurements of a running system that unit tests must not assert (shared, noisy
// machines): figures are printed as medians and percentiles for the notes and the README.
//
//   syncbench latency --station API --hub API --unit CODE [--writes N] [--rate PER_SECOND]
//     Writes N new personnel records at the station at a steady rate and, for each, polls the
//     hub until it holds it: the write-at-station to visible-at-hub latency (p50, p99, max).
#include <algorithm>
#include <chrono>
#include <iostream>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "sync/api_client.h"

namespace {

using stationsync::ApiClient;
using Clock = std::chrono::steady_clock;

double Percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  const size_t index = std::min(values.size() - 1, static_cast<size_t>(p * values.size()));
  return values[index];
}

int Latency(const std::string& station_api, const std::string& hub_api, const std::string& unit,
            int writes, double rate) {
  ApiClient station(station_api, std::chrono::seconds(5), "syncbench");
  ApiClient hub(hub_api, std::chrono::seconds(5), "syncbench");
  const auto period = std::chrono::duration<double>(1.0 / rate);
  const std::string run = fmt::format("{:x}", Clock::now().time_since_epoch().count() & 0xffffff);
  std::vector<double> latencies_ms;
  auto next = Clock::now();
  for (int i = 0; i < writes; ++i) {
    std::this_thread::sleep_until(next);
    next += std::chrono::duration_cast<Clock::duration>(period);
    const std::string id = fmt::format("B{}-{:05}", run, i);
    const auto start = Clock::now();
    auto put = station.Put({stationsync::Table::kPersonnel,
                            id,
                            unit,
                            {{"name", stationsync::Value(std::string("测量"))},
                             {"role", stationsync::Value(std::string("civilian"))}}});
    if (!put.ok()) {
      std::cerr << "syncbench: write " << id << ": " << put.status().message() << '\n';
      return 1;
    }
    while (true) {
      if (hub.Get(stationsync::Table::kPersonnel, id).ok()) break;
      if (Clock::now() - start > std::chrono::seconds(30)) {
        std::cerr << "syncbench: " << id << " did not reach the hub within 30 s\n";
        return 1;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
    latencies_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  fmt::print(
      "write-at-station to visible-at-hub over {} writes at {}/s: p50 {:.1f} ms, p99 {:.1f} "
      "ms, max {:.1f} ms\n",
      writes, rate, Percentile(latencies_ms, 0.50), Percentile(latencies_ms, 0.99),
      *std::max_element(latencies_ms.begin(), latencies_ms.end()));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"syncbench: measure a running StationSync system"};
  app.require_subcommand(1);
  std::string station, hub, unit;
  int writes = 300;
  double rate = 20;
  auto* latency = app.add_subcommand("latency", "write-at-station to visible-at-hub latency");
  latency->add_option("--station", station, "the station's API endpoint")->required();
  latency->add_option("--hub", hub, "the hub's API endpoint")->required();
  latency->add_option("--unit", unit, "the station's unit code")->required();
  latency->add_option("--writes", writes, "how many writes")->check(CLI::Range(1, 1000000));
  latency->add_option("--rate", rate, "writes per second")->check(CLI::Range(0.1, 10000.0));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return Latency(station, hub, unit, writes, rate);
}
