// syncd --config FILE: a TOML file with one key per long flag, read with toml++ and handed to
// CLI11 as config items, so that the file's values go through the same conversions and checks
// as the flags, and a flag given on the command line wins over the file (CLI11 fills only
// options the command line left empty).
//
// Grammar of the file (TOML, flat: no tables):
//   role = "station" | "hub"       which subcommand, when the command line names none
//   <flag> = <value>               <flag> a long flag of syncd or of that subcommand, without
//                                  "--" (data, unit, hub-key, http, log-format, ...); <value> a
//                                  string, integer, boolean (flags such as insecure) or an array
//                                  of them (one value each)
// Errors name the line: a key that is no flag of the chosen role (e.g. listen at a station), a
// table, a nested array, `config` itself, a role that contradicts the command line, and TOML
// syntax errors. They are thrown as CLI::ConfigError, which syncd turns into its usage exit code.
// A bad value (http = 12, a port out of range, log-format = "xml") is found later, by CLI11's
// checks or ResolveSyncdCommand, which name the flag; the ConfigLines this class fills let
// command_line.cc add the file's line to those messages (ConfigLineOf).
//
// Thread: parsing only, on main's thread before anything runs.
#pragma once

#include <cstdint>
#include <istream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

namespace stationsync {

inline constexpr char kConfigRoleKey[] = "role";

// The keys whose value the file gives (those the command line left empty: a flag wins over the
// file), each with its line (1-based): "http" -> 4.
using ConfigLines = std::map<std::string, int64_t, std::less<>>;

class TomlFlagsConfig final : public CLI::Config {
 public:
  // `app` is borrowed and must outlive this object: its options (and its subcommands' options)
  // are the keys a file may hold. Its subcommands are the roles. `lines` (borrowed, may be null)
  // receives where each value the file gives was written; CLI11 calls from_config after it has
  // read the command line, so a key the command line gave is left out.
  TomlFlagsConfig(CLI::App* app, ConfigLines* lines) : app_(app), lines_(lines) {}

  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override;
  // Writing a config back is not offered (the example file is written by hand).
  std::string to_config(const CLI::App*, bool, bool, std::string) const override { return {}; }

 private:
  CLI::App* app_;
  ConfigLines* lines_;
};

// "line N: key 'K': " when the first flag `message` names (--K, as every error of CLI11's checks
// and of ResolveSyncdCommand does: "--http 12: expected HOST:PORT", "Could not convert:
// --max-clock-ahead = x") took its value from the file at line N; "" otherwise.
std::string ConfigLineOf(const ConfigLines& lines, std::string_view message);

}  // namespace stationsync
