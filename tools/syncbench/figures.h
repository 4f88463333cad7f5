// What syncbench reports: figures, each measured once per run and printed as the median over the
// runs, one JSON line per figure:
//   {"figure","value","unit","baseline","baseline_value","ratio","runs"}
// A figure with a baseline (the raw limit of the same work, measured in the same run on the same
// records) carries its value and the ratio value/baseline (the median of the runs' ratios); one
// without has null there.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace stationsync::bench {

struct Figure {
  std::string name;  // "initial_sync_rate"
  double value = 0;
  std::string unit;      // "records/s", "ms", "bytes"
  std::string baseline;  // "raw_curve_pipeline_rate"; empty: none
  double baseline_value = 0;
};

// Collects the figures of every run, in the order first seen.
class Report {
 public:
  void Add(const Figure& figure);
  // One JSON line per figure: medians over the runs.
  std::vector<std::string> Lines() const;
  // The median value of a figure over the runs so far (0 if it has none).
  double MedianOf(const std::string& name) const;

 private:
  struct Series {
    Figure first;  // names and units
    std::vector<double> values, baseline_values, ratios;
  };
  std::vector<std::string> order_;
  std::map<std::string, Series> series_;
};

double Median(std::vector<double> values);
// The value at quantile q (0..1) of the values: nearest rank.
double Quantile(std::vector<double> values, double q);

// Prints a figure of one run at once, for a person watching (stderr), so that a long run shows
// progress; the JSON lines on stdout come at the end.
void Announce(const Figure& figure);

}  // namespace stationsync::bench
