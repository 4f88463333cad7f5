#include "sync/hlc.h"

#include <algorithm>
#include <chrono>

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
  last_ = std::max(physical, last_ + 1);
  return last_;
}

void Hlc::Observe(uint64_t remote) {
  last_ = std::max(last_, remote);
}

}  // namespace stationsync
