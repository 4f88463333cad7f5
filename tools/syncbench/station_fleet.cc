#include "tools/syncbench/station_fleet.h"

#include <chrono>
#include <filesystem>

#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "daemon/run_node.h"
#include "sync/transport/api_client.h"
#include "sync/transport/curve_key.h"
#include "tools/common/process.h"

namespace stationsync::bench {

StationFleet::StationFleet(const std::string& dir, std::vector<std::string> units,
                           StationDaemon& hub)
    : dir_(dir),
      units_(std::move(units)),
      hub_endpoint_(hub.role().sync),
      hub_key_(hub.public_key()),
      exit_codes_(units_.size(), -1) {
  // The loops log as syncd does; here only warnings and errors, on stderr (stdout is the
  // report's).
  static const auto logger = [] {
    auto made = spdlog::stderr_color_mt("fleet");
    made->set_level(spdlog::level::warn);
    spdlog::set_default_logger(made);
    return made;
  }();
  (void)logger;
}

StationFleet::~StationFleet() {
  (void)Stop();
}

std::string StationFleet::api(size_t i) const {
  NodeFlags flags;
  flags.data = dir_ + "/" + units_[i];
  return ApiEndpoint(flags);
}

Status StationFleet::Enroll(const StationDaemon& hub) {
  for (const std::string& unit : units_) {
    const std::string data = dir_ + "/" + unit;
    std::filesystem::create_directories(data);
    auto pair = LoadOrCreateNodeCertificate(data);
    if (!pair.ok()) return pair.status();
    // "--": a Z85 key may start with '-'.
    auto enrolled = hub.Ctl({"unit", "enroll", unit, "--", pair->public_z85});
    if (enrolled.exit_code != 0) {
      return Internal(fmt::format("enrolling station {}: {}", unit, enrolled.err));
    }
  }
  return Status::Ok();
}

Status StationFleet::Start() {
  for (size_t i = 0; i < units_.size(); ++i) {
    NodeFlags flags;
    flags.unit = units_[i];
    flags.data = dir_ + "/" + units_[i];
    flags.hub = hub_endpoint_;
    flags.hub_key = hub_key_;
    loops_.emplace_back([this, i, flags] { exit_codes_[i] = RunStation(flags, stop_); });
  }
  for (size_t i = 0; i < units_.size(); ++i) {
    ApiClient client(api(i), std::chrono::milliseconds(500), "syncbench");
    const bool up = WaitUntil([&] { return client.Ping().ok(); }, std::chrono::seconds(60));
    if (!up) return Internal(fmt::format("station {} did not answer its API", units_[i]));
  }
  return Status::Ok();
}

Status StationFleet::Stop() {
  stop_ = true;
  for (auto& loop : loops_) {
    if (loop.joinable()) loop.join();
  }
  loops_.clear();
  for (size_t i = 0; i < units_.size(); ++i) {
    if (exit_codes_[i] > 0) {
      return Internal(
          fmt::format("station {} stopped with exit code {}", units_[i], exit_codes_[i]));
    }
  }
  return Status::Ok();
}

}  // namespace stationsync::bench
