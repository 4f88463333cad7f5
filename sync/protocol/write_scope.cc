#include "sync/protocol/write_scope.h"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace stationsync {
namespace {

Status CheckOp(const Replica& replica, const std::vector<std::string>& scope, const WriteOp& op) {
  if (op.patch.table == Table::kUnit) {
    return CheckStationScope(Table::kUnit, op.patch.id, "", scope);
  }
  auto current = replica.Get(op.patch.table, op.patch.id);
  // An unreadable id or store: the replica refuses the write itself, with the reason.
  if (!current.ok()) return Status::Ok();
  if (*current) {
    SS_RETURN_IF_ERROR(CheckStationScope(op.patch.table, op.patch.id, (*current)->owner, scope));
  }
  if (op.remove) return Status::Ok();
  if (*current && !op.patch.owner.empty() && op.patch.owner != (*current)->owner) {
    return Refused(fmt::format("{} {}: owner {} -> {} is a transfer; transfers are made at the hub",
                               TableName(op.patch.table), op.patch.id, (*current)->owner,
                               op.patch.owner));
  }
  const std::string_view owner = !op.patch.owner.empty() ? std::string_view(op.patch.owner)
                                 : *current              ? std::string_view((*current)->owner)
                                                         : std::string_view(replica.unit());
  return CheckStationScope(op.patch.table, op.patch.id, owner, scope);
}

}  // namespace

Status CheckStationScope(Table table, std::string_view id, std::string_view owner,
                         const std::vector<std::string>& scope) {
  if (table == Table::kUnit) {
    return Refused(fmt::format("unit {}: units are written at the hub", id));
  }
  if (std::find(scope.begin(), scope.end(), owner) == scope.end()) {
    return Refused(fmt::format("{} {}: out of scope: owner {}, this station holds {}",
                               TableName(table), id, owner, fmt::join(scope, ", ")));
  }
  return Status::Ok();
}

Status CheckStationWrite(const Replica& replica, const WriteRequest& write, size_t* failed_op) {
  std::vector<std::string> scope = replica.Scope();
  if (scope.empty()) scope.push_back(replica.unit());  // a station always holds its own unit
  for (size_t i = 0; i < write.ops.size(); ++i) {
    if (Status status = CheckOp(replica, scope, write.ops[i]); !status.ok()) {
      if (failed_op != nullptr) *failed_op = i;
      return status;
    }
  }
  return Status::Ok();
}

}  // namespace stationsync
