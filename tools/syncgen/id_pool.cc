// Unique id numbers; see id_pool.h.
#include "tools/syncgen/id_pool.h"

#include "sync/records/id_number.h"

namespace stationsync::syncgen {
namespace {

// Random tries per area before a systematic sweep of the remaining sequences.
constexpr int kRandomTries = 16;
constexpr int kSequences = 100;

}  // namespace

std::optional<std::string> IdPool::TryArea(Rng& rng, std::string_view area, const Date& birth,
                                           bool male) {
  for (int i = 0; i < kRandomTries; ++i) {
    std::string id = MakeIdNumber(area, birth, static_cast<int>(rng.Uniform(0, 99)), male);
    if (taken_.insert(id).second) return id;
  }
  for (int sequence = 0; sequence < kSequences; ++sequence) {
    std::string id = MakeIdNumber(area, birth, sequence, male);
    if (taken_.insert(id).second) return id;
  }
  return std::nullopt;
}

std::optional<std::string> IdPool::Allocate(Rng& rng, std::string_view area, const Date& birth,
                                            bool male) {
  if (auto id = TryArea(rng, area, birth, male)) return id;
  for (const std::string& other : fallback_areas_) {
    if (other == area) continue;
    if (auto id = TryArea(rng, other, birth, male)) return id;
  }
  return std::nullopt;
}

}  // namespace stationsync::syncgen
