// See status_json.h.
#include "sync/codec/status_json.h"

namespace stationsync {

using nlohmann::ordered_json;

ordered_json StationLinkToJson(const StationLink& link, LinkFigures figures) {
  ordered_json out;
  out["unit"] = link.unit;
  out["connected"] = link.connected;
  out["last_seen_ms"] = link.last_seen_ms;
  out["lag_records"] = link.lag_records;
  out["pending_up"] = link.pending_up;
  out["up_total"] = link.up_total;
  out["down_total"] = link.down_total;
  out["rejected_total"] = link.rejected_total;
  out["never_seen"] = link.never_seen;
  out["scope"] = link.scope;
  out["key"] = link.key.empty() ? ordered_json(nullptr) : ordered_json(link.key);
  out["refused_total"] = link.refused_total;
  out["last_refusal"] = link.last_refusal;
  if (link.last_verify) {
    const LastVerify& v = *link.last_verify;
    out["last_verify"] = {{"at_ms", v.at_ms},
                          {"deep", v.deep},
                          {"repair", v.repair},
                          {"records", v.records},
                          {"differences", v.differences},
                          {"repaired", v.repaired},
                          {"remaining", v.remaining},
                          {"error", v.error}};
  } else {
    out["last_verify"] = nullptr;
  }
  if (figures == LinkFigures::kWithProgress) {
    out["lag_ms"] = link.lag_ms;
    out["snapshotting"] = link.snapshotting;
    out["snapshot_records_total"] = link.snapshot_records_total;
    out["snapshot_records_left"] = link.snapshot_records_left;
  }
  return out;
}

ordered_json StatusJson(const NodeStatus& status) {
  ordered_json out;
  out["role"] = status.role;
  if (status.role == "hub") {
    out["records"] = status.records;
    out["conflicts_open"] = status.conflicts_open;
    out["stations"] = ordered_json::array();
    for (const auto& link : status.stations) out["stations"].push_back(StationLinkToJson(link));
    out["unit"] = status.unit;
    out["node"] = status.node;
    out["last_seq"] = status.last_seq;
    out["public_key"] = status.public_key;
    out["refused_unknown_key_total"] = status.refused_unknown_key_total;
    out["refused_handshake_total"] = status.refused_handshake_total;
    out["last_handshake_refusal"] = status.last_handshake_refusal;
    return out;
  }
  // The station's keys before sync came first; scripts may rely on their order.
  out["unit"] = status.unit;
  out["node"] = status.node;
  out["records"] = status.records;
  out["pending_up"] = status.pending_up;
  out["hub_connected"] = status.hub_connected;
  out["last_seq"] = status.last_seq;
  out["lag_records"] = status.lag_records;
  out["conflicts_open"] = status.conflicts_open;
  out["scope"] = status.scope;
  out["public_key"] = status.public_key;
  out["hub_refusal"] = status.hub_refusal;
  out["clock_ahead_ms"] = status.clock_ahead_ms;
  return out;
}

}  // namespace stationsync
