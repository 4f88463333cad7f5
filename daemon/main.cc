// syncd: parses the command line and config file (daemon/command_line.h) and runs a station or
// the hub (daemon/run_node.h) until SIGTERM/SIGINT.
// Exit codes: 0 clean stop, 2 usage (a bad flag or config file key, a station given --hub
// without --hub-key or --insecure; an --http address other machines can reach without
// --http-token-file, or a bad token file), 3 data directory locked or unreadable / endpoint
// unavailable (an --http port already taken), 4 refused (--insecure or an API endpoint that other
// machines can reach, a key file others can read), 5 storage damaged or internal error.
#include <atomic>
#include <csignal>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "daemon/command_line.h"
#include "daemon/run_node.h"
#include "sync/base/json_log.h"
#include "sync/base/log_guard.h"

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

void InstallLogging(const stationsync::SyncdCommand& command) {
  spdlog::set_default_logger(spdlog::stderr_color_mt("syncd"));
  spdlog::set_level(spdlog::level::from_str(command.log_level));
  if (command.log_format == "json") {
    stationsync::InstallJsonLogFormat(command.flags.unit);
  } else {
    stationsync::InstallLogPattern("%Y-%m-%dT%H:%M:%S.%e %l syncd[%P] %*");
  }
}

}  // namespace

int main(int argc, char** argv) {
  auto parsed = stationsync::ParseSyncdCommandLine(argc, argv);
  if (const int* exit_code = std::get_if<int>(&parsed)) return *exit_code;
  auto& command = std::get<stationsync::SyncdCommand>(parsed);
  InstallLogging(command);
  if (stationsync::Status resolved = stationsync::ResolveSyncdCommand(command); !resolved.ok()) {
    spdlog::critical("{}", resolved.message());
    return 2;
  }
  InstallSignalHandlers();
  return command.role == stationsync::SyncdRole::kHub
             ? stationsync::RunHub(command.flags, g_stop)
             : stationsync::RunStation(command.flags, g_stop);
}
