// syncd --config FILE (daemon/config_file.h, daemon/command_line.h): a TOML file with one key
// per long flag resolves to the same node as the flags themselves; a flag on the command line
// wins over the file; an unknown key, a bad value, a table or a contradicting role is a usage
// error (exit 2) naming the line; and a real syncd started from a file serves as the same node as
// one started with the flags.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <signal.h>

#include "daemon/command_line.h"

#include "tests/support/process.h"

namespace stationsync {
namespace {

using testing::BinPath;
using testing::RunCommand;
using testing::TempDir;
using Json = nlohmann::json;

std::variant<SyncdCommand, int> Parse(std::vector<std::string> args) {
  args.insert(args.begin(), "syncd");
  std::vector<const char*> argv;
  for (const auto& arg : args) argv.push_back(arg.c_str());
  return ParseSyncdCommandLine(static_cast<int>(argv.size()), argv.data());
}

// The resolved command, failing the test if parsing or resolving did not succeed.
SyncdCommand Resolve(const std::vector<std::string>& args) {
  auto parsed = Parse(args);
  EXPECT_TRUE(std::holds_alternative<SyncdCommand>(parsed)) << "exit " << std::get<int>(parsed);
  if (!std::holds_alternative<SyncdCommand>(parsed)) return {};
  SyncdCommand command = std::get<SyncdCommand>(parsed);
  const Status resolved = ResolveSyncdCommand(command);
  EXPECT_TRUE(resolved.ok()) << resolved.ToString();
  return command;
}

// Every field a node runs with.
void ExpectSameNode(const SyncdCommand& a, const SyncdCommand& b) {
  EXPECT_EQ(a.role, b.role);
  EXPECT_EQ(a.log_level, b.log_level);
  EXPECT_EQ(a.log_format, b.log_format);
  const NodeFlags& x = a.flags;
  const NodeFlags& y = b.flags;
  EXPECT_EQ(x.unit, y.unit);
  EXPECT_EQ(x.data, y.data);
  EXPECT_EQ(x.api, y.api);
  EXPECT_EQ(x.hub, y.hub);
  EXPECT_EQ(x.listen, y.listen);
  EXPECT_EQ(x.key, y.key);
  EXPECT_EQ(x.hub_key, y.hub_key);
  EXPECT_EQ(x.insecure, y.insecure);
  EXPECT_EQ(x.max_clock_ahead_ms, y.max_clock_ahead_ms);
  EXPECT_EQ(x.test_clock_offset_ms, y.test_clock_offset_ms);
  EXPECT_EQ(x.http.enabled, y.http.enabled);
  EXPECT_EQ(x.http.host, y.http.host);
  EXPECT_EQ(x.http.port, y.http.port);
  EXPECT_EQ(x.http.tokens, y.http.tokens);
}

std::string Write(const TempDir& dir, const std::string& name, const std::string& text) {
  const std::string path = dir / name;
  std::ofstream(path) << text;
  return path;
}

TEST(ConfigFile, AStationFileAndTheSameFlagsResolveToTheSameNode) {
  TempDir dir;
  const std::string file = Write(dir, "station.toml", R"(# a station
role = "station"
unit = "P01"
data = "/var/lib/stationsync/station"
api = "ipc:///run/stationsync/p01.sock"
hub = "tcp://hq.example:7700"
hub-key = "@/etc/stationsync/hub.cert"
key = "/etc/stationsync/p01.cert_secret"
http = "127.0.0.1:7790"
max-clock-ahead = "2m"
log-level = "debug"
log-format = "json"
)");
  const SyncdCommand from_file = Resolve({"--config", file});
  const SyncdCommand from_flags = Resolve({"--log-level",
                                           "debug",
                                           "--log-format",
                                           "json",
                                           "station",
                                           "--unit",
                                           "P01",
                                           "--data",
                                           "/var/lib/stationsync/station",
                                           "--api",
                                           "ipc:///run/stationsync/p01.sock",
                                           "--hub",
                                           "tcp://hq.example:7700",
                                           "--hub-key",
                                           "@/etc/stationsync/hub.cert",
                                           "--key",
                                           "/etc/stationsync/p01.cert_secret",
                                           "--http",
                                           "127.0.0.1:7790",
                                           "--max-clock-ahead",
                                           "2m"});
  ExpectSameNode(from_file, from_flags);
  EXPECT_EQ(from_file.flags.max_clock_ahead_ms, 120'000);
  EXPECT_EQ(from_file.flags.http.port, 7790);
  // The role may also come from the command line, with the file holding the rest.
  ExpectSameNode(Resolve({"station", "--config", file}), from_flags);
}

TEST(ConfigFile, AHubFileAndTheSameFlagsResolveToTheSameNode) {
  TempDir dir;
  const std::string file = Write(dir, "hub.toml", R"(role = "hub"
data = "/var/lib/stationsync/hub"
listen = "tcp://*:7700"
http = "off"
insecure = false
)");
  ExpectSameNode(Resolve({"--config", file}),
                 Resolve({"hub", "--data", "/var/lib/stationsync/hub", "--listen", "tcp://*:7700",
                          "--http", "off"}));
  EXPECT_EQ(Resolve({"--config", file}).flags.unit, "hub");  // the default stays
}

TEST(ConfigFile, AFlagOnTheCommandLineWinsOverTheFile) {
  TempDir dir;
  const std::string file = Write(dir, "station.toml", R"(role = "station"
unit = "P01"
data = "/srv/a"
http = "127.0.0.1:7790"
log-level = "debug"
)");
  const SyncdCommand command = Resolve(
      {"--log-level", "warn", "station", "--config", file, "--unit", "P02", "--http", "off"});
  EXPECT_EQ(command.flags.unit, "P02");
  EXPECT_FALSE(command.flags.http.enabled);
  EXPECT_EQ(command.log_level, "warn");
  EXPECT_EQ(command.flags.data, "/srv/a");  // not on the command line: the file's
}

// syncd on a bad file: exit 2 and what it printed.
testing::CommandResult RunOn(const std::string& text, std::vector<std::string> args = {}) {
  TempDir dir;
  const std::string file = Write(dir, "bad.toml", text);
  args.insert(args.begin(), {BinPath("syncd"), "--config", file});
  return RunCommand(args, "", std::chrono::seconds(30));
}

TEST(ConfigFile, AnUnknownKeyIsAUsageErrorNamingTheKeyAndItsLine) {
  auto result = RunOn("role = \"station\"\nunit = \"P01\"\n\nlisten = \"tcp://*:7700\"\n");
  EXPECT_EQ(result.exit_code, 2) << result.err;
  EXPECT_NE(result.err.find("line 4: unknown key 'listen': syncd station has no --listen flag"),
            std::string::npos)
      << result.err;
  result = RunOn("role = \"hub\"\ndata = \"/x\"\nlisten = \"tcp://*:1\"\nhtpp = \"off\"\n");
  EXPECT_EQ(result.exit_code, 2) << result.err;
  EXPECT_NE(result.err.find("line 4: unknown key 'htpp'"), std::string::npos) << result.err;
}

TEST(ConfigFile, TablesBadSyntaxAndAContradictingRoleAreUsageErrorsNamingTheLine) {
  auto result = RunOn("role = \"hub\"\n[hub]\ndata = \"/x\"\n");
  EXPECT_EQ(result.exit_code, 2) << result.err;
  EXPECT_NE(result.err.find("line 2: 'hub' is a table"), std::string::npos) << result.err;
  result = RunOn("role = \"hub\"\ndata = /x\n");
  EXPECT_EQ(result.exit_code, 2) << result.err;
  EXPECT_NE(result.err.find("line 2, column"), std::string::npos) << result.err;
  result = RunOn("unit = \"P01\"\nrole = \"hub\"\n", {"station"});
  EXPECT_EQ(result.exit_code, 2) << result.err;
  EXPECT_NE(result.err.find("line 2: role = \"hub\", but the command line runs syncd station"),
            std::string::npos)
      << result.err;
  result = RunOn("role = \"hq\"\n");
  EXPECT_EQ(result.exit_code, 2) << result.err;
  EXPECT_NE(result.err.find("line 1: role must be"), std::string::npos) << result.err;
  // A value the flag would refuse is refused the same way.
  result = RunOn("role = \"hub\"\ndata = \"/x\"\nlisten = \"tcp://*:1\"\nlog-format = \"xml\"\n");
  EXPECT_EQ(result.exit_code, 2) << result.err;
  EXPECT_NE(result.err.find("--log-format"), std::string::npos) << result.err;
}

TEST(ConfigFile, ABadValueIsAUsageErrorNamingTheKeyAndItsLine) {
  const std::string station = "role = \"station\"\nunit = \"P01\"\ndata = \"/x\"\n";
  struct Case {
    std::string line;      // the 4th line of the file
    std::string expected;  // in syncd's stderr
  };
  const std::vector<Case> cases = {
      {"http = 12", "line 4: key 'http': --http 12: expected HOST:PORT"},
      {"http = \"127.0.0.1:70000\"", "line 4: key 'http': --http 127.0.0.1:70000: expected"},
      {"http = \"0.0.0.0:7781\"", "line 4: key 'http': --http 0.0.0.0:7781 can be reached"},
      {"http-token-file = \"/nonexistent/tokens\"",
       "line 4: key 'http-token-file': --http-token-file /nonexistent/tokens: cannot be read"},
      {"log-format = \"xml\"", "line 4: key 'log-format': --log-format"},
      {"max-clock-ahead = \"soon\"", "line 4: key 'max-clock-ahead':"},
      {"max-clock-ahead = -5", "line 4: key 'max-clock-ahead':"},
      {"hub = \"tcp://hq:7700\"", "line 4: key 'hub': --hub needs the hub's public key"},
  };
  for (const Case& c : cases) {
    const auto result = RunOn(station + c.line + "\n");
    EXPECT_EQ(result.exit_code, 2) << c.line << "\n" << result.err;
    EXPECT_NE(result.err.find(c.expected), std::string::npos) << c.line << "\n" << result.err;
    EXPECT_NE(result.err.find("bad.toml"), std::string::npos) << c.line << "\n" << result.err;
  }
  // A unit code on line 2.
  const auto result = RunOn("role = \"station\"\nunit = \"P 01\"\ndata = \"/x\"\n");
  EXPECT_EQ(result.exit_code, 2) << result.err;
  EXPECT_NE(result.err.find("line 2: key 'unit': --unit 'P 01' is not a unit code"),
            std::string::npos)
      << result.err;
}

TEST(ConfigFile, ABadValueOnTheCommandLineIsNotBlamedOnTheFile) {
  TempDir dir;
  const std::string file =
      Write(dir, "station.toml", "role = \"station\"\nunit = \"P01\"\nhttp = \"127.0.0.1:7790\"\n");
  // The flag wins, and its error names the flag only.
  auto parsed = Parse({"station", "--config", file, "--data", "/x", "--http", "12"});
  ASSERT_TRUE(std::holds_alternative<SyncdCommand>(parsed));
  SyncdCommand command = std::get<SyncdCommand>(parsed);
  EXPECT_EQ(command.config_lines.count("http"), 0U);
  EXPECT_EQ(command.config_lines.at("unit"), 2);
  const Status status = ResolveSyncdCommand(command);
  EXPECT_EQ(status.code(), Code::kInvalid);
  EXPECT_EQ(status.message().find("--http 12: expected HOST:PORT"), 0U) << status.message();
  // A bad value in the file that a flag overrides is no error.
  const std::string bad = Write(dir, "bad.toml", "role = \"station\"\nunit = \"P01\"\nhttp = 12\n");
  EXPECT_FALSE(
      Resolve({"station", "--config", bad, "--data", "/x", "--http", "off"}).flags.http.enabled);
}

TEST(ConfigFile, ARealStationFromAFileServesAsTheSameNodeAsFromFlags) {
  TempDir dir;
  const std::string api = "ipc://" + dir / "api.sock";
  const std::vector<std::string> flags{"station", "--unit", "P07",    "--data", dir / "data",
                                       "--api",   api,      "--http", "off"};
  const std::string file = Write(dir, "station.toml",
                                 "role = \"station\"\nunit = \"P07\"\ndata = \"" + dir / "data" +
                                     "\"\napi = \"" + api + "\"\nhttp = \"off\"\n");
  auto status_of = [&](const std::vector<std::string>& args) {
    std::vector<std::string> argv{BinPath("syncd")};
    argv.insert(argv.end(), args.begin(), args.end());
    testing::Process daemon(argv, dir / "syncd.log");
    ApiClient client(api, std::chrono::seconds(5), "tester");
    EXPECT_TRUE(testing::WaitUntil([&] { return client.Ping().ok(); }, std::chrono::seconds(30)));
    const auto status = RunCommand({BinPath("syncctl"), "--api", api, "status", "--json"});
    daemon.Signal(SIGTERM);
    EXPECT_EQ(daemon.Wait(std::chrono::seconds(30)), 0);
    return status.exit_code == 0 ? Json::parse(status.out) : Json();
  };
  const Json from_file = status_of({"--config", file});
  const Json from_flags = status_of(flags);
  ASSERT_FALSE(from_file.is_null());
  EXPECT_EQ(from_file["unit"], "P07");
  EXPECT_EQ(from_file, from_flags);
}

}  // namespace
}  // namespace stationsync
