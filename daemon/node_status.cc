// See node_status.h.
#include "daemon/node_status.h"

namespace stationsync {

Result<NodeStatus> MakeNodeStatus(const Replica& replica, const std::string& role,
                                  std::optional<SyncStatus> sync) {
  auto conflicts = replica.OpenConflicts();  // a full scan; conflicts are few
  if (!conflicts.ok()) return conflicts.status();
  NodeStatus status;
  status.role = role;
  status.unit = replica.unit();
  status.node = replica.node();
  status.records = replica.record_count();
  status.last_seq = replica.last_seq();
  status.conflicts_open = conflicts->size();
  if (role != "hub") {
    status.scope = replica.Scope();
    if (status.scope.empty()) status.scope.push_back(replica.unit());
  }
  if (!sync) {
    status.pending_up = replica.last_seq();  // no hub link: every local change is pending
    return status;
  }
  status.hub_connected = sync->hub_connected;
  status.lag_records = sync->lag_records;
  status.pending_up = sync->pending_up;
  status.stations = std::move(sync->stations);
  status.public_key = std::move(sync->public_key);
  status.hub_refusal = std::move(sync->hub_refusal);
  status.clock_ahead_ms = sync->clock_ahead_ms;
  status.refused_unknown_key_total = sync->refused_unknown_key_total;
  status.refused_handshake_total = sync->refused_handshake_total;
  status.last_handshake_refusal = std::move(sync->last_handshake_refusal);
  return status;
}

}  // namespace stationsync
