// syncctl: the command line of applications, operators and admins. Flag parsing only; each
// command lives in commands.cc or its own file. Exit codes: status.h (0 ok, 1 negative answer,
// 2 usage or invalid input, 3 daemon unreachable, 4 refused, 5 storage or internal error).
#include <cstdlib>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "sync/base/version.h"
#include "tools/syncctl/backup_command.h"
#include "tools/syncctl/check_command.h"
#include "tools/syncctl/commands.h"
#include "tools/syncctl/conflict_commands.h"
#include "tools/syncctl/digest_command.h"
#include "tools/syncctl/import_command.h"
#include "tools/syncctl/keygen_command.h"
#include "tools/syncctl/person_commands.h"
#include "tools/syncctl/regroup_commands.h"
#include "tools/syncctl/status_commands.h"
#include "tools/syncctl/unit_commands.h"
#include "tools/syncctl/verify_command.h"

namespace {

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : value;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace stationsync;
  CLI::App app{"syncctl: talk to a StationSync daemon"};
  app.set_version_flag("--version", std::string(Version()));
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
  auto* global_timeout =
      app.add_option("--timeout", flags.timeout_s, "seconds to wait for the daemon (default 10)")
          ->check(CLI::PositiveNumber);

  std::string table, id, fields, owner, household, file;
  size_t limit = 0;
  bool skip_invalid = false, remote = false;
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
  get->add_flag("--remote", remote, "the hub's copy: a station asks the hub (read only)");
  get->callback([&] { code = CmdGet(flags, table, id, remote); });

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

  auto* import_cmd = app.add_subcommand("import", "import JSON lines of records (all or nothing)");
  import_cmd->add_option("FILE", file, "a file, or - for stdin")->required();
  import_cmd->add_flag("--skip-invalid", skip_invalid, "import the valid lines, report the others");
  import_cmd->callback([&] { code = CmdImport(flags, file, skip_invalid); });

  auto* exp = app.add_subcommand("export", "print every record (of a table) as JSON lines");
  exp->add_option("TABLE", table);
  exp->callback([&] { code = CmdExport(flags, table); });

  auto* status = app.add_subcommand("status", "show the daemon's state and its sync links");
  status->callback([&] { code = CmdStatus(flags); });

  // Its --timeout is the whole wait; a --timeout given before the command means the same.
  double wait_s = kWaitSyncedDefaultSeconds;
  auto* wait =
      app.add_subcommand("wait-synced", "wait until nothing is pending (exit 1 at timeout)");
  auto* wait_timeout = wait->add_option("--timeout", wait_s, "seconds to wait in all (default 60)")
                           ->check(CLI::PositiveNumber);
  wait->callback([&] {
    const double seconds = wait_timeout->count() > 0     ? wait_s
                           : global_timeout->count() > 0 ? flags.timeout_s
                                                         : kWaitSyncedDefaultSeconds;
    code = CmdWaitSynced(flags, seconds);
  });

  double backup_wait_s = kBackupTimeoutSecondsDefault;
  auto* backup = app.add_subcommand(
      "backup",
      "copy the live store and the node's key pair into DIR (new or empty) while the daemon "
      "serves; prints {path, files, bytes, log_position, key_pair} as JSON. Restore: copy DIR to "
      "a data directory and start syncd on it. Exit 4: DIR is not empty");
  backup->add_option("DIR", file, "the backup directory (the daemon writes it)")->required();
  auto* backup_timeout =
      backup->add_option("--timeout", backup_wait_s, "seconds to wait for the copy (default 600)")
          ->check(CLI::PositiveNumber);
  backup->callback([&] {
    const double seconds = backup_timeout->count() > 0   ? backup_wait_s
                           : global_timeout->count() > 0 ? flags.timeout_s
                                                         : kBackupTimeoutSecondsDefault;
    code = CmdBackup(flags, file, seconds);
  });

  VerifyRequest verify_request;
  bool verify_json = false;
  double verify_wait_s = kVerifyTimeoutSecondsDefault;
  auto* verify = app.add_subcommand(
      "verify",
      "at a station: compare the replica with the hub's view of its scope over the sync link, "
      "descending a hash tree only where they differ; one line per record that differs, then a "
      "JSON summary {records, differences, bytes_exchanged, ms}. Writes in flight are not "
      "differences. At the hub: --station CODE. Exit 0 equal, 1 differences, 3 not linked");
  verify->add_flag("--deep", verify_request.deep,
                   "recompute the station's hashes from its stored records instead of trusting "
                   "the ones it keeps (finds damage made behind the daemon's back)");
  verify->add_flag("--repair", verify_request.repair,
                   "make the differing records equal to the hub's (durably, with history), then "
                   "verify again; exit 0 when equal afterwards");
  verify->add_flag("--json", verify_json, "differences as JSON lines");
  verify->add_option("--station", verify_request.station,
                     "at the hub: ask this station unit to verify (and --repair) and wait for its "
                     "report; the result is kept in its status (last_verify)");
  auto* verify_timeout =
      verify->add_option("--timeout", verify_wait_s, "seconds to wait (default 600)")
          ->check(CLI::PositiveNumber);
  verify->callback([&] {
    const double seconds = verify_timeout->count() > 0   ? verify_wait_s
                           : global_timeout->count() > 0 ? flags.timeout_s
                                                         : kVerifyTimeoutSecondsDefault;
    code = CmdVerify(flags, verify_request, verify_json, seconds);
  });

