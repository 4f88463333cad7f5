// syncd's HTTP server (daemon/http/): the Prometheus formatter and the flags as pure functions,
// then a real hub and station on loopback: /healthz, /readyz, /status (the same object as
// `syncctl status --json`), /metrics (accepted by `promtool check metrics`), bearer tokens, the
// Host check of a loopback server (DNS rebinding), and the exit codes for a taken port and for a
// non-loopback address without tokens.
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/http/http_config.h"
#include "daemon/http/metrics.h"
#include "daemon/http/node_state.h"

#include "tests/support/http_client.h"
#include "tests/support/process.h"

namespace stationsync {
namespace {

using testing::BinPath;
using testing::DaemonRole;
using testing::RunCommand;
using testing::StationDaemon;
using testing::TempDir;
using testing::WaitUntil;
using Json = nlohmann::json;

constexpr char kToken[] = "s3cret-token-for-tests-0123456789";

// `promtool check metrics` on `body`: its exit code and what it said.
testing::CommandResult Promtool(const std::string& body) {
  return RunCommand({"/usr/bin/promtool", "check", "metrics"}, body, std::chrono::seconds(30));
}

MetricsInput HubInput() {
  MetricsInput input;
  input.status.role = "hub";
  input.status.unit = "hub";
  input.status.node = "hub";
  input.status.records = 7;
  input.status.last_seq = 42;
  input.status.conflicts_open = 1;
  input.status.refused_unknown_key_total = 3;
  StationLink p01;
  p01.unit = "P01";
  p01.connected = true;
  p01.never_seen = false;
  p01.last_seen_ms = 1500;
  p01.lag_records = 5;
  p01.lag_ms = 2500;
  p01.up_total = 10;
  p01.down_total = 20;
  p01.rejected_total = 3;
  p01.rejected_out_of_scope_total = 2;
  p01.rejected_invalid_total = 1;
  p01.snapshotting = true;
  p01.snapshot_records_total = 200;
  p01.snapshot_records_left = 50;
  StationLink p02;
  p02.unit = "P02";  // never seen: no last-seen sample
  input.status.stations = {p01, p02};
  input.stored_by_table = {{Table::kUnit, 3}, {Table::kCase, 4}};
  input.store.wal_bytes = 4096;
  input.write_latency.Observe(300);        // 0.0003 s: in the 0.0005 bucket
  input.write_latency.Observe(9'000'000);  // above every bound: only +Inf
  return input;
}

bool Contains(const std::string& text, const std::string& line) {
  return text.find(line) != std::string::npos;
}

TEST(HttpMetrics, TheHubsFiguresInPrometheusTextFormat) {
  const std::string text = FormatMetrics(HubInput());
  for (const char* line : {
           "stationsync_node_info{role=\"hub\",unit=\"hub\",node=\"hub\"} 1\n",
           "stationsync_records 7\n",
           "stationsync_records_stored{table=\"case\"} 4\n",
           "stationsync_log_last_seq 42\n",
           "stationsync_conflicts_open 1\n",
           "stationsync_store_wal_bytes 4096\n",
           "stationsync_station_connected{unit=\"P01\"} 1\n",
           "stationsync_station_connected{unit=\"P02\"} 0\n",
           "stationsync_station_last_seen_seconds{unit=\"P01\"} 1.5\n",
           "stationsync_station_lag_records{unit=\"P01\"} 5\n",
           "stationsync_station_lag_seconds{unit=\"P01\"} 2.5\n",
           "stationsync_station_changes_up_total{unit=\"P01\"} 10\n",
           "stationsync_station_changes_down_total{unit=\"P01\"} 20\n",
           "stationsync_station_rejected_changes_total{unit=\"P01\",reason=\"out_of_scope\"} 2\n",
           "stationsync_station_rejected_changes_total{unit=\"P01\",reason=\"invalid\"} 1\n",
           "stationsync_station_snapshot_in_progress{unit=\"P01\"} 1\n",
           "stationsync_station_snapshot_progress_ratio{unit=\"P01\"} 0.75\n",
           "stationsync_handshakes_refused_total{reason=\"unknown_key\"} 3\n",
           "# TYPE stationsync_write_commit_seconds histogram\n",
           "stationsync_write_commit_seconds_bucket{le=\"0.00025\"} 0\n",
           "stationsync_write_commit_seconds_bucket{le=\"0.0005\"} 1\n",
           "stationsync_write_commit_seconds_bucket{le=\"5\"} 1\n",
           "stationsync_write_commit_seconds_bucket{le=\"+Inf\"} 2\n",
           "stationsync_write_commit_seconds_sum 9.0003\n",
           "stationsync_write_commit_seconds_count 2\n",
           "# TYPE stationsync_wal_sync_seconds histogram\n",
           "stationsync_wal_sync_seconds_bucket{le=\"+Inf\"} 0\n",
       }) {
    EXPECT_TRUE(Contains(text, line)) << "missing: " << line << "in:\n" << text;
  }
  EXPECT_FALSE(Contains(text, "stationsync_station_last_seen_seconds{unit=\"P02\"}")) << text;
  EXPECT_FALSE(Contains(text, "stationsync_hub_connected")) << "a station's family at the hub";
  const auto checked = Promtool(text);
  EXPECT_EQ(checked.exit_code, 0) << checked.out << checked.err << "\n" << text;
}

TEST(HttpMetrics, AStationsFiguresPassPromtool) {
  MetricsInput input;
  input.status.role = "station";
  input.status.unit = "P01";
  input.status.node = "P01";
  input.status.hub_connected = true;
  input.status.lag_records = 2;
  input.status.pending_up = 3;
  input.status.clock_ahead_ms = -1500;
  const std::string text = FormatMetrics(input);
  for (const char* line :
       {"stationsync_hub_connected 1\n", "stationsync_lag_records 2\n",
        "stationsync_pending_up_records 3\n", "stationsync_clock_ahead_seconds -1.5\n"}) {
    EXPECT_TRUE(Contains(text, line)) << "missing: " << line << "in:\n" << text;
  }
  EXPECT_FALSE(Contains(text, "stationsync_station_")) << "a hub's family at a station";
  EXPECT_FALSE(Contains(text, "stationsync_records_stored")) << "no counts given";
  const auto checked = Promtool(text);
  EXPECT_EQ(checked.exit_code, 0) << checked.out << checked.err << "\n" << text;
}

TEST(HttpMetrics, LabelValuesAreEscaped) {
  EXPECT_EQ(EscapeLabelValue("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  MetricsInput input;
  input.status.role = "station";
  input.status.unit = "P01";
  input.status.node = "odd \"node\"\\\n";
  const auto checked = Promtool(FormatMetrics(input));
  EXPECT_EQ(checked.exit_code, 0) << checked.out << checked.err;
}

TEST(HttpConfig, AddressesTokensAndOff) {
  auto off = MakeHttpConfig("off", "");
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off->enabled);
  auto v4 = MakeHttpConfig("127.0.0.1:7780", "");
  ASSERT_TRUE(v4.ok()) << v4.status().ToString();
  EXPECT_TRUE(v4->enabled);
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 7780);
  auto v6 = MakeHttpConfig("[::1]:7781", "");
  ASSERT_TRUE(v6.ok()) << v6.status().ToString();
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->address(), "[::1]:7781");
  for (const char* bad : {"7780", "127.0.0.1:", ":7780", "127.0.0.1:0", "127.0.0.1:65536",
                          "127.0.0.1:77x", "::1:7780", "[::1]7780"}) {
    auto parsed = MakeHttpConfig(bad, "");
    EXPECT_EQ(parsed.status().code(), Code::kInvalid) << bad;
    EXPECT_TRUE(Contains(parsed.status().message(), "--http")) << bad;
  }
  auto open = MakeHttpConfig("0.0.0.0:7780", "");
  EXPECT_EQ(open.status().code(), Code::kInvalid);
  EXPECT_TRUE(Contains(open.status().message(), "--http-token-file")) << open.status().message();

