// See command_line.h.
#include "daemon/command_line.h"

#include <cstdio>
#include <map>
#include <memory>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "daemon/config_file.h"
#include "sync/base/version.h"
#include "sync/records/validate.h"

namespace stationsync {
namespace {

// Flags both roles share: keys, plaintext on purpose, the clock bound.
void AddSecurityFlags(CLI::App* command, NodeFlags& flags) {
  command->add_option("--key", flags.key,
                      "this node's secret certificate file (default DATA/node.cert_secret, made "
                      "on first start)");
  command->add_flag("--insecure", flags.insecure,
                    "sync without CURVE, identity taken from Hello: loopback tests only");
  command
      ->add_option_function<int64_t>(
          "--max-clock-ahead",
          [&flags](int64_t seconds) { flags.max_clock_ahead_ms = seconds * 1000; },
          "refuse peers' stamps further ahead of our clock than this (seconds, or 30s, 5m, 1h; "
          "default 5m)")
      ->transform(
          CLI::AsNumberWithUnit(std::map<std::string, int64_t>{{"s", 1}, {"m", 60}, {"h", 3600}}))
      ->check(CLI::PositiveNumber);
  // Hidden (no group): lets multi-process tests run a node whose clock is wrong.
  command->add_option("--TEST-clock-offset-ms", flags.test_clock_offset_ms)->group("");
}

// The HTTP server's flags (daemon/http/http_config.h), checked by ResolveSyncdCommand.
void AddHttpFlags(CLI::App* command, SyncdCommand& out, const char* default_address) {
  out.http_address = default_address;
  command
      ->add_option("--http", out.http_address,
                   "HTTP address of /healthz, /readyz, /status and /metrics: HOST:PORT, or off")
      ->capture_default_str();
  command->add_option("--http-token-file", out.http_token_file,
                      "bearer tokens, one a line: every HTTP request must carry one (required "
                      "when --http is not a loopback address)");
}

constexpr char kFooter[] = R"(
Configuration: --config FILE reads a TOML file with one key per long flag, named without
the dashes (data = "/var/lib/stationsync", hub-key = "@/etc/stationsync/hub.cert",
http = "127.0.0.1:7780", insecure = false), plus role = "station" or "hub" when the command
line names no role. A flag on the command line wins over the file. An unknown key or a bad
value is an error naming the key and its line (exit 2). Example: /etc/stationsync/station.toml.

Files: DATA/db (the replica), DATA/node.cert and DATA/node.cert_secret (this node's CURVE key
pair, made on first start), DATA/api.sock (the local API, for syncctl), DATA/feed.sock (the
change feed: a PUB socket announcing each commit as JSON; --feed), DATA/syncd.lock.

Signals: SIGTERM and SIGINT stop cleanly (exit 0). Under systemd (Type=notify) syncd sends
READY=1 once its store is open and its API and HTTP are bound, and WATCHDOG=1 from its loop
when WatchdogSec= is set.

Exit codes: 0 clean stop; 2 usage (bad flag or config file, a station's --hub without
--hub-key, an --http others can reach without --http-token-file); 3 data directory locked or
unreadable, an endpoint or --http port taken; 4 refused (--insecure or an API others can
reach, a key file others can read); 5 storage damaged or internal error.

Backups: syncctl backup DIR (see syncctl backup --help); restore by starting syncd with
--data on a copy of DIR.)";

// Options of a role: everything but the shared ones above.
void AddStation(CLI::App& app, SyncdCommand& out, CLI::App*& station) {
  station = app.add_subcommand("station", "run as a police station's server");
  NodeFlags& flags = out.flags;
  station->add_option("--unit", flags.unit, "this station's unit code")->required();
  station->add_option("--data", flags.data, "data directory")->required();
  station->add_option("--api", flags.api, "API endpoint (default ipc://DATA/api.sock)");
  station->add_option("--feed", flags.feed,
                      "change feed endpoint, local like the API (default ipc://DATA/feed.sock)");
  station->add_option("--hub", flags.hub,
                      "the hub's sync endpoint, e.g. tcp://hq:7700 (default: no hub)");
  station->add_option("--hub-key", flags.hub_key,
                      "the hub's public key: Z85 text, or @FILE naming its certificate");
}

void AddHub(CLI::App& app, NodeFlags& flags, CLI::App*& hub) {
  hub = app.add_subcommand("hub", "run as the headquarters hub");
  hub->add_option("--data", flags.data, "data directory")->required();
  hub->add_option("--listen", flags.listen, "endpoint stations connect to, e.g. tcp://*:7700")
      ->required();
  hub->add_option("--api", flags.api, "API endpoint (default ipc://DATA/api.sock)");
  hub->add_option("--feed", flags.feed,
                  "change feed endpoint, local like the API (default ipc://DATA/feed.sock)");
  hub->add_option("--unit", flags.unit, "owner of records created at the hub without one")
      ->capture_default_str();
}

}  // namespace

