// A node's status as JSON: the one object `syncctl status --json` prints and syncd's HTTP
// `GET /status` serves (daemon/http/http_server.h), so the two cannot drift apart. Pure.
//
// On a station: {"role","unit","node","records","pending_up","hub_connected","last_seq",
// "lag_records","conflicts_open","scope","public_key","hub_refusal","clock_ahead_ms"}, in this
// order (scripts may rely on it). On the hub: {"role":"hub","records","conflicts_open",
// "stations":[{"unit","connected","last_seen_ms","lag_records","pending_up","up_total",
// "down_total","rejected_total","never_seen","scope","key","refused_total","last_refusal"}],
// "unit","node","last_seq","public_key","refused_unknown_key_total","refused_handshake_total",
// "last_handshake_refusal"}.
#pragma once

#include <nlohmann/json.hpp>

#include "sync/codec/api_codec.h"

namespace stationsync {

nlohmann::ordered_json StatusJson(const NodeStatus& status);

// What StationLinkToJson writes: the object of /status's "stations" (kStatus, in the order
// above), or that object followed by what /status leaves out, for the dashboard
// (dashboard_json.h): "lag_ms", "snapshotting", "snapshot_records_total",
// "snapshot_records_left" (kWithProgress).
enum class LinkFigures { kStatus, kWithProgress };

// One station's link at the hub, for /status and /dashboard.json alike, so they cannot drift.
nlohmann::ordered_json StationLinkToJson(const StationLink& link,
                                         LinkFigures figures = LinkFigures::kStatus);

}  // namespace stationsync
