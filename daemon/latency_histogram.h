// A latency histogram with fixed buckets, as Prometheus exposes one (daemon/http/metrics.h):
// a plain value, owned by one thread (the daemon's loop, which observes) and copied to others.
//
// Invariants: count == sum of buckets (the last bucket holds what exceeds every bound);
// kBoundsUs is strictly increasing.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace stationsync {

struct LatencyHistogram {
  // Upper bounds of the buckets, in microseconds (Prometheus `le`, in seconds, is these / 1e6).
  static constexpr std::array<uint64_t, 14> kBoundsUs = {
      250,    500,     1'000,   2'000,   5'000,     10'000,    20'000,
      50'000, 100'000, 200'000, 500'000, 1'000'000, 2'000'000, 5'000'000};

  std::array<uint64_t, kBoundsUs.size() + 1> buckets{};  // not cumulative; last: above every bound
  uint64_t count = 0;
  uint64_t sum_us = 0;

  // The bucket that holds `micros`: the first whose bound is not below it, else the last.
  static size_t BucketOf(uint64_t micros) {
    size_t i = 0;
    while (i < kBoundsUs.size() && micros > kBoundsUs[i]) ++i;
    return i;
  }

  void Observe(uint64_t micros) {
    ++buckets[BucketOf(micros)];
    ++count;
    sum_us += micros;
  }
};

}  // namespace stationsync
