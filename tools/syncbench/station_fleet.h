// Many stations in one process: each runs the daemon's own station loop (RunStation, as `syncd
// station` does) on a thread of its own, with its own data directory, store, API socket and CURVE
// key. `syncbench hub` uses it to put 100 stations on one hub without 100 processes.
//
// Invariants: every station's key is made and enrolled at the hub before its loop starts; the
// destructor stops every loop and joins its thread.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "sync/base/status.h"
#include "tools/common/station_daemon.h"

namespace stationsync::bench {

class StationFleet {
 public:
  // Stations of `units` in dir/<unit>, linked to `hub`; not started.
  StationFleet(const std::string& dir, std::vector<std::string> units, StationDaemon& hub);
  ~StationFleet();
  StationFleet(const StationFleet&) = delete;
  StationFleet& operator=(const StationFleet&) = delete;

  // Makes each station's key pair and enrols it at the hub.
  Status Enroll(const StationDaemon& hub);
  // Starts every station's loop; returns once each answers a ping (bounded).
  Status Start();
  // Stops every loop (as SIGTERM would) and waits for them; an error names a station whose
  // loop ended with a failure.
  Status Stop();

  const std::vector<std::string>& units() const { return units_; }
  // The API endpoint of the i-th station.
  std::string api(size_t i) const;

 private:
  std::string dir_;
  std::vector<std::string> units_;
  std::string hub_endpoint_;
  std::string hub_key_;
  std::atomic<bool> stop_ = false;
  std::vector<std::thread> loops_;
  std::vector<int> exit_codes_;  // each loop's, once it ended
};

}  // namespace stationsync::bench
