// See status_history.h.
#include "daemon/http/status_history.h"

#include <algorithm>

namespace stationsync {

void StatusHistory::Add(uint64_t now_ms, const SyncStatus& sync, uint64_t last_seq) {
  std::lock_guard lock(mutex_);
  if (!samples_.empty() && now_ms - std::min(now_ms, samples_.back().at_ms) < kHistoryStepMs) {
    return;
  }
  StatusSample sample;
  sample.n = next_n_++;
  sample.at_ms = now_ms;
  sample.last_seq = last_seq;
  sample.hub_connected = sync.hub_connected;
  sample.lag_records = sync.lag_records;
  sample.pending_up = sync.pending_up;
  sample.stations.reserve(sync.stations.size());
  for (const StationLink& link : sync.stations) {
    sample.stations.push_back(
        {link.unit, link.connected, link.lag_records, link.lag_ms, link.up_total, link.down_total});
  }
  samples_.push_back(std::move(sample));
  while (samples_.size() > kHistorySamplesMax) samples_.pop_front();
}

nlohmann::ordered_json StatusHistory::Since(uint64_t after, uint64_t now_ms) const {
  using nlohmann::ordered_json;
  ordered_json out;
  out["step_ms"] = kHistoryStepMs;
  std::lock_guard lock(mutex_);
  out["last_n"] = samples_.empty() ? 0 : samples_.back().n;
  out["samples"] = ordered_json::array();
  for (const StatusSample& sample : samples_) {
    if (sample.n <= after) continue;
    ordered_json json;
    json["n"] = sample.n;
    json["age_ms"] = now_ms - std::min(now_ms, sample.at_ms);
    json["last_seq"] = sample.last_seq;
    json["hub_connected"] = sample.hub_connected;
    json["lag_records"] = sample.lag_records;
    json["pending_up"] = sample.pending_up;
    ordered_json stations = ordered_json::object();
    for (const StationPoint& point : sample.stations) {
      stations[point.unit] = {point.connected ? 1 : 0, point.lag_records, point.lag_ms,
                              point.up_total, point.down_total};
    }
    json["stations"] = std::move(stations);
    out["samples"].push_back(std::move(json));
  }
  return out;
}

}  // namespace stationsync
