// See clock_bound.h.
#include "sync/records/clock_bound.h"

#include <algorithm>

#include "sync/records/hlc.h"

namespace stationsync {

uint64_t NewestStampHlc(const Record& record) {
  uint64_t newest =
      std::max({record.owner_stamp.hlc, record.deleted_stamp.hlc, record.updated.hlc});
  for (const auto& [name, state] : record.fields) newest = std::max(newest, state.stamp.hlc);
  for (const auto& [node, hlc] : record.seen) newest = std::max(newest, hlc);
  return newest;
}

int64_t StampsAheadMs(const std::vector<Record>& records, int64_t now_ms, int64_t max_ahead_ms) {
  int64_t newest = 0;
  for (const Record& record : records) {
    newest = std::max(newest, Hlc::PhysicalMs(NewestStampHlc(record)));
  }
  return newest - now_ms > max_ahead_ms ? newest - now_ms : 0;
}

}  // namespace stationsync
