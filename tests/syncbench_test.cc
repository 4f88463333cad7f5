// syncbench at CI size: every subcommand runs end to end (its own hub and stations, CURVE, raw
// baselines) and prints figures that are sane and agree with each other. Never a timed assert:
// the figures' values are for the README, not for a shared test machine.
#include <cmath>
#include <map>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "sync/storage/replica_internal.h"

#include "tests/support/process.h"

namespace stationsync {
namespace {

using testing::BinPath;
using testing::RunCommand;
using testing::TempDir;

class SyncbenchTest : public ::testing::Test {
 protected:
  // Runs syncbench with `args` and returns its figures by name (fails the test on a non-zero
  // exit or a line that is not a figure).
  std::map<std::string, nlohmann::json> Run(const std::vector<std::string>& args) {
    std::vector<std::string> argv{BinPath("syncbench"), "--dir", dir_.path()};
    argv.insert(argv.end(), args.begin(), args.end());
    const auto result = RunCommand(argv, "", std::chrono::minutes(10));
    EXPECT_EQ(result.exit_code, 0) << result.err;
    std::map<std::string, nlohmann::json> figures;
    std::istringstream lines(result.out);
    for (std::string line; std::getline(lines, line);) {
      auto figure = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      EXPECT_TRUE(figure.is_object()) << line;
      if (!figure.is_object()) continue;
      for (const char* key : {"figure", "value", "unit", "baseline", "baseline_value", "ratio"}) {
        EXPECT_TRUE(figure.contains(key)) << key << " missing in " << line;
      }
      CheckSane(figure);
      figures[figure.value("figure", "")] = figure;
    }
    return figures;
  }

  // A value is finite and not negative; with a baseline, the ratio is value / baseline.
  static void CheckSane(const nlohmann::json& figure) {
    const double value = figure["value"].get<double>();
    EXPECT_TRUE(std::isfinite(value) && value >= 0) << figure.dump();
    if (figure["baseline"].is_null()) {
      EXPECT_TRUE(figure["ratio"].is_null()) << figure.dump();
      return;
    }
    const double baseline = figure["baseline_value"].get<double>();
    EXPECT_GT(baseline, 0) << figure.dump();
    EXPECT_NEAR(figure["ratio"].get<double>(), value / baseline, 1e-9 * (1 + value / baseline))
        << figure.dump();
  }

  static double Value(const std::map<std::string, nlohmann::json>& figures,
                      const std::string& name) {
    auto it = figures.find(name);
    EXPECT_NE(it, figures.end()) << "no figure " << name;
    return it == figures.end() ? -1 : it->second["value"].get<double>();
  }

