// Deterministic random draws; see rng.h.
#include "tools/syncgen/rng.h"

#include <algorithm>
#include <cassert>

namespace stationsync::syncgen {

int64_t Rng::Uniform(int64_t lo, int64_t hi) {
  assert(lo <= hi);
  const uint64_t range = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo) + 1;
  if (range == 0) return static_cast<int64_t>(Next());  // the full 64-bit range
  // Values below `threshold` would make the modulo biased: 2^64 - threshold is a multiple of range.
  const uint64_t threshold = (0 - range) % range;
  for (;;) {
    const uint64_t x = Next();
    if (x >= threshold) return static_cast<int64_t>(static_cast<uint64_t>(lo) + x % range);
  }
}

size_t Rng::Index(size_t n) {
  assert(n > 0);
  return static_cast<size_t>(Uniform(0, static_cast<int64_t>(n) - 1));
}

double Rng::Real() {
  return static_cast<double>(Next() >> 11) * 0x1.0p-53;
}

WeightedTable::WeightedTable(std::span<const uint64_t> weights) {
  uint64_t sum = 0;
  cumulative_.reserve(weights.size());
  for (uint64_t w : weights) {
    sum += w;
    cumulative_.push_back(sum);
  }
  assert(sum > 0);
}

size_t WeightedTable::Draw(Rng& rng) const {
  assert(!cumulative_.empty() && cumulative_.back() > 0);
  const auto x =
      static_cast<uint64_t>(rng.Uniform(0, static_cast<int64_t>(cumulative_.back()) - 1));
  // The first i with cumulative_[i] > x; zero weights are never drawn.
  const auto it = std::upper_bound(cumulative_.begin(), cumulative_.end(), x);
  return static_cast<size_t>(it - cumulative_.begin());
}

}  // namespace stationsync::syncgen
