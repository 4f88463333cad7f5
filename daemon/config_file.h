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
//
// Thread: parsing only, on main's thread before anything runs.
#pragma once

#include <istream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace stationsync {

inline constexpr char kConfigRoleKey[] = "role";

class TomlFlagsConfig final : public CLI::Config {
 public:
  // `app` is borrowed and must outlive this object: its options (and its subcommands' options)
  // are the keys a file may hold. Its subcommands are the roles.
  explicit TomlFlagsConfig(CLI::App* app) : app_(app) {}

  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override;
  // Writing a config back is not offered (the example file is written by hand).
  std::string to_config(const CLI::App*, bool, bool, std::string) const override { return {}; }

 private:
  CLI::App* app_;
};

}  // namespace stationsync