  auto* unit = app.add_subcommand("unit", "the unit registry (written at the hub)");
  unit->require_subcommand(1);
  auto* unit_put = unit->add_subcommand("put", "create or update a unit (given fields only)");
  unit_put->add_option("CODE", id)->required();
  unit_put->add_option("FIELDS_JSON", fields, "a JSON object of fields, or - for stdin")
      ->required();
  unit_put->callback([&] { code = CmdUnitPut(flags, id, fields); });
  auto* unit_list = unit->add_subcommand("list", "a table of units (JSON lines with --json)");
  unit_list->callback([&] { code = CmdUnitList(flags); });
  std::string key;
  auto* enroll = unit->add_subcommand(
      "enroll", "admit a station's CURVE public key at the hub (replaces an earlier key)");
  enroll->add_option("CODE", id)->required();
  enroll->add_option("PUBLIC_KEY", key, "Z85 text, or @FILE naming a certificate file")->required();
  enroll->callback([&] { code = CmdUnitEnroll(flags, id, key); });
  auto* revoke = unit->add_subcommand("revoke", "remove a station's key; its live link is dropped");
  revoke->add_option("CODE", id)->required();
  revoke->callback([&] { code = CmdUnitRevoke(flags, id); });

  std::string key_out;
  auto* keygen = app.add_subcommand(
      "keygen", "make a CURVE key pair: PATH (public) and PATH_secret; prints the public key");
  keygen->add_option("--out", key_out, "where to write the certificate files")->required();
  keygen->callback([&] { code = CmdKeygen(flags, key_out); });

  std::string into, as, to, scope;
  std::vector<std::string> members;
  auto* merge = app.add_subcommand("merge", "merge units into one group (at the hub)");
  merge->add_option("--into", into, "the unit they join")->required();
  merge->add_option("MEMBER", members, "the units merged")->required();
  merge->add_option("--as", as, "suboffice: the members become sub-offices")
      ->check(CLI::IsMember({"suboffice"}));
  merge->callback([&] { code = CmdMerge(flags, into, members, as); });

  auto* unmerge = app.add_subcommand("unmerge", "undo a unit's merge (at the hub)");
  unmerge->add_option("CODE", id)->required();
  unmerge->callback([&] { code = CmdUnmerge(flags, id); });

  auto* transfer = app.add_subcommand("transfer", "hand a record over to a unit (at the hub)");
  transfer->add_option("TABLE", table)->required();
  transfer->add_option("ID", id)->required();
  transfer->add_option("--to", to, "the new owner")->required();
  transfer->callback([&] { code = CmdTransfer(flags, table, id, to); });

  std::string keep_id;
  bool dry_run = false;
  auto* person = app.add_subcommand("person", "duplicate persons (at the hub)");
  person->require_subcommand(1);
  auto* person_merge = person->add_subcommand(
      "merge",
      "make one person of two registrations: KEEP's empty fields filled from DUPLICATE's, every "
      "reference to DUPLICATE (case involved, personnel id_number) rewritten to KEEP, DUPLICATE a "
      "tombstone that reads and writes are redirected from; one atomic write with history");
  person_merge->add_option("KEEP", keep_id, "the citizen id number that stays")->required();
  person_merge->add_option("DUPLICATE", id, "the citizen id number merged into KEEP")->required();
  person_merge->add_flag("--dry-run", dry_run, "print what would change, write nothing");
  person_merge->callback([&] { code = CmdPersonMerge(flags, keep_id, id, dry_run); });
  auto* person_unmerge = person->add_subcommand(
      "unmerge",
      "undo the merge of DUPLICATE: it is live again, KEEP's fields the merge filled are cleared "
      "and the references it rewrote point at DUPLICATE again (unless changed since)");
  person_unmerge->add_option("DUPLICATE", id, "the citizen id number merged away")->required();
  person_unmerge->add_flag("--dry-run", dry_run, "print what would change, write nothing");
  person_unmerge->callback([&] { code = CmdPersonUnmerge(flags, id, dry_run); });

  auto* digest = app.add_subcommand("digest", "the digest of a scope's records");
  digest->add_option("--scope", scope, "a unit: its group (required at the hub)");
  digest->callback([&] { code = CmdDigest(flags, scope); });

  std::string take, value;
  std::string scratch = Env("TMPDIR").empty() ? "/tmp" : Env("TMPDIR");
  auto* check = app.add_subcommand(
      "check",
      "find data problems across records: duplicate persons, households without or with "
      "several heads, dangling references, unknown owners (exit 1 if any)");
  check->add_option("--scope", scope, "a unit: report only problems of its group (default: all)");
  check->add_option("--scratch", scratch,
                    "directory for the check's temporary index (default: $TMPDIR or /tmp)");
  check->callback([&] { code = CmdCheck(flags, scope, scratch); });

  auto* conflicts = app.add_subcommand("conflicts", "list open conflicts; or resolve one");
  auto* resolve = conflicts->add_subcommand("resolve", "write a conflict's chosen value");
  resolve->add_option("ID", id, "the conflict's id, as `conflicts` prints it")->required();
  resolve->add_option("--take", take, "kept or lost: the value to keep");
  resolve->add_option("--value", value, "or another value, as JSON");
  resolve->callback([&] { code = CmdResolveConflict(flags, id, take, value); });
  conflicts->callback([&] {
    if (!resolve->parsed()) code = CmdConflicts(flags);
  });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int exit = app.exit(e);
    return exit == 0 ? 0 : 2;
  }
  return code;
}