  TempDir dir;
  std::ofstream(dir / "tokens") << "\n  " << kToken << "  \n\nanother-token-0123456789\n";
  auto guarded = MakeHttpConfig("0.0.0.0:7780", dir / "tokens");
  ASSERT_TRUE(guarded.ok()) << guarded.status().ToString();
  EXPECT_EQ(guarded->tokens, (std::vector<std::string>{kToken, "another-token-0123456789"}));
  std::ofstream(dir / "short") << "short\n";
  auto short_token = MakeHttpConfig("127.0.0.1:7780", dir / "short");
  EXPECT_EQ(short_token.status().code(), Code::kInvalid);
  EXPECT_TRUE(Contains(short_token.status().message(), "line 1")) << short_token.status().message();
  std::ofstream(dir / "empty") << "\n";
  EXPECT_EQ(MakeHttpConfig("127.0.0.1:7780", dir / "empty").status().code(), Code::kInvalid);
  EXPECT_EQ(MakeHttpConfig("127.0.0.1:7780", dir / "missing").status().code(), Code::kInvalid);
  EXPECT_TRUE(IsLoopbackHost("127.8.9.10"));
  EXPECT_TRUE(IsLoopbackHost("localhost"));
  EXPECT_FALSE(IsLoopbackHost("10.0.0.1"));
  EXPECT_FALSE(IsLoopbackHost("::"));
}

TEST(HttpHealth, ALoopThatStoppedTurningIsUnhealthy) {
  EXPECT_FALSE(LoopAlive(0, 5000)) << "never turned";
  EXPECT_TRUE(LoopAlive(1000, 1000));
  EXPECT_TRUE(LoopAlive(1000, 1000 + kLoopStaleMs));
  EXPECT_FALSE(LoopAlive(1000, 1001 + kLoopStaleMs));
  EXPECT_TRUE(LoopAlive(2000, 1000)) << "a reader's clock read before the beat";
}

// An HTTP client of a daemon started with DaemonRole::http.
httplib::Result HttpGet(const StationDaemon& node, const std::string& path,
                        const std::string& token = "") {
  const std::string& address = node.http_address();
  httplib::Client client(address.substr(0, address.rfind(':')),
                         std::stoi(address.substr(address.rfind(':') + 1)));
  client.set_connection_timeout(5);
  client.set_read_timeout(10);
  httplib::Headers headers;
  if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
  return client.Get(path.c_str(), headers);
}

// The hub's status without the figures that move with the clock.
Json Steady(Json status) {
  if (status.contains("stations")) {
    for (auto& station : status["stations"]) station.erase("last_seen_ms");
  }
  return status;
}

class HttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DaemonRole hub_role;
    hub_role.hub = true;
    hub_role.sync = testing::FreeTcpEndpoint();
    hub_role.http = true;
    hub_ = std::make_unique<StationDaemon>("hub", "", hub_role);
    ASSERT_TRUE(hub_->Start()) << hub_->Log();
  }

  // Station P01, registered and enrolled at the hub, linked and synced.
  void StartStation() {
    ASSERT_EQ(
        hub_->Ctl({"unit", "put", "P01", R"({"name":"P01 派出所","kind":"station"})"}).exit_code,
        0);
    DaemonRole role;
    role.sync = hub_->role().sync;
    role.hub_key = hub_->public_key();
    role.http = true;
    station_ = std::make_unique<StationDaemon>("P01", "", role);
    ASSERT_EQ(station_->Enroll(*hub_), 0);
    ASSERT_TRUE(station_->Start()) << station_->Log();
    ASSERT_EQ(station_->Ctl({"put", "personnel", "P01-001", R"({"name":"张伟","role":"officer"})"})
                  .exit_code,
              0);
    for (StationDaemon* node : {station_.get(), hub_.get()}) {
      const auto wait = node->Ctl({"wait-synced", "--timeout", "60"});
      ASSERT_EQ(wait.exit_code, 0) << wait.err << node->Log();
    }
  }

  std::unique_ptr<StationDaemon> hub_;
  std::unique_ptr<StationDaemon> station_;
};

