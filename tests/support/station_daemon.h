// A real `syncd station` or `syncd hub` in a temporary data directory, for multi-process tests.
// Start() waits (bounded) until the API answers; the daemon is SIGKILLed and reaped at
// destruction. Restarting keeps the data directory and appends to the same log.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sync/api_client.h"

#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace stationsync::testing {

struct DaemonRole {
  bool hub = false;  // `syncd hub` instead of `syncd station`
  std::string sync;  // station: the hub's endpoint (--hub); hub: where to listen (--listen)
};

// A loopback TCP endpoint on a port that was free a moment ago.
std::string FreeTcpEndpoint();

class StationDaemon {
 public:
  explicit StationDaemon(std::string unit, std::string data_dir = "", DaemonRole role = {});
  static std::unique_ptr<StationDaemon> Hub(const std::string& listen) {
    return std::make_unique<StationDaemon>("hub", "", DaemonRole{true, listen});
  }
  static std::unique_ptr<StationDaemon> Station(const std::string& unit, const std::string& hub) {
    return std::make_unique<StationDaemon>(unit, "", DaemonRole{false, hub});
  }

  // Starts syncd; true once it answers a ping (within 30 s).
  bool Start();
  // SIGTERM, then the exit code (nullopt if it did not stop within 30 s).
  std::optional<int> Stop();
  void Kill();  // SIGKILL and reap

  const std::string& unit() const { return unit_; }
  const std::string& data() const { return data_; }
  const std::string& api() const { return api_; }
  const std::string& log_path() const { return log_path_; }
  std::string Log() const;
  Process* process() { return process_.get(); }
  // A client of this daemon acting as `actor`.
  std::unique_ptr<ApiClient> Client(const std::string& actor = "tester") const;
  // syncctl with --api set to this daemon.
  CommandResult Ctl(std::vector<std::string> args, const std::string& input = "") const;

 private:
  TempDir own_dir_;
  std::string unit_;
  DaemonRole role_;
  int starts_ = 0;
  std::string data_;
  std::string api_;
  std::string log_path_;
  std::unique_ptr<Process> process_;
};

}  // namespace stationsync::testing
