#include "sync/write_scope.h"

#include <fmt/format.h>

namespace stationsync {
namespace {

Status CheckOp(const Replica& replica, const WriteOp& op) {
  const std::string_view unit = replica.unit();
  if (op.patch.table == Table::kUnit) return CheckStationScope(Table::kUnit, op.patch.id, "", unit);
  auto current = replica.Get(op.patch.table, op.patch.id);
  // An unreadable id or store: the replica refuses the write itself, with the reason.
  if (!current.ok()) return Status::Ok();
  if (*current) {
    SS_RETURN_IF_ERROR(CheckStationScope(op.patch.table, op.patch.id, (*current)->owner, unit));
  }
  if (op.remove) return Status::Ok();
  const std::string_view owner = !op.patch.owner.empty() ? std::string_view(op.patch.owner)
                                 : *current              ? std::string_view((*current)->owner)
                                                         : unit;
  return CheckStationScope(op.patch.table, op.patch.id, owner, unit);
}

}  // namespace

Status CheckStationScope(Table table, std::string_view id, std::string_view owner,
                         std::string_view station_unit) {
  if (table == Table::kUnit) {
    return Refused(fmt::format("unit {}: units are written at the hub", id));
  }
  if (owner != station_unit) {
    return Refused(fmt::format("{} {}: out of scope: owner {}, this station holds {}",
                               TableName(table), id, owner, station_unit));
  }
  return Status::Ok();
}

Status CheckStationWrite(const Replica& replica, const WriteRequest& write, size_t* failed_op) {
  for (size_t i = 0; i < write.ops.size(); ++i) {
    if (Status status = CheckOp(replica, write.ops[i]); !status.ok()) {
      if (failed_op != nullptr) *failed_op = i;
      return status;
    }
  }
  return Status::Ok();
}

}  // namespace stationsync
