// syncgen's entry points: options, generation of a Dataset, and the whole run (load divisions,
// generate, write files).
//
// Determinism: Generate is a pure function of (options, divisions): one Rng seeded with
// options.seed drives every draw, no wall clock is read (dates are relative to kReferenceDate) and
// only ordered containers are iterated. Same arguments, same files, byte for byte.
//
// Scale: at 1.0 a profile has about 100,000 residents, 15-40 personnel per station and a few
// thousand cases; counts grow linearly with the scale, and so does memory (about 450 bytes a
// resident: 46 MB at scale 1).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "sync/base/status.h"
#include "tools/syncgen/dataset.h"
#include "tools/syncgen/divisions.h"
#include "tools/syncgen/profiles.h"
#include "tools/syncgen/writer.h"

namespace stationsync::syncgen {

inline constexpr double kScaleMax = 100;
inline constexpr double kResidentsAtScale1 = 100000;
inline constexpr size_t kResidentsMin = 60;  // enough households to plant every problem in

struct Options {
  Profile profile = Profile::kLinqu;
  uint64_t seed = 0;
  double scale = 1.0;  // (0, kScaleMax]
};

// Invalid if the scale is not in (0, 100].
Status CheckOptions(const Options& options);

// Generates a county's units, personnel, residents and cases with the planted problems.
// Invalid for bad options or a table lacking the profile's county.
Result<Dataset> Generate(const Options& options, const std::vector<Division>& divisions);

// The whole of `syncgen`: loads the division table, generates and writes into out_dir (created
// if missing). Invalid (exit 2) for bad options or an unreadable table; Internal (exit 5) if the
// files cannot be written.
Result<Summary> RunSyncgen(const Options& options, const std::string& divisions_path,
                           const std::filesystem::path& out_dir);

// "syncgen: linqu seed 1 scale 1: 14 units, 104,331 records -> DIR"
std::string SummaryLine(const Options& options, const Summary& summary,
                        const std::filesystem::path& out_dir);

}  // namespace stationsync::syncgen
