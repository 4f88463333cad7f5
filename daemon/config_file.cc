// See config_file.h.
#include "daemon/config_file.h"

#include <cctype>

#include <fmt/format.h>
#include <toml++/toml.h>

namespace stationsync {
namespace {

[[noreturn]] void Fail(const toml::source_region& where, const std::string& what) {
  throw CLI::ConfigError(fmt::format("line {}: {}", where.begin.line, what));
}

// A scalar as CLI11 takes it from a command line.
std::string ScalarText(const toml::node& node, const std::string& key) {
  if (const auto* text = node.as_string()) return text->get();
  if (const auto* integer = node.as_integer()) return std::to_string(integer->get());
  if (const auto* boolean = node.as_boolean()) return boolean->get() ? "true" : "false";
  if (const auto* number = node.as_floating_point()) return fmt::format("{}", number->get());
  Fail(node.source(), fmt::format("key '{}': a value must be a string, a number, a boolean or an "
                                  "array of them",
                                  key));
}

std::vector<std::string> Inputs(const toml::node& node, const std::string& key) {
  std::vector<std::string> inputs;
  if (const auto* array = node.as_array()) {
    for (const toml::node& element : *array) inputs.push_back(ScalarText(element, key));
  } else {
    inputs.push_back(ScalarText(node, key));
  }
  return inputs;
}

// Notes where the file gives `key` its value. CLI11 fills only options the command line left
// empty (App::_parse_single_config), so a key the command line gave is not noted.
void Record(ConfigLines* lines, const CLI::Option& option, const std::string& key,
            const toml::source_region& where) {
  if (lines != nullptr && option.empty()) {
    (*lines)[key] = static_cast<int64_t>(where.begin.line);
  }
}

// The subcommand called `name`, or nullptr.
CLI::App* RoleNamed(CLI::App& app, const std::string& name) {
  const std::vector<CLI::App*> found =
      app.get_subcommands([&name](CLI::App* sub) { return sub->get_name() == name; });
  return found.empty() ? nullptr : found.front();
}

// The role the command line named, or nullptr.
CLI::App* RoleOnCommandLine(CLI::App& app) {
  const std::vector<CLI::App*> given = app.get_subcommands();
  return given.empty() ? nullptr : given.front();
}

}  // namespace

std::vector<CLI::ConfigItem> TomlFlagsConfig::from_config(std::istream& input) const {
  toml::table table;
  try {
    table = toml::parse(input);
  } catch (const toml::parse_error& e) {
    throw CLI::ConfigError(fmt::format("line {}, column {}: {}", e.source().begin.line,
                                       e.source().begin.column, e.description()));
  }
  CLI::App* role = RoleOnCommandLine(*app_);
  const bool role_from_file = role == nullptr;
  if (const toml::node* named = table.get(kConfigRoleKey)) {
    const std::string name = named->value_or(std::string());
    CLI::App* in_file = RoleNamed(*app_, name);
    if (name.empty() || in_file == nullptr) {
      Fail(named->source(), fmt::format("role must be one of \"station\", \"hub\""));
    }
    if (role != nullptr && role != in_file) {
      Fail(named->source(), fmt::format("role = \"{}\", but the command line runs syncd {}", name,
                                        role->get_name()));
    }
    role = in_file;
  }
  std::vector<CLI::ConfigItem> global;
  std::vector<CLI::ConfigItem> scoped;
  for (const auto& [key, node] : table) {
    const std::string name(key.str());
    if (name == kConfigRoleKey) continue;
    if (node.is_table() || node.is_array_of_tables()) {
      Fail(key.source(), fmt::format("'{}' is a table; the config file holds one key per flag, "
                                     "without [sections]",
                                     name));
    }
    const CLI::Option* option = app_->get_option_no_throw("--" + name);
    if (option != nullptr && option == app_->get_config_ptr()) {
      Fail(key.source(), "'config' cannot name another config file");
    }
    if (option != nullptr) {
      global.push_back({{}, name, Inputs(node, name)});
      Record(lines_, *option, name, key.source());
      continue;
    }
    if (role == nullptr) {
      Fail(key.source(), fmt::format("key '{}' needs a role: add role = \"station\" or \"hub\" to "
                                     "the file, or run syncd station|hub --config FILE",
                                     name));
    }
    const CLI::Option* scoped_option = role->get_option_no_throw("--" + name);
    if (scoped_option == nullptr) {
      Fail(key.source(), fmt::format("unknown key '{}': syncd {} has no --{} flag", name,
                                     role->get_name(), name));
    }
    scoped.push_back({{role->get_name()}, name, Inputs(node, name)});
    Record(lines_, *scoped_option, name, key.source());
  }
  std::vector<CLI::ConfigItem> out = std::move(global);
  // A role named only by the file is entered as if given on the command line ("++"), and its
  // requirements are checked when it is closed ("--").
  if (role != nullptr && role_from_file) out.push_back({{role->get_name()}, "++", {}});
  out.insert(out.end(), scoped.begin(), scoped.end());
  if (role != nullptr && role_from_file) out.push_back({{role->get_name()}, "--", {}});
  return out;
}

std::string ConfigLineOf(const ConfigLines& lines, std::string_view message) {
  const auto flag = message.find("--");
  if (flag == std::string_view::npos) return "";
  const auto begin = flag + 2;
  auto end = begin;
  while (end < message.size() && (std::isalnum(static_cast<unsigned char>(message[end])) != 0 ||
                                  message[end] == '-' || message[end] == '_')) {
    ++end;
  }
  const auto found = lines.find(message.substr(begin, end - begin));
  if (found == lines.end()) return "";
  return fmt::format("line {}: key '{}': ", found->second, found->first);
}

}  // namespace stationsync
