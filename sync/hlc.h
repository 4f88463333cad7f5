// Clocks: the injected physical time source, and the hybrid logical clock that stamps writes.
//
// An HLC reading is a 64-bit value: physical milliseconds since the Unix epoch in the high 48
// bits, a logical counter in the low 16. Invariants: Now() is strictly greater than every value it
// returned before and every value passed to Observe(); it never runs behind the physical clock.
// Not thread-safe: one Hlc per writer thread.
#pragma once

#include <cstdint>

namespace stationsync {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowMs() = 0;  // milliseconds since the Unix epoch
};

// The machine's wall clock.
class SystemClock final : public Clock {
 public:
  int64_t NowMs() override;
};

// A clock tests move by hand.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t now_ms) : now_ms_(now_ms) {}
  int64_t NowMs() override { return now_ms_; }
  void Advance(int64_t ms) { now_ms_ += ms; }
  void Set(int64_t ms) { now_ms_ = ms; }

 private:
  int64_t now_ms_;
};

class Hlc {
 public:
  static constexpr int kCounterBits = 16;
  static uint64_t Make(int64_t physical_ms, uint16_t counter) {
    return (static_cast<uint64_t>(physical_ms) << kCounterBits) | counter;
  }
  static int64_t PhysicalMs(uint64_t hlc) { return static_cast<int64_t>(hlc >> kCounterBits); }

  // `clock` is borrowed and must outlive the Hlc; `last` is the highest reading already used
  // (persisted by the replica, so a restart never reuses a stamp).
  Hlc(Clock* clock, uint64_t last) : clock_(clock), last_(last) {}

  uint64_t Now();
  void Observe(uint64_t remote);
  uint64_t last() const { return last_; }

 private:
  Clock* clock_;
  uint64_t last_;
};

}  // namespace stationsync
