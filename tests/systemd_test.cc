// syncd under systemd: the unit files of both roles pass `systemd-analyze verify` without a
// warning and run a command line that resolves with the example configs; and sd_notify's
// protocol against a real syncd, with a NOTIFY_SOCKET this test owns: READY=1 arrives only when
// the API and HTTP answer, WATCHDOG=1 keeps coming from the loop when WATCHDOG_USEC is set,
// STOPPING=1 at SIGTERM, and a syncd that cannot bind its HTTP port never says READY=1.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/command_line.h"

#include "tests/support/process.h"

namespace stationsync {
namespace {

using testing::BinPath;
using testing::FreeTcpPort;
using testing::RunCommand;
using testing::TempDir;
namespace fs = std::filesystem;

const fs::path kPackageDir = fs::path(STATIONSYNC_SOURCE_DIR) / "tools/package";

std::string ReadText(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The value of `key=` in a unit file ("" if absent).
std::string UnitValue(const std::string& unit, const std::string& key) {
  std::istringstream lines(unit);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(key + "=", 0) == 0) return line.substr(key.size() + 1);
  }
  return "";
}

TEST(SystemdUnits, BothRolesPassSystemdAnalyzeVerifyWithoutAWarning) {
  TempDir dir;
  for (const char* name : {"stationsync-hub.service", "stationsync-station.service"}) {
    SCOPED_TRACE(name);
    std::string unit = ReadText(kPackageDir / name);
    ASSERT_FALSE(unit.empty());
    for (const char* key : {"Type", "WatchdogSec", "User", "NoNewPrivileges", "PrivateTmp",
                            "ProtectSystem", "ReadWritePaths"}) {
      EXPECT_FALSE(UnitValue(unit, key).empty()) << key;
    }
    EXPECT_EQ(UnitValue(unit, "Type"), "notify");
    EXPECT_EQ(UnitValue(unit, "User"), "syncd");
    EXPECT_EQ(UnitValue(unit, "ProtectSystem"), "strict");
    EXPECT_NE(UnitValue(unit, "ReadWritePaths").find("/var/lib/stationsync"), std::string::npos);
    // verify needs ExecStart's binary to exist: the one this build made stands in for /usr/bin.
    const std::string exec_start = UnitValue(unit, "ExecStart");
    ASSERT_EQ(exec_start.rfind("/usr/bin/syncd ", 0), 0u) << exec_start;
    unit.replace(unit.find("/usr/bin/syncd"), 14, BinPath("syncd"));
    { std::ofstream(dir / name) << unit; }
    const auto verified = RunCommand({"/usr/bin/systemd-analyze", "verify", dir / name});
    EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
    EXPECT_EQ(verified.out + verified.err, "") << "systemd-analyze warned";

    // ExecStart's arguments, with its config file taken from the package's examples, resolve.
    const std::string config = exec_start.substr(exec_start.find("/etc/stationsync/"));
    const std::string example = (kPackageDir / fs::path(config).filename()).string();
    std::vector<const char*> argv{"syncd", "--config", example.c_str()};
    auto parsed = ParseSyncdCommandLine(static_cast<int>(argv.size()), argv.data());
    ASSERT_TRUE(std::holds_alternative<SyncdCommand>(parsed)) << example;
    const SyncdCommand& command = std::get<SyncdCommand>(parsed);
    EXPECT_EQ(command.role, std::string(name).find("hub") != std::string::npos
                                ? SyncdRole::kHub
                                : SyncdRole::kStation);
    EXPECT_TRUE(command.flags.data.rfind("/var/lib/stationsync/", 0) == 0) << command.flags.data;
  }
}

// A unix datagram socket standing in for systemd's notification socket.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    path.copy(address.sun_path, sizeof address.sun_path - 1);
    bound_ = ::bind(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
  }
  ~NotifySocket() { ::close(fd_); }
  bool bound() const { return bound_; }
  std::string env() const { return "NOTIFY_SOCKET=" + path_; }

