#include "tools/syncbench/figures.h"

#include <algorithm>
#include <cmath>
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace stationsync::bench {

double Quantile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const double rank = std::ceil(q * static_cast<double>(values.size()));
  const size_t index = rank < 1 ? 0 : static_cast<size_t>(rank) - 1;
  return values[std::min(index, values.size() - 1)];
}

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

void Report::Add(const Figure& figure) {
  auto [it, inserted] = series_.try_emplace(figure.name);
  if (inserted) {
    order_.push_back(figure.name);
    it->second.first = figure;
  }
  Series& series = it->second;
  series.values.push_back(figure.value);
  if (!figure.baseline.empty()) {
    series.baseline_values.push_back(figure.baseline_value);
    if (figure.baseline_value != 0) series.ratios.push_back(figure.value / figure.baseline_value);
  }
}

std::vector<std::string> Report::Lines() const {
  std::vector<std::string> lines;
  for (const std::string& name : order_) {
    const Series& series = series_.at(name);
    nlohmann::ordered_json line;
    line["figure"] = name;
    line["value"] = Median(series.values);
    line["unit"] = series.first.unit;
    if (series.first.baseline.empty()) {
      line["baseline"] = nullptr;
      line["baseline_value"] = nullptr;
      line["ratio"] = nullptr;
    } else {
      line["baseline"] = series.first.baseline;
      line["baseline_value"] = Median(series.baseline_values);
      line["ratio"] = series.ratios.empty() ? nlohmann::ordered_json(nullptr)
                                            : nlohmann::ordered_json(Median(series.ratios));
    }
    line["runs"] = series.values.size();
    lines.push_back(line.dump());
  }
  return lines;
}

double Report::MedianOf(const std::string& name) const {
  auto it = series_.find(name);
  return it == series_.end() ? 0 : Median(it->second.values);
}

void Announce(const Figure& figure) {
  std::string text =
      fmt::format("syncbench: {} = {:.6g} {}", figure.name, figure.value, figure.unit);
  if (!figure.baseline.empty()) {
    text += fmt::format(" ({} = {:.6g}, ratio {:.3f})", figure.baseline, figure.baseline_value,
                        figure.baseline_value == 0 ? 0 : figure.value / figure.baseline_value);
  }
  std::cerr << text << '\n';
}

}  // namespace stationsync::bench
