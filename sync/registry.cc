// See registry.h.
#include "sync/registry.h"

#include <fmt/format.h>

namespace stationsync {

bool IsStationUnit(const Record& unit) {
  if (unit.table != Table::kUnit || unit.deleted) return false;
  const std::string* kind = unit.Text("kind");
  const std::string* status = unit.Text("status");
  const bool runs_station = kind && (*kind == "station" || *kind == "suboffice");
  return runs_station && !(status && *status == "retired");
}

Result<std::vector<std::string>> StationUnits(const Replica& replica) {
  std::vector<std::string> codes;
  ListQuery query;
  query.table = Table::kUnit;
  do {
    auto page = replica.List(query);
    if (!page.ok()) return page.status();
    for (const Record& unit : page->records) {
      if (IsStationUnit(unit)) codes.push_back(unit.id);
    }
    query.after = page->next;
  } while (!query.after.empty());
  return codes;
}

Status CheckStationUnit(const Replica& replica, const std::string& code) {
  auto unit = replica.Get(Table::kUnit, code);
  if (!unit.ok()) return unit.status();
  if (!*unit || (*unit)->deleted) {
    return Refused(
        fmt::format("unit {} is not in the hub's registry (syncctl unit put {} ...)", code, code));
  }
  if (!IsStationUnit(**unit)) {
    const std::string* kind = (*unit)->Text("kind");
    const std::string* status = (*unit)->Text("status");
    return Refused(fmt::format("unit {} does not run a station (kind {}, status {})", code,
                               kind ? *kind : "none", status ? *status : "none"));
  }
  return Status::Ok();
}

}  // namespace stationsync