  // The next datagram, or "" after `timeout`.
  std::string Receive(std::chrono::milliseconds timeout) {
    pollfd item{fd_, POLLIN, 0};
    if (::poll(&item, 1, static_cast<int>(timeout.count())) != 1) return "";
    char buffer[4096];
    const ssize_t size = ::recv(fd_, buffer, sizeof buffer, 0);
    return size > 0 ? std::string(buffer, static_cast<size_t>(size)) : "";
  }

  // Waits (bounded) for a datagram holding `line`; everything received on the way is appended to
  // `seen`.
  bool WaitFor(const std::string& line, std::string& seen, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      const std::string message = Receive(std::chrono::milliseconds(100));
      seen += message.empty() ? "" : message + "|";
      if (("\n" + message + "\n").find("\n" + line + "\n") != std::string::npos) return true;
    }
    return false;
  }

 private:
  std::string path_;
  int fd_ = -1;
  bool bound_ = false;
};

TEST(SystemdNotify, ReadyOnlyOnceTheApiAndHttpAnswerThenTheLoopFeedsTheWatchdog) {
  TempDir dir;
  NotifySocket notify(dir / "notify");
  ASSERT_TRUE(notify.bound());
  const std::string api = "ipc://" + dir / "api.sock";
  const int port = FreeTcpPort();
  testing::Process syncd({BinPath("syncd"), "hub", "--data", dir / "data", "--listen",
                          "tcp://127.0.0.1:" + std::to_string(FreeTcpPort()), "--api", api,
                          "--http", "127.0.0.1:" + std::to_string(port)},
                         dir / "syncd.log", {notify.env(), "WATCHDOG_USEC=400000"});
  std::string seen;
  ASSERT_TRUE(notify.WaitFor("READY=1", seen, std::chrono::seconds(30)))
      << seen << ReadText(dir / "syncd.log");
  // At that moment, both answer (bounded: a second each).
  ApiClient client(api, std::chrono::seconds(1), "tester");
  EXPECT_TRUE(client.Ping().ok());
  httplib::Client http("127.0.0.1", port);
  http.set_connection_timeout(1);
  const auto health = http.Get("/healthz");
  ASSERT_TRUE(health) << "HTTP did not answer";
  EXPECT_EQ(health->status, 200);

  // WATCHDOG_USEC 400 ms: a ping at least every 200 ms, so 3 within 2 s.
  int pings = 0;
  for (int i = 0; i < 3; ++i) {
    if (notify.WaitFor("WATCHDOG=1", seen, std::chrono::seconds(2))) ++pings;
  }
  EXPECT_EQ(pings, 3) << seen;
  syncd.Signal(SIGTERM);
  EXPECT_TRUE(notify.WaitFor("STOPPING=1", seen, std::chrono::seconds(30))) << seen;
  EXPECT_EQ(syncd.Wait(std::chrono::seconds(30)), 0);
}

TEST(SystemdNotify, ASyncdThatCannotBindItsHttpPortNeverSaysReady) {
  TempDir dir;
  NotifySocket notify(dir / "notify");
  ASSERT_TRUE(notify.bound());
  // Hold a port, as another service would.
  const int taken = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(taken, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(taken, 1), 0);
  socklen_t length = sizeof address;
  ::getsockname(taken, reinterpret_cast<sockaddr*>(&address), &length);
  testing::Process syncd({BinPath("syncd"), "station", "--unit", "P01", "--data", dir / "data",
                          "--api", "ipc://" + dir / "api.sock", "--http",
                          "127.0.0.1:" + std::to_string(ntohs(address.sin_port))},
                         dir / "syncd.log", {notify.env()});
  EXPECT_EQ(syncd.Wait(std::chrono::seconds(30)), 3) << ReadText(dir / "syncd.log");
  std::string seen;
  EXPECT_FALSE(notify.WaitFor("READY=1", seen, std::chrono::milliseconds(200))) << seen;
  ::close(taken);
}

}  // namespace
}  // namespace stationsync
