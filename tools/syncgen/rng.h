// Deterministic random draws for syncgen.
//
// Everything syncgen makes comes from one Rng seeded by --seed, so the same arguments give the
// same bytes on every platform. The standard distributions (std::uniform_int_distribution and
// friends) are implementation-defined, so they are not used: the draws below depend only on the
// output of std::mt19937_64, which the standard fixes.
//
// Not thread-safe; one Rng per generation run.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace stationsync::syncgen {

class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}

  uint64_t Next() { return engine_(); }
  // An integer in [lo, hi], uniformly (rejection sampling). Precondition: lo <= hi.
  int64_t Uniform(int64_t lo, int64_t hi);
  // An index in [0, n). Precondition: n > 0.
  size_t Index(size_t n);
  // A real number in [0, 1) from the top 53 bits of one draw.
  double Real();
  // True with probability p (p <= 0: never; p >= 1: always).
  bool Chance(double p) { return Real() < p; }

  template <typename T>
  const T& Pick(const std::vector<T>& items) {
    return items[Index(items.size())];
  }
  template <typename T, size_t N>
  const T& Pick(const T (&items)[N]) {
    return items[Index(N)];
  }

 private:
  std::mt19937_64 engine_;
};

// Draws an index with probability weight[i] / sum(weights). Immutable after construction.
class WeightedTable {
 public:
  WeightedTable() = default;
  // Precondition: at least one positive weight.
  explicit WeightedTable(std::span<const uint64_t> weights);

  size_t Draw(Rng& rng) const;
  size_t size() const { return cumulative_.size(); }

 private:
  std::vector<uint64_t> cumulative_;  // cumulative_[i] = weights[0] + ... + weights[i]
};

}  // namespace stationsync::syncgen
