#include "tests/support/station_daemon.h"

#include <fstream>
#include <sstream>

#include <signal.h>

namespace stationsync::testing {

StationDaemon::StationDaemon(std::string unit, std::string data_dir)
    : unit_(std::move(unit)),
      data_(data_dir.empty() ? own_dir_ / "data" : std::move(data_dir)),
      api_("ipc://" + own_dir_ / "api.sock"),
      log_path_(own_dir_ / "syncd.log") {}

bool StationDaemon::Start() {
  process_ =
      std::make_unique<Process>(std::vector<std::string>{BinPath("syncd"), "station", "--unit",
                                                         unit_, "--data", data_, "--api", api_},
                                log_path_);
  auto client = Client();
  return WaitUntil(
             [&] {
               if (!process_->running()) return true;  // exited early: the caller looks at Wait()
               return client->Ping().ok();
             },
             std::chrono::seconds(30)) &&
         process_->running();
}

std::optional<int> StationDaemon::Stop() {
  if (!process_) return std::nullopt;
  process_->Signal(SIGTERM);
  return process_->Wait(std::chrono::seconds(30));
}

void StationDaemon::Kill() {
  if (!process_) return;
  process_->Signal(SIGKILL);
  process_->Wait(std::chrono::seconds(30));
}

std::string StationDaemon::Log() const {
  std::ifstream in(log_path_);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::unique_ptr<ApiClient> StationDaemon::Client(const std::string& actor) const {
  return std::make_unique<ApiClient>(api_, std::chrono::seconds(5), actor);
}

CommandResult StationDaemon::Ctl(std::vector<std::string> args, const std::string& input) const {
  std::vector<std::string> argv{BinPath("syncctl"), "--api", api_, "--actor", "tester"};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, input);
}

}  // namespace stationsync::testing