std::variant<SyncdCommand, int> ParseSyncdCommandLine(int argc, const char* const* argv) {
  CLI::App app{"syncd: the StationSync daemon, one per police station and one at the hub"};
  app.footer(kFooter);
  app.set_version_flag("--version", std::string(Version()));
  app.require_subcommand(1);
  // Global flags may also follow the role: syncd hub --config FILE --log-format json.
  app.fallthrough();
  // A flag given twice takes the last value, so a wrapper's defaults can be overridden.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  SyncdCommand station;
  SyncdCommand hub;
  hub.flags.unit = "hub";
  std::string log_level = "info";
  std::string log_format = "text";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error (default info)")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  app.add_option("--log-format", log_format,
                 "text, or json: one JSON object a line with time, level, unit, event and fields "
                 "(default text)")
      ->check(CLI::IsMember({"text", "json"}));
  app.set_config("--config", "", "a TOML file with one key per long flag (flags win over it)");
  ConfigLines config_lines;
  app.config_formatter(std::make_shared<TomlFlagsConfig>(&app, &config_lines));
  // Unknown keys are found by TomlFlagsConfig, which names their line.
  app.allow_config_extras(CLI::config_extras_mode::error);

  CLI::App* station_cmd = nullptr;
  AddStation(app, station, station_cmd);
  AddSecurityFlags(station_cmd, station.flags);
  AddHttpFlags(station_cmd, station, kHttpDefaultStation);
  CLI::App* hub_cmd = nullptr;
  AddHub(app, hub.flags, hub_cmd);
  AddSecurityFlags(hub_cmd, hub.flags);
  AddHttpFlags(hub_cmd, hub, kHttpDefaultHub);
  // A config file may name the role (role = "hub"): TomlFlagsConfig enters it.
  station_cmd->configurable();
  hub_cmd->configurable();

  const auto config_file = [&app] {
    const CLI::Option* config = app.get_config_ptr();
    return config->empty() ? std::string() : config->as<std::string>();
  };
  try {
    app.parse(argc, argv);
  } catch (const CLI::ConfigError& e) {
    std::fprintf(stderr, "syncd: --config %s: %s\n", config_file().c_str(), e.what());
    return 2;
  } catch (const CLI::ParseError& e) {
    // A value CLI11's checks refused (log-format = "xml"): name the file's line if it came from
    // there.
    const std::string where = e.get_exit_code() == 0 ? "" : ConfigLineOf(config_lines, e.what());
    if (!where.empty()) {
      std::fprintf(stderr, "syncd: --config %s: %s%s\n", config_file().c_str(), where.c_str(),
                   e.what());
      return 2;
    }
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  SyncdCommand command = hub_cmd->parsed() ? std::move(hub) : std::move(station);
  command.role = hub_cmd->parsed() ? SyncdRole::kHub : SyncdRole::kStation;
  command.log_level = log_level;
  command.log_format = log_format;
  command.config_file = config_file();
  command.config_lines = std::move(config_lines);
  return command;
}

namespace {

// ResolveSyncdCommand's checks; each message names its flag first (ConfigLineOf).
Status CheckFlags(SyncdCommand& command) {
  auto http = MakeHttpConfig(command.http_address, command.http_token_file);
  if (!http.ok()) return http.status();
  command.flags.http = std::move(http).value();
  NodeFlags& flags = command.flags;
  if (!IsCode(flags.unit)) {
    return Invalid(fmt::format(
        "--unit '{}' is not a unit code (1 to 40 letters, digits, '-' or '_')", flags.unit));
  }
  if (command.role == SyncdRole::kStation && !flags.hub.empty() && flags.hub_key.empty() &&
      !flags.insecure) {
    return Invalid(
        "--hub needs the hub's public key: pass --hub-key KEY (Z85 text, or @FILE naming the "
        "hub's public certificate, DATA/node.cert at the hub), or --insecure for a plaintext "
        "test link");
  }
  return Status::Ok();
}

}  // namespace

Status ResolveSyncdCommand(SyncdCommand& command) {
  Status status = CheckFlags(command);
  if (status.ok()) return status;
  const std::string where = ConfigLineOf(command.config_lines, status.message());
  if (where.empty()) return status;
  return {status.code(),
          fmt::format("--config {}: {}{}", command.config_file, where, status.message())};
}

}  // namespace stationsync
