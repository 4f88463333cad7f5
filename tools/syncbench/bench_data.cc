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
  for (std::string line; std::getline(units, line);) {
    const auto unit = nlohmann::json::parse(line);
    if (unit["fields"].value("kind", "") == "station") {
      if (data.stations.size() == stations) continue;
      data.stations.push_back(unit["id"].get<std::string>());
    }
    units_out << line << '\n';
  }
  if (data.stations.size() < stations) {
    return Internal(fmt::format("syncgen made {} station units, fewer than {}",
                                data.stations.size(), stations));
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
