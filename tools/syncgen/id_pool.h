// The citizen id numbers handed out in one run, so that no two records share one by accident.
//
// MakeIdNumber gives only 100 numbers per (area, birth date, sex); Allocate tries random
// sequences and then other areas before giving up. Not thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "sync/records/calendar.h"
#include "tools/syncgen/rng.h"

namespace stationsync::syncgen {

class IdPool {
 public:
  // `fallback_areas`: 6-digit county codes tried, in order, when an area's numbers are taken.
  explicit IdPool(std::vector<std::string> fallback_areas)
      : fallback_areas_(std::move(fallback_areas)) {}

  // A fresh valid 18-digit number for this birth date and sex, preferably in `area`; nullopt when
  // every area's 100 numbers for that day and sex are taken. The number is reserved.
  std::optional<std::string> Allocate(Rng& rng, std::string_view area, const Date& birth,
                                      bool male);

  // Reserves a number made elsewhere; false if it was already taken.
  bool Reserve(const std::string& id) { return taken_.insert(id).second; }
  bool Contains(const std::string& id) const { return taken_.contains(id); }

 private:
  std::optional<std::string> TryArea(Rng& rng, std::string_view area, const Date& birth, bool male);

  std::vector<std::string> fallback_areas_;
  std::unordered_set<std::string> taken_;  // lookups only: never iterated (determinism)
};

}  // namespace stationsync::syncgen