TEST_F(HttpTest, HealthReadinessStatusAndMetricsOfAHubAndAStation) {
  StartStation();
  for (StationDaemon* node : {hub_.get(), station_.get()}) {
    SCOPED_TRACE(node->unit());
    auto health = HttpGet(*node, "/healthz");
    ASSERT_TRUE(health) << httplib::to_string(health.error());
    EXPECT_EQ(health->status, 200) << health->body;
    EXPECT_EQ(Json::parse(health->body)["healthy"], true);
    auto ready = HttpGet(*node, "/readyz");
    ASSERT_TRUE(ready);
    EXPECT_EQ(ready->status, 200) << ready->body;

    // The same object as syncctl's; a heartbeat between the two reads may move a figure, so
    // a few tries are allowed.
    Json served;
    Json printed;
    for (int attempt = 0; attempt < 5; ++attempt) {
      auto status = HttpGet(*node, "/status");
      ASSERT_TRUE(status);
      ASSERT_EQ(status->status, 200) << status->body;
      EXPECT_EQ(status->get_header_value("Content-Type"), "application/json");
      const auto ctl = node->Ctl({"status", "--json"});
      ASSERT_EQ(ctl.exit_code, 0) << ctl.err;
      served = Steady(Json::parse(status->body));
      printed = Steady(Json::parse(ctl.out));
      if (served == printed) break;
    }
    EXPECT_EQ(served, printed);
    // Same keys in the same order: compare the texts too.
    EXPECT_EQ(served.dump(), printed.dump());

    auto metrics = HttpGet(*node, "/metrics");
    ASSERT_TRUE(metrics);
    ASSERT_EQ(metrics->status, 200);
    EXPECT_TRUE(Contains(metrics->get_header_value("Content-Type"), "version=0.0.4"));
    const auto checked = Promtool(metrics->body);
    EXPECT_EQ(checked.exit_code, 0) << checked.out << checked.err << "\n" << metrics->body;
    EXPECT_TRUE(Contains(
        metrics->body, fmt::format("stationsync_records {}\n", printed["records"].get<uint64_t>())))
        << metrics->body;
    EXPECT_TRUE(Contains(metrics->body, fmt::format("stationsync_log_last_seq {}\n",
                                                    printed["last_seq"].get<uint64_t>())))
        << metrics->body;
    EXPECT_TRUE(Contains(metrics->body, fmt::format("stationsync_conflicts_open {}\n",
                                                    printed["conflicts_open"].get<uint64_t>())))
        << metrics->body;
    EXPECT_TRUE(Contains(metrics->body, "stationsync_records_stored{table=\"personnel\"} 1\n"))
        << metrics->body;
    EXPECT_TRUE(Contains(metrics->body, "stationsync_write_commit_seconds_count "))
        << metrics->body;
  }
  auto metrics = HttpGet(*hub_, "/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_TRUE(Contains(metrics->body, "stationsync_station_connected{unit=\"P01\"} 1\n"))
      << metrics->body;
  EXPECT_TRUE(Contains(metrics->body, "stationsync_station_lag_records{unit=\"P01\"} 0\n"))
      << metrics->body;
  EXPECT_TRUE(Contains(metrics->body, "stationsync_station_changes_up_total{unit=\"P01\"} 1\n"))
      << metrics->body;
  auto station_metrics = HttpGet(*station_, "/metrics");
  ASSERT_TRUE(station_metrics);
  EXPECT_TRUE(Contains(station_metrics->body, "stationsync_hub_connected 1\n"));
  // At least the put of SetUp was a group commit.
  EXPECT_FALSE(Contains(station_metrics->body, "stationsync_write_commit_seconds_count 0\n"));
  EXPECT_FALSE(Contains(station_metrics->body, "stationsync_wal_sync_seconds_count 0\n"))
      << "a durable write syncs the WAL";
  auto missing = HttpGet(*hub_, "/nothing-here");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
}

