// syncd: parses flags and runs a station or the hub (daemon/run_node.h) until SIGTERM/SIGINT.
// Exit codes: 0 clean stop, 2 usage, 3 data directory locked or unreadable / endpoint
// unavailable, 4 refused, 5 storage damaged or internal error.
#include <atomic>
#include <csignal>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include "daemon/node_flags.h"
#include "daemon/run_node.h"
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

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"syncd: the StationSync daemon"};
  app.require_subcommand(1);
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));

  stationsync::NodeFlags station;
  auto* station_cmd = app.add_subcommand("station", "run as a police station's server");
  station_cmd->add_option("--unit", station.unit, "this station's unit code")->required();
  station_cmd->add_option("--data", station.data, "data directory")->required();
  station_cmd->add_option("--api", station.api, "API endpoint (default ipc://DATA/api.sock)");
  station_cmd->add_option("--hub", station.hub,
                          "the hub's sync endpoint, e.g. tcp://hq:7700 (default: no hub)");

  stationsync::NodeFlags hub;
  hub.unit = "hub";
  auto* hub_cmd = app.add_subcommand("hub", "run as the headquarters hub");
  hub_cmd->add_option("--data", hub.data, "data directory")->required();
  hub_cmd->add_option("--listen", hub.listen, "endpoint stations connect to, e.g. tcp://*:7700")
      ->required();
  hub_cmd->add_option("--api", hub.api, "API endpoint (default ipc://DATA/api.sock)");
  hub_cmd->add_option("--unit", hub.unit, "owner of records created at the hub without one")
      ->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  spdlog::set_default_logger(spdlog::stderr_color_mt("syncd"));
  spdlog::set_level(spdlog::level::from_str(log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %l syncd[%P] %v");
  const stationsync::NodeFlags& flags = hub_cmd->parsed() ? hub : station;
  if (!stationsync::IsCode(flags.unit)) {
    spdlog::critical("--unit '{}' is not a unit code (1 to 40 letters, digits, '-' or '_')",
                     flags.unit);
    return 2;
  }
  InstallSignalHandlers();
  return hub_cmd->parsed() ? stationsync::RunHub(flags, g_stop)
                           : stationsync::RunStation(flags, g_stop);
}
