// Clocks: the injected physical time source, and the hybrid logical clock that stamps writes.
//
// An HLC reading is a 64-bit value: physical milliseconds since the Unix epoch in the high 48
// bits, a logical counter in the low 16. Invariants: Now() is strictly greater than every value it
// returned before and every value Observe() adopted; it never runs behind the physical clock and
// never moves backwards. Observe() adopts no reading more than `max_ahead_ms` ahead of the
// physical clock, so a peer cannot push the clock to the end of its range, where it would wrap.
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

// The wall clock shifted by a fixed offset: what a machine with a wrong clock reads (syncd's
// test-only --TEST-clock-offset-ms, for tests of the clock bound between real processes).
class OffsetClock final : public Clock {
 public:
  explicit OffsetClock(int64_t offset_ms) : offset_ms_(offset_ms) {}
  int64_t NowMs() override { return wall_.NowMs() + offset_ms_; }

 private:
  SystemClock wall_;
  int64_t offset_ms_;
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
  Hlc(Clock* clock, uint64_t last, int64_t max_ahead_ms)
      : clock_(clock), last_(last), max_ahead_ms_(max_ahead_ms) {}

  uint64_t Now();
  // Adopts `remote` if it is within the bound; false (and nothing changes) if it is not.
  bool Observe(uint64_t remote);
  uint64_t last() const { return last_; }

 private:
  Clock* clock_;
  uint64_t last_;
  int64_t max_ahead_ms_;
};

}  // namespace stationsync
