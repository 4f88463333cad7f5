#include "sync/records/hlc.h"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <limits>

namespace stationsync {

int64_t SystemClock::NowMs() {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  return duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

uint64_t Hlc::Now() {
  const uint64_t physical = Make(std::max<int64_t>(clock_->NowMs(), 0), 0);
  // When the wall clock is behind what we have seen, count on from the last reading; a counter
  // overflow carries into the millisecond part, which keeps the order total.
  // Unreachable while Observe keeps its bound (the 48-bit millisecond part lasts until the year
  // 10889): a wrap would break the order of every stamp, so it stops the process instead.
  assert(last_ < std::numeric_limits<uint64_t>::max());
  last_ = std::max(physical, last_ + 1);
  return last_;
}

bool Hlc::Observe(uint64_t remote) {
  const int64_t now_ms = std::max<int64_t>(clock_->NowMs(), 0);
  if (PhysicalMs(remote) - now_ms > max_ahead_ms_) return false;
  last_ = std::max(last_, remote);
  return true;
}

}  // namespace stationsync
