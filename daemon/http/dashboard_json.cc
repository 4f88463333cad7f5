// See dashboard_json.h.
#include "daemon/http/dashboard_json.h"

#include <map>
#include <string>

#include "sync/codec/status_json.h"
#include "sync/records/record_json.h"

namespace stationsync {

nlohmann::ordered_json DashboardJson(const DashboardInput& input) {
  using nlohmann::ordered_json;
  ordered_json out;
  out["status"] = StatusJson(input.status);
  out["now_ms"] = input.now_wall_ms;
  ordered_json links = ordered_json::array();
  for (const StationLink& link : input.sync.stations) {
    links.push_back(StationLinkToJson(link, LinkFigures::kWithProgress));
  }
  out["links"] = std::move(links);
  out["conflicts_open"] = input.conflicts.size();
  ordered_json conflicts = ordered_json::array();
  for (size_t i = 0; i < input.conflicts.size() && i < kDashboardConflictsMax; ++i) {
    conflicts.push_back(ConflictToJson(input.conflicts[i]));
  }
  out["conflicts"] = std::move(conflicts);
  std::map<std::string, uint64_t> by_node;
  for (const Conflict& conflict : input.conflicts) {
    ++by_node[conflict.kept.stamp.node];
    if (conflict.lost.stamp.node != conflict.kept.stamp.node) ++by_node[conflict.lost.stamp.node];
  }
  out["conflicts_by_node"] = by_node;
  ordered_json events = ordered_json::array();
  for (const RecentEvent& event : input.events) {
    ordered_json json;
    json["seq"] = event.seq;
    json["at_ms"] = event.wall_ms;
    json["level"] = event.level;
    json["text"] = event.text;
    events.push_back(std::move(json));
  }
  out["events"] = std::move(events);
  out["history"] = input.history;
  return out;
}

}  // namespace stationsync
