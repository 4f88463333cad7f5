#include "tools/syncbench/bench_data.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tools/syncgen/generator.h"

namespace stationsync::bench {

Result<BenchData> MakeBenchData(const std::string& dir, size_t count, uint64_t seed,
                                size_t stations) {
  namespace fs = std::filesystem;
  const fs::path gen = fs::path(dir) / "syncgen";
  // About 1.03 records per resident at any scale; a little more, so `count` are always there.
  const double scale =
      std::max(0.01, static_cast<double>(count) * 1.05 / syncgen::kResidentsAtScale1);
  if (scale > syncgen::kScaleMax) {
    return Invalid(
        fmt::format("--records {} is more than syncgen makes ({} at most)", count,
                    static_cast<size_t>(syncgen::kScaleMax * syncgen::kResidentsAtScale1)));
  }
  const syncgen::Options options{syncgen::Profile::kLinqu, seed, scale};
  auto summary = syncgen::RunSyncgen(options, syncgen::DefaultDivisionsPath(), gen);
  if (!summary.ok()) return summary.status();

  BenchData data;
  data.units_path = (fs::path(dir) / "units.jsonl").string();
  data.records_path = (fs::path(dir) / "records.jsonl").string();
  // The county's units but the stations not used: the hub waits for every station it knows of.
  std::ifstream units(gen / "units.jsonl");
  std::ofstream units_out(data.units_path);
  std::string first_station_line;
  for (std::string line; std::getline(units, line);) {
    const auto unit = nlohmann::json::parse(line);
    if (unit["fields"].value("kind", "") == "station") {
      if (first_station_line.empty()) first_station_line = line;
      if (data.stations.size() == stations) continue;
      data.stations.push_back(unit["id"].get<std::string>());
    }
    units_out << line << '\n';
  }
  // More stations than the county has (`syncbench hub`): stations of the same county, coded
  // <county>9NNNNN, a range its real units do not use.
  if (data.stations.empty()) return Internal("syncgen made no station units");
  const auto model = nlohmann::json::parse(first_station_line);
  for (size_t n = 1; data.stations.size() < stations; ++n) {
    auto unit = model;
    unit["id"] = fmt::format("{}9{:05}", model["id"].get<std::string>().substr(0, 6), n);
    unit["fields"]["name"] = fmt::format("测量第{}派出所", n);
    data.stations.push_back(unit["id"].get<std::string>());
    units_out << unit.dump() << '\n';
  }

  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(gen)) {
    if (entry.path().filename().string().starts_with("records-")) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  std::ofstream out(data.records_path);
  for (const fs::path& file : files) {
    std::ifstream in(file);
    for (std::string line; data.records < count && std::getline(in, line);) {
      auto record = nlohmann::json::parse(line);
      record["owner"] = data.stations[data.records % data.stations.size()];
      const std::string rewritten = record.dump();
      out << rewritten << '\n';
      data.record_bytes += rewritten.size();
      ++data.records;
    }
  }
  out.close();
  if (!out) return Internal("cannot write " + data.records_path);
  fs::remove_all(gen);
  if (data.records < count) {
    return Internal(fmt::format("syncgen made {} records, fewer than {}", data.records, count));
  }
  return data;
}

}  // namespace stationsync::bench
