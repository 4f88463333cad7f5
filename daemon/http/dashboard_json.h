// The JSON the dashboard page (dashboard_page.h) polls at GET /dashboard.json: everything the
// page draws, in one answer. Pure.
//
//   {"status": the object of GET /status (StatusJson; the binding contract, unchanged),
//    "now_ms": the node's wall clock (ms since the Unix epoch),
//    "links": [StationLinkToJson(link, kWithProgress)]  hub: per station, the object of
//                                 /status's "stations" followed by what /status leaves out
//                                 ("lag_ms", snapshot progress), from the loop's one snapshot
//                                 (empty at a station),
//    "conflicts_open": N, "conflicts": [ConflictToJson, ..] the first kDashboardConflictsMax,
//    "conflicts_by_node": {"NODE": N}  open conflicts with a side written by that node (a
//                                      station's unit), over all of them,
//    "events": [{"seq","at_ms","level","text"}]  recent audit lines (recent_events.h), with
//                                               seq > the request's events_after,
//    "history": StatusHistory::Since(the request's history_after)}
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "daemon/http/recent_events.h"
#include "sync/codec/api_codec.h"
#include "sync/protocol/sync_status.h"
#include "sync/records/merge.h"

namespace stationsync {

inline constexpr size_t kDashboardConflictsMax = 20;

struct DashboardInput {
  NodeStatus status;
  SyncStatus sync;                  // the loop's snapshot (lag_ms, snapshot progress)
  std::vector<Conflict> conflicts;  // open conflicts (only the first kDashboardConflictsMax shown)
  std::vector<RecentEvent> events;
  nlohmann::ordered_json history;
  int64_t now_wall_ms = 0;
};

nlohmann::ordered_json DashboardJson(const DashboardInput& input);

}  // namespace stationsync
