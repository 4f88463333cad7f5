// syncd's command line: the flags (CLI11) and the --config file (config_file.h) into a
// SyncdCommand, then checked (ResolveSyncdCommand). main.cc runs the result; tests compare what
// a config file and the same flags resolve to.
//
// Precedence: a flag on the command line, else the config file's key, else the default.
#pragma once

#include <string>
#include <variant>

#include "daemon/config_file.h"
#include "daemon/node_flags.h"
#include "sync/base/status.h"

namespace stationsync {

enum class SyncdRole { kStation, kHub };

struct SyncdCommand {
  SyncdRole role = SyncdRole::kStation;
  NodeFlags flags;                  // flags.http is filled by ResolveSyncdCommand
  std::string http_address;         // --http as given (HOST:PORT or off)
  std::string http_token_file;      // --http-token-file as given ("" : none)
  std::string log_level = "info";   // --log-level: trace, debug, info, warn, error
  std::string log_format = "text";  // --log-format: text or json (daemon/json_log.h)
  std::string config_file;          // --config as given ("" : none)
  ConfigLines config_lines;         // the keys whose value the file gave, with their line
};

// Parses the command line and the config file it names. Returns the command, or the exit code
// main should return at once: 0 after --help (printed on stdout), 2 after a usage error (printed
// on stderr, naming the flag; when the value came from the config file, also its key and line).
std::variant<SyncdCommand, int> ParseSyncdCommandLine(int argc, const char* const* argv);

// Checks what parsing alone cannot and fills command.flags.http: kInvalid naming the flag for a
// bad --http or token file, a --unit that is not a unit code, a station's --hub without
// --hub-key or --insecure. When the value came from the config file, the message starts with
// "--config FILE: line N: key 'K': ".
Status ResolveSyncdCommand(SyncdCommand& command);

}  // namespace stationsync
