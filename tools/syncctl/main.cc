// syncctl: the command line of applications, operators and admins. Flag parsing only; each
// command lives in commands.cc or its own file. Exit codes: status.h (0 ok, 1 negative answer,
// 2 usage or invalid input, 3 daemon unreachable, 4 refused, 5 storage or internal error).
#include <cstdlib>

#include <CLI/CLI.hpp>

#include "tools/syncctl/commands.h"
#include "tools/syncctl/import_command.h"

namespace {

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : value;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace stationsync;
  CLI::App app{"syncctl: talk to a StationSync daemon"};
  app.require_subcommand(1);
  app.fallthrough();  // global flags may also follow the command: syncctl status --json
  GlobalFlags flags;
  flags.api = Env("SYNCD_API");
  flags.actor = Env("SYNCD_ACTOR");
  // A flag given twice takes the last value, so scripts can override a default they were given.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_option("--api", flags.api, "daemon API endpoint (default: $SYNCD_API)");
  app.add_option("--actor", flags.actor,
                 "who is writing: police number or app (default: $SYNCD_ACTOR)");
  app.add_flag("--json", flags.json, "machine-readable output");
  app.add_option("--timeout", flags.timeout_s, "seconds to wait for the daemon (default 10)")
      ->check(CLI::PositiveNumber);

  std::string table, id, fields, owner, household, file;
  size_t limit = 0;
  bool skip_invalid = false;
  int code = 0;

  auto* ping = app.add_subcommand("ping", "check that the daemon answers");
  ping->callback([&] { code = CmdPing(flags); });

  auto* put = app.add_subcommand("put", "create or update a record (given fields only)");
  put->add_option("TABLE", table)->required();
  put->add_option("ID", id)->required();
  put->add_option("FIELDS_JSON", fields, "a JSON object of fields, or - for stdin")->required();
  put->add_option("--owner", owner, "owning unit (default: the current owner or the station)");
  put->callback([&] { code = CmdPut(flags, table, id, fields, owner); });

  auto* get = app.add_subcommand("get", "print a record (exit 1 if there is none)");
  get->add_option("TABLE", table)->required();
  get->add_option("ID", id)->required();
  get->callback([&] { code = CmdGet(flags, table, id); });

  auto* del = app.add_subcommand("del", "delete a record (history keeps it)");
  del->add_option("TABLE", table)->required();
  del->add_option("ID", id)->required();
  del->callback([&] { code = CmdDelete(flags, table, id); });

  auto* list = app.add_subcommand("list", "print records as JSON lines");
  list->add_option("TABLE", table)->required();
  list->add_option("--owner", owner, "only records of this unit");
  list->add_option("--household", household, "only members of this household");
  list->add_option("--limit", limit, "at most this many records");
  list->callback([&] { code = CmdList(flags, table, owner, household, limit); });

  auto* history = app.add_subcommand("history", "print a record's history, oldest first");
  history->add_option("TABLE", table)->required();
  history->add_option("ID", id)->required();
  history->callback([&] { code = CmdHistory(flags, table, id); });

  auto* import = app.add_subcommand("import", "import JSON lines of records (all or nothing)");
  import->add_option("FILE", file, "a file, or - for stdin")->required();
  import->add_flag("--skip-invalid", skip_invalid, "import the valid lines, report the others");
  import->callback([&] { code = CmdImport(flags, file, skip_invalid);
});

auto* exp = app.add_subcommand("export", "print every record (of a table) as JSON lines");
exp->add_option("TABLE", table);
exp->callback([&] { code = CmdExport(flags, table); });

auto* status = app.add_subcommand("status", "show the daemon's state");
status->callback([&] { code = CmdStatus(flags); });

try {
  app.parse(argc, argv);
} catch (const CLI::ParseError& e) {
  const int exit = app.exit(e);
  return exit == 0 ? 0 : 2;
}
return code;
}