  TempDir dir_;
};

TEST_F(SyncbenchTest, InitialSyncMovesTheWholeScopeAndReportsItsStore) {
  const auto figures = Run({"initial-sync", "--records", "2000"});
  const double rate = Value(figures, "initial_sync_rate");
  const double seconds = Value(figures, "initial_sync_seconds");
  EXPECT_GT(rate, 0);
  EXPECT_NEAR(rate * seconds, 2000, 1);  // the two figures describe the same 2,000 records
  EXPECT_GT(Value(figures, "station_store_bytes"), 2000 * 100);  // the records are on disk
  EXPECT_LE(Value(figures, "station_wal_bytes"), Value(figures, "station_store_bytes"));
}

TEST_F(SyncbenchTest, ImportAndWritesReportRatesAgainstRawRocksDb) {
  auto figures = Run({"import", "--records", "2000"});
  EXPECT_GT(Value(figures, "import_rate"), 0);
  EXPECT_GT(Value(figures, "hub_store_bytes"), 2000 * 100);
  figures = Run({"writes", "--writers", "4", "--writes", "200"});
  EXPECT_GT(Value(figures, "durable_write_rate"), 0);
  EXPECT_LE(Value(figures, "durable_write_p50_ms"), Value(figures, "durable_write_p99_ms"));
}

TEST_F(SyncbenchTest, HttpWritesReportTheirRateAgainstSyncctlImport) {
  const auto figures = Run({"http-writes", "--clients", "8", "--records", "300"});
  EXPECT_GT(Value(figures, "http_durable_write_rate"), 0);
  EXPECT_EQ(figures.at("http_durable_write_rate")["baseline"], "syncctl_import_rate");
  EXPECT_LE(Value(figures, "http_durable_write_p50_ms"),
            Value(figures, "http_durable_write_p99_ms"));
}

TEST_F(SyncbenchTest, LatencyIsSeenAtTheHubAndAtAMergedSibling) {
  const auto figures = Run({"latency", "--rate", "100", "--writes", "100"});
  for (const std::string where : {"hub", "sibling"}) {
    const double p50 = Value(figures, "latency_" + where + "_p50_ms");
    EXPECT_GT(p50, 0);
    EXPECT_LE(p50, Value(figures, "latency_" + where + "_p99_ms"));
    EXPECT_LE(Value(figures, "latency_" + where + "_p99_ms"),
              Value(figures, "latency_" + where + "_max_ms"));
  }
}

TEST_F(SyncbenchTest, MergeEndsWithEqualDigests) {
  const auto figures = Run({"merge", "--members", "2", "--records-per-member", "500"});
  EXPECT_GT(Value(figures, "merge_seconds"), 0);
  EXPECT_GT(Value(figures, "merge_backfill_rate"), 0);
}

// syncbench verify fails unless verify finds exactly the differences it made; the bytes stay far
// below the scope's size.
TEST_F(SyncbenchTest, VerifyFindsTheDivergencesItMadeForLessThanTheData) {
  const auto figures = Run({"verify", "--records", "2000", "--differences", "3"});
  EXPECT_GT(Value(figures, "verify_seconds"), 0);
  EXPECT_GT(Value(figures, "verify_deep_seconds"), 0);
  EXPECT_LT(figures.at("verify_bytes_exchanged")["ratio"].get<double>(), 0.5);
  EXPECT_GT(Value(figures, "verify_deep_bytes_exchanged"), 0);
}

TEST_F(SyncbenchTest, OneHubServesAFleetOfStationsAndReportsItsCost) {
  // 14 stations: more than the county's 12, so made-up ones take part too.
  const auto figures =
      Run({"hub", "--stations", "14", "--records", "2000", "--writes", "70", "--rate", "200"});
  EXPECT_NEAR(Value(figures, "hub_fleet_initial_sync_rate") *
                  Value(figures, "hub_fleet_initial_sync_seconds"),
              2000, 1);
  EXPECT_GT(Value(figures, "hub_fleet_initial_sync_cpu_seconds") +
                Value(figures, "hub_cpu_us_per_steady_write"),
            0);  // the hub did work, and it was measured
  EXPECT_GT(Value(figures, "hub_peak_rss_bytes"), 1 << 20);
}

TEST_F(SyncbenchTest, RestartsAfterKillsLeaveABoundedLog) {
  const auto figures = Run({"restart", "--records", "1000", "--kills", "8"});
  EXPECT_GT(Value(figures, "start_seconds_after_kills"), 0);
  // Eight kills, each after a write: without the flush at start there would be nine logs.
  EXPECT_LE(Value(figures, "wal_files_after_kills"), replica_internal::kRecoveredLogsKept + 1);
}

TEST_F(SyncbenchTest, UsageErrorsExitTwo) {
  EXPECT_EQ(RunCommand({BinPath("syncbench")}).exit_code, 2);
  EXPECT_EQ(RunCommand({BinPath("syncbench"), "initial-sync", "--records", "5"}).exit_code, 2);
  EXPECT_EQ(RunCommand({BinPath("syncbench"), "--dir", "/nonexistent/x", "import"}).exit_code, 2);
}

}  // namespace
}  // namespace stationsync
