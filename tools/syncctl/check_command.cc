// See check_command.h.
#include "tools/syncctl/check_command.h"

#include <algorithm>
#include <chrono>
#include <iostream>
#include <map>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "sync/admin/domain_check.h"
#include "sync/admin/sorted_scratch.h"
#include "sync/protocol/registry.h"
#include "tools/syncctl/progress.h"

namespace stationsync {
namespace {

// The tables in the order they are read: units first (every other record is judged against them).
constexpr Table kReadOrder[] = {Table::kPersonnel, Table::kRegistration, Table::kCase};

nlohmann::ordered_json ProblemToJson(const DomainProblem& problem) {
  nlohmann::ordered_json records = nlohmann::ordered_json::array();
  for (const RecordRef& ref : problem.records) {
    records.push_back({{"table", TableName(ref.table)}, {"id", ref.id}});
  }
  return {{"kind", problem.kind}, {"records", records}, {"detail", problem.detail}};
}

void PrintProblem(const GlobalFlags& flags, const DomainProblem& problem) {
  if (flags.json) {
    PrintLine(ProblemToJson(problem));
  } else {
    std::cout << fmt::format("{}: {}\n", problem.kind, problem.detail);
  }
}

// The owners of --scope's group: from the registry at the hub; at a station, which holds no
// registry, its own scope when --scope names one of its units.
Result<std::set<std::string>> ScopeOwners(const NodeStatus& status,
                                          const std::vector<Record>& units,
                                          const std::string& scope) {
  if (scope.empty()) return std::set<std::string>{};
  if (status.role != "hub") {
    const auto& held = status.scope;
    if (std::find(held.begin(), held.end(), scope) == held.end()) {
      return Invalid(fmt::format("--scope {}: not a unit of this station's scope ({})", scope,
                                 fmt::join(held, " ")));
    }
    return std::set<std::string>(held.begin(), held.end());
  }
  const auto groups = GroupsOf(units);
  const auto it = groups.find(scope);
  if (it == groups.end()) return Invalid(fmt::format("--scope {}: no such unit", scope));
  return std::set<std::string>(it->second.begin(), it->second.end());
}

void PrintSummary(const GlobalFlags& flags, size_t records,
                  const std::map<std::string, size_t>& by_kind, bool at_station, int64_t ms) {
  size_t problems = 0;
  nlohmann::ordered_json kinds = nlohmann::ordered_json::object();
  for (std::string_view kind : kDomainProblemKinds) {
    const auto it = by_kind.find(std::string(kind));
    const size_t n = it == by_kind.end() ? 0 : it->second;
    kinds[std::string(kind)] = n;
    problems += n;
  }
  nlohmann::ordered_json skipped = nlohmann::ordered_json::array();
  if (at_station) {
    skipped.push_back(kDanglingLeadOfficer);
    skipped.push_back(kDanglingInvolved);
    skipped.push_back(kUnknownOwner);
  }
  if (flags.json) {
    PrintLine({{"records", records},
               {"problems", problems},
               {"by_kind", kinds},
               {"skipped", skipped},
               {"ms", ms}});
    return;
  }
  std::cout << fmt::format("checked {} records in {} ms: {} problems\n", records, ms, problems);
  for (const auto& [kind, n] : kinds.items()) {
    if (n.get<size_t>() > 0) std::cout << fmt::format("  {:<26} {}\n", kind, n.get<size_t>());
  }
  if (at_station) {
    std::cout << "  (dangling references and unknown owners are checked at the hub: a station "
                 "holds only its scope and no registry)\n";
  }
}

}  // namespace

int CmdCheck(const GlobalFlags& flags, const std::string& scope, const std::string& scratch_dir) {
  const auto start = std::chrono::steady_clock::now();
  auto client = MakeClient(flags);
  if (!client) return 2;
  auto status = client->GetStatus();
  if (!status.ok()) return Report(status.status());
  std::vector<Record> units;
  ListQuery unit_query;
  unit_query.table = Table::kUnit;
  const int read = ForEachRecord(*client, unit_query, 0,
                                 [&units](const Record& unit) { units.push_back(unit); });
  if (read != 0) return read;
  auto owners = ScopeOwners(*status, units, scope);
  if (!owners.ok()) return Report(owners.status());
  auto scratch = SortedScratch::Create(scratch_dir);
  if (!scratch.ok()) return Report(scratch.status());

  const bool at_hub = status->role == "hub";
  std::map<std::string, size_t> by_kind;
  DomainCheck check(**scratch, units, DomainCheckOptions{*std::move(owners), at_hub, at_hub},
                    [&](const DomainProblem& problem) {
                      ++by_kind[problem.kind];
                      PrintProblem(flags, problem);
                    });
  Status failed = Status::Ok();  // the first failure; later records are not checked
  auto keep_first = [&failed](Status s) {
    if (failed.ok() && !s.ok()) failed = std::move(s);
  };
  for (const Record& unit : units) keep_first(check.Add(unit));
  ProgressBar progress("check", status->records);
  for (Table table : kReadOrder) {
    ListQuery query;
    query.table = table;
    const int code = ForEachRecord(*client, query, 0, [&](const Record& record) {
      if (failed.ok()) keep_first(check.Add(record));
      progress.Update(check.records());
    });
    if (code != 0) return code;
  }
  progress.Finish();
  if (failed.ok()) keep_first(check.Finish());
  if (!failed.ok()) return Report(failed);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  PrintSummary(flags, check.records(), by_kind, !at_hub, ms);
  size_t found = 0;
  for (const auto& [kind, n] : by_kind) found += n;
  return found > 0 ? 1 : 0;
}

}  // namespace stationsync