TEST_F(HttpTest, TheHubShowsAnAbsentStationsLagInRecordsAndSeconds) {
  StartStation();
  ASSERT_EQ(station_->Stop(), 0);
  ASSERT_EQ(hub_->Ctl({"put", "personnel", "P01-002", R"({"name":"李娜","role":"officer"})",
                       "--owner", "P01"})
                .exit_code,
            0);
  std::string body;
  // The hub notices the silence within a few seconds, and the change waits for the station.
  const bool shown = WaitUntil(
      [&] {
        auto metrics = HttpGet(*hub_, "/metrics");
        if (!metrics) return false;
        body = metrics->body;
        return Contains(body, "stationsync_station_connected{unit=\"P01\"} 0\n") &&
               Contains(body, "stationsync_station_lag_records{unit=\"P01\"} 1\n") &&
               !Contains(body, "stationsync_station_lag_seconds{unit=\"P01\"} 0\n");
      },
      std::chrono::seconds(30));
  EXPECT_TRUE(shown) << body;
  EXPECT_TRUE(Contains(body, "stationsync_station_last_seen_seconds{unit=\"P01\"} ")) << body;
}

TEST_F(HttpTest, AStationIsNotReadyUntilItLinkedToTheHub) {
  DaemonRole role;  // a hub that never answers: nothing listens there
  role.sync = testing::FreeTcpEndpoint();
  role.insecure = true;
  role.http = true;
  StationDaemon unlinked("P09", "", role);
  ASSERT_TRUE(unlinked.Start()) << unlinked.Log();
  auto ready = HttpGet(unlinked, "/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 503) << ready->body;
  EXPECT_EQ(Json::parse(ready->body)["reason"], "not linked to the hub yet");
  auto health = HttpGet(unlinked, "/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200) << "healthy all the same: its loop turns";

  DaemonRole alone;
  alone.http = true;
  StationDaemon hubless("P08", "", alone);
  ASSERT_TRUE(hubless.Start()) << hubless.Log();
  ready = HttpGet(hubless, "/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 503) << ready->body;
  EXPECT_TRUE(Contains(ready->body, "no hub configured")) << ready->body;
}

TEST(HttpToken, EveryRouteNeedsTheBearerToken) {
  TempDir dir;
  std::ofstream(dir / "tokens") << "first-token-of-the-file-0000\n" << kToken << "\n";
  DaemonRole role;
  role.http = true;
  StationDaemon node("P01", "", role);
  node.role().extra_args = {"--http-token-file", dir / "tokens"};
  ASSERT_TRUE(node.Start()) << node.Log();
  for (const char* path : {"/healthz", "/readyz", "/status", "/metrics", "/", "/dashboard.json",
                           "/v1/records/personnel/P01-001", "/v1/records/personnel"}) {
    SCOPED_TRACE(path);
    auto none = HttpGet(node, path);
    ASSERT_TRUE(none);
    EXPECT_EQ(none->status, 401);
    EXPECT_EQ(none->get_header_value("WWW-Authenticate"), "Bearer");
    auto wrong = HttpGet(node, path, std::string(kToken) + "x");
    ASSERT_TRUE(wrong);
    EXPECT_EQ(wrong->status, 401);
    auto right = HttpGet(node, path, kToken);
    ASSERT_TRUE(right);
    EXPECT_NE(right->status, 401) << right->body;
  }
  auto status = HttpGet(node, "/status", kToken);
  ASSERT_TRUE(status);
  EXPECT_EQ(status->status, 200);
  EXPECT_EQ(Json::parse(status->body)["unit"], "P01");
}

TEST(HttpHost, ALoopbackServerAcceptsOnlyLoopbacksNamesWithItsPort) {
  auto v4 = MakeHttpConfig("127.0.0.1:7781", "");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(AllowedHostHeaders(*v4),
            (std::vector<std::string>{"localhost:7781", "127.0.0.1:7781", "[::1]:7781"}));
  auto other = MakeHttpConfig("127.0.0.2:7781", "");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(AllowedHostHeaders(*other).back(), "127.0.0.2:7781") << "the bound address too";
  auto v6 = MakeHttpConfig("[::1]:80", "");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(AllowedHostHeaders(*v6),
            (std::vector<std::string>{"localhost:80", "localhost", "127.0.0.1:80", "127.0.0.1",
                                      "[::1]:80", "[::1]"}));
  // Not loopback: the token on every route protects it; any name the operators use is fine.
  TempDir dir;
  std::ofstream(dir / "tokens") << kToken << "\n";
  auto open = MakeHttpConfig("0.0.0.0:7780", dir / "tokens");
  ASSERT_TRUE(open.ok());
  EXPECT_TRUE(AllowedHostHeaders(*open).empty());
  EXPECT_TRUE(AllowedHostHeaders(*MakeHttpConfig("off", "")).empty());
}

// DNS rebinding: a page at http://evil.example:PORT/ whose name now resolves to 127.0.0.1 sends
// Host: evil.example:PORT. Every route refuses it before anything else, with 421 and the JSON
// error; loopback's own names are served.
TEST(HttpHost, ALoopbackServerRefusesOtherHostsOnEveryRoute) {
  DaemonRole role;
  role.http = true;
  StationDaemon node("P01", "", role);
  ASSERT_TRUE(node.Start()) << node.Log();
  ASSERT_EQ(
      node.Ctl({"put", "personnel", "P01-001", R"({"name":"Li","role":"officer"})"}).exit_code, 0);
  const std::string port = node.http_address().substr(node.http_address().rfind(':') + 1);
  for (const char* path : {"/", "/dashboard.json", "/status", "/metrics", "/healthz",
                           "/v1/records/personnel/P01-001", "/v1/records/personnel"}) {
    SCOPED_TRACE(path);
    for (const std::string& host : std::vector<std::string>{
             "evil.example:" + port, "evil.example", "127.0.0.1", "localhost:1" + port,
             "127.0.0.1.evil.example:" + port, std::string("")}) {
      SCOPED_TRACE("Host: " + host);
      auto refused = testing::HttpCall(node, "GET", path, "", {{"Host", host}});
      ASSERT_TRUE(refused);
      EXPECT_EQ(refused->status, 421) << refused->body;
      const Json body = Json::parse(refused->body);
      EXPECT_EQ(body["field"], "Host");
      EXPECT_TRUE(Contains(body["error"].get<std::string>(), "is not this server's"))
          << refused->body;
    }
    for (const std::string& host : std::vector<std::string>{
             "127.0.0.1:" + port, "localhost:" + port, "LocalHost:" + port, "[::1]:" + port}) {
      SCOPED_TRACE("Host: " + host);
      auto served = testing::HttpCall(node, "GET", path, "", {{"Host", host}});
      ASSERT_TRUE(served);
      EXPECT_EQ(served->status, 200) << served->body;
    }
  }
  // A write with a rebound name is refused too, and changes nothing.
  auto write =
      testing::HttpCall(node, "PUT", "/v1/records/personnel/P01-001", R"({"name":"Mallory"})",
                        {{"Host", "evil.example:" + port}, {"X-Actor", "app"}});
  ASSERT_TRUE(write);
  EXPECT_EQ(write->status, 421);
  auto read = testing::HttpCall(node, "GET", "/v1/records/personnel/P01-001");
  ASSERT_TRUE(read);
  EXPECT_TRUE(Contains(read->body, "\"Li\"")) << read->body;
}

TEST(HttpFlags, ANonLoopbackAddressWithoutTokensExits2) {
  TempDir dir;
  const auto result =
      RunCommand({BinPath("syncd"), "station", "--unit", "P01", "--data", dir / "data", "--http",
                  fmt::format("0.0.0.0:{}", testing::FreeTcpPort())},
                 "", std::chrono::seconds(30));
  EXPECT_EQ(result.exit_code, 2) << result.err;
  EXPECT_TRUE(Contains(result.err, "--http-token-file")) << result.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "data")) << "refused before opening anything";
}

// A listening socket on `port` (0: any free one) of loopback, and its "127.0.0.1:PORT"; -1 if the
// port cannot be had.
std::pair<int, std::string> HoldLoopbackPort(uint16_t port = 0) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  socklen_t length = sizeof address;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(fd, 1) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    if (fd >= 0) ::close(fd);
    return {-1, ""};
  }
  return {fd, fmt::format("127.0.0.1:{}", ntohs(address.sin_port))};
}

