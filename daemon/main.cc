// syncd: parses flags, locks the data directory, opens the replica, serves the local API, and
// shuts down cleanly on SIGTERM/SIGINT. Exit codes: 0 clean stop, 2 usage, 3 data directory
// locked or unreadable / endpoint unavailable, 4 refused, 5 storage damaged or internal error.
#include <atomic>
#include <csignal>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include "daemon/api_server.h"
#include "daemon/data_dir_lock.h"
#include "sync/replica.h"
#include "sync/validate.h"

namespace {

std::atomic<bool> g_stop{false};  // set by the signal handler only

void OnSignal(int) {
  g_stop.store(true);
}

void InstallSignalHandlers() {
  struct sigaction action = {};
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

int Fail(const stationsync::Status& status) {
  spdlog::critical("{}", status.ToString());
  return stationsync::ExitCode(status.code());
}

struct StationFlags {
  std::string unit;
  std::string data;
  std::string api;
};

int RunStation(const StationFlags& flags) {
  using namespace stationsync;
  auto lock = DataDirLock::Acquire(flags.data);
  if (!lock.ok()) return Fail(lock.status());
  auto replica =
      Replica::Open({.path = flags.data + "/db", .node = flags.unit, .unit = flags.unit});
  if (!replica.ok()) return Fail(replica.status());
  zmq::context_t context(1);
  const std::string endpoint = flags.api.empty() ? "ipc://" + flags.data + "/api.sock" : flags.api;
  ApiServer server(context, endpoint, **replica, "station");
  if (Status bound = server.Bind(); !bound.ok()) return Fail(bound);
  spdlog::info("syncd station {} ready: data {}, api {}, {} records, log at {}", flags.unit,
               flags.data, endpoint, (*replica)->record_count(), (*replica)->last_seq());
  server.Run(g_stop);
  spdlog::info("syncd station {} stopping", flags.unit);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"syncd: the StationSync daemon"};
  app.require_subcommand(1);
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));

  StationFlags station;
  auto* station_cmd = app.add_subcommand("station", "run as a police station's server");
  station_cmd->add_option("--unit", station.unit, "this station's unit code")->required();
  station_cmd->add_option("--data", station.data, "data directory")->required();
  station_cmd->add_option("--api", station.api, "API endpoint (default ipc://DATA/api.sock)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  spdlog::set_default_logger(spdlog::stderr_color_mt("syncd"));
  spdlog::set_level(spdlog::level::from_str(log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %l syncd[%P] %v");
  if (!stationsync::IsCode(station.unit)) {
    spdlog::critical("--unit '{}' is not a unit code (1 to 40 letters, digits, '-' or '_')",
                     station.unit);
    return 2;
  }
  InstallSignalHandlers();
  return RunStation(station);
}
