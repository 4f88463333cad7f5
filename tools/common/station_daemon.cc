#include "tools/common/station_daemon.h"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sync/transport/curve_key.h"

namespace stationsync {

int FreeTcpPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

std::string FreeTcpEndpoint() {
  return "tcp://127.0.0.1:" + std::to_string(FreeTcpPort());
}

StationDaemon::StationDaemon(std::string unit, std::string data_dir, DaemonRole role)
    : unit_(std::move(unit)),
      role_(std::move(role)),
      data_(data_dir.empty() ? own_dir_ / "data" : std::move(data_dir)),
      api_("ipc://" + own_dir_ / "api.sock"),
      feed_("ipc://" + own_dir_ / "feed.sock"),
      log_path_(own_dir_ / "syncd.log") {
  if (role_.http) http_address_ = "127.0.0.1:" + std::to_string(FreeTcpPort());
  if (role_.insecure) return;
  // A hub's pair is where syncd makes it on first start (DATA/node.cert), made now so tests know
  // the key at once; a station's is provisioned beside its data directory and passed as --key,
  // so a wiped data directory keeps its identity (as a provisioned key file would).
  key_path_ = role_.hub ? data_ + "/node.cert" : own_dir_ / "station.cert";
  if (role_.hub) std::filesystem::create_directories(data_);
  auto existing = LoadSecretCertificate(key_path_);
  if (existing.ok()) {
    public_key_ = existing->public_z85;
    return;
  }
  const CurveKeyPair pair = GenerateKeyPair();
  if (SaveCertificate(key_path_, pair).ok()) public_key_ = pair.public_z85;
}

int StationDaemon::Enroll(const StationDaemon& hub) const {
  // "--": a Z85 key may start with '-'.
  return hub.Ctl({"unit", "enroll", unit_, "--", public_key_}).exit_code;
}

bool StationDaemon::Start() {
  // A port found free a moment ago may be taken by the time syncd binds it: the ephemeral range
  // is shared with every outgoing connection of the machine (other tests' links among them). So
  // until a start has held the HTTP port, a start refused for it tries a fresh port, 3 times.
  for (int attempt = 1;; ++attempt) {
    if (StartOnce()) {
      http_port_held_ = true;
      return true;
    }
    if (http_port_held_ || http_address_.empty() || attempt == 3) return false;
    std::ifstream in(last_log_);
    const std::string said((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (said.find("--http " + http_address_) == std::string::npos ||
        said.find("Address already in use") == std::string::npos) {
      return false;
    }
    http_address_ = "127.0.0.1:" + std::to_string(FreeTcpPort());
  }
}

bool StationDaemon::StartOnce() {
  std::vector<std::string> argv{BinPath("syncd")};
  if (role_.hub) {
    argv.insert(argv.end(), {"hub", "--listen", role_.sync});
  } else {
    argv.insert(argv.end(), {"station", "--unit", unit_});
    if (!role_.sync.empty()) argv.insert(argv.end(), {"--hub", role_.sync});
    if (!role_.sync.empty() && !role_.insecure)
      argv.insert(argv.end(), {"--hub-key", role_.hub_key});
  }
  if (role_.insecure) argv.push_back("--insecure");
  if (!role_.hub && !role_.insecure) argv.insert(argv.end(), {"--key", secret_key_path()});
  argv.insert(argv.end(), {"--data", data_, "--api", api_, "--feed", feed_, "--http",
                           http_address_.empty() ? "off" : http_address_});
  argv.insert(argv.end(), role_.extra_args.begin(), role_.extra_args.end());
  // Each start logs to its own file, so a restart keeps what the last run said.
  last_log_ = ++starts_ == 1 ? log_path_ : log_path_ + "." + std::to_string(starts_);
  process_ = std::make_unique<Process>(argv, last_log_);
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
  std::stringstream buffer;
  for (int start = 1; start <= starts_; ++start) {
    std::ifstream in(start == 1 ? log_path_ : log_path_ + "." + std::to_string(start));
    buffer << in.rdbuf();
  }
  return buffer.str();
}

std::unique_ptr<ApiClient> StationDaemon::Client(const std::string& actor) const {
  return std::make_unique<ApiClient>(api_, std::chrono::seconds(5), actor);
}

CommandResult StationDaemon::Ctl(std::vector<std::string> args, const std::string& input,
                                 std::chrono::milliseconds timeout) const {
  std::vector<std::string> argv{BinPath("syncctl"), "--api", api_, "--actor", "tester"};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, input, timeout);
}

}  // namespace stationsync