TEST(HttpFlags, APortAlreadyTakenExits3NamingTheAddressAndTheFlag) {
  // A listening socket of this test holds the port.
  const auto [fd, taken] = HoldLoopbackPort();
  ASSERT_GE(fd, 0);
  TempDir dir;
  const auto result = RunCommand(
      {BinPath("syncd"), "station", "--unit", "P01", "--data", dir / "data", "--http", taken}, "",
      std::chrono::seconds(30));
  ::close(fd);
  EXPECT_EQ(result.exit_code, 3) << result.err;
  EXPECT_TRUE(Contains(result.err, "--http " + taken)) << result.err;
}

// The test harness's daemons pick their HTTP port free a moment before syncd binds it; another
// process may take it in between (as in a CI run, where a syncbench hub failed so).
TEST(HttpFlags, ATestDaemonWhoseHttpPortWasTakenMeanwhileStartsOnAnother) {
  DaemonRole role;
  role.http = true;
  StationDaemon station("P01", "", role);
  const std::string picked = station.http_address();
  const auto [fd, taken] =
      HoldLoopbackPort(static_cast<uint16_t>(std::stoi(picked.substr(picked.rfind(':') + 1))));
  ASSERT_GE(fd, 0) << "the picked port was taken before the test could hold it";
  ASSERT_EQ(taken, picked);
  const bool started = station.Start();
  ::close(fd);
  ASSERT_TRUE(started) << station.Log();
  EXPECT_NE(station.http_address(), picked);
  EXPECT_TRUE(Contains(station.Log(), "Address already in use"));  // the first start's log
  EXPECT_EQ(station.Stop(), 0);
}

}  // namespace
}  // namespace stationsync
