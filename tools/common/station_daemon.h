// A real `syncd station` or `syncd hub` in a temporary data directory, for multi-process tests
// and syncbench.
// Start() waits (bounded) until the API answers; the daemon is SIGKILLed and reaped at
// destruction. Restarting keeps the data directory and appends to the same log.
// Sync links run with CURVE as in production: each daemon's key pair is made before its first
// start (public_key()), a station is given its hub's key, and a test enrols a station's key at
// the hub with Enroll() once the unit is registered there. extra_args come last, so a test's own
// --key wins.
// HTTP is off (--http off: several daemons share the machine) unless DaemonRole::http asks for
// it; then the daemon serves on a loopback port picked free at construction (or again, when a
// first start finds that port taken meanwhile), kept across restarts (http_address()).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sync/transport/api_client.h"
#include "tools/common/process.h"
#include "tools/common/temp_dir.h"

namespace stationsync {

struct DaemonRole {
  bool hub = false;       // `syncd hub` instead of `syncd station`
  std::string sync;       // station: the hub's endpoint (--hub); hub: where to listen (--listen)
  std::string hub_key;    // station: the hub's public key (--hub-key)
  bool insecure = false;  // --insecure: plaintext links (only tests about that flag)
  bool http = false;      // serve HTTP on a free loopback port (http_address()); else --http off
  std::vector<std::string> extra_args;  // appended to the command line
};

// A loopback TCP port that was free a moment ago.
int FreeTcpPort();
// A loopback TCP endpoint on such a port: "tcp://127.0.0.1:PORT".
std::string FreeTcpEndpoint();

class StationDaemon {
 public:
  explicit StationDaemon(std::string unit, std::string data_dir = "", DaemonRole role = {});
  static std::unique_ptr<StationDaemon> Hub(const std::string& listen) {
    DaemonRole role;
    role.hub = true;
    role.sync = listen;
    return std::make_unique<StationDaemon>("hub", "", std::move(role));
  }
  // A station linked to `hub` (its endpoint and key).
  static std::unique_ptr<StationDaemon> Station(const std::string& unit, const StationDaemon& hub) {
    DaemonRole role;
    role.sync = hub.role_.sync;
    role.hub_key = hub.public_key();
    role.insecure = hub.role_.insecure;
    return std::make_unique<StationDaemon>(unit, "", std::move(role));
  }

  // Starts syncd; true once it answers a ping (within 30 s).
  bool Start();
  // SIGTERM, then the exit code (nullopt if it did not stop within 30 s).
  std::optional<int> Stop();
  void Kill();  // SIGKILL and reap

  const std::string& unit() const { return unit_; }
  // This daemon's CURVE public key ("" when insecure).
  const std::string& public_key() const { return public_key_; }
  // Its secret certificate file (a hub's in DATA, a station's beside it).
  std::string secret_key_path() const { return key_path_ + "_secret"; }
  // `syncctl unit enroll UNIT KEY` at `hub` with this station's key; returns its exit code.
  int Enroll(const StationDaemon& hub) const;
  DaemonRole& role() { return role_; }
  const std::string& data() const { return data_; }
  const std::string& api() const { return api_; }
  const std::string& feed() const { return feed_; }  // its change feed (--feed)
  const std::string& log_path() const { return log_path_; }
  // "127.0.0.1:PORT" when DaemonRole::http, else "".
  const std::string& http_address() const { return http_address_; }
  std::string Log() const;
  Process* process() { return process_.get(); }
  // A client of this daemon acting as `actor`.
  std::unique_ptr<ApiClient> Client(const std::string& actor = "tester") const;
  // syncctl with --api set to this daemon (killed after `timeout`).
  CommandResult Ctl(std::vector<std::string> args, const std::string& input = "",
                    std::chrono::milliseconds timeout = std::chrono::seconds(60)) const;

 private:
  bool StartOnce();

  TempDir own_dir_;
  std::string unit_;
  DaemonRole role_;
  int starts_ = 0;
  std::string data_;
  std::string api_;
  std::string feed_;
  std::string log_path_;
  std::string key_path_;
  std::string public_key_;
  std::string http_address_;
  bool http_port_held_ = false;  // a start has served on http_address_: keep it from then on
  std::string last_log_;         // the log file of the latest start
  std::unique_ptr<Process> process_;
};

}  // namespace stationsync
