// Generation order and the whole run; see generator.h.
//
// The order of the steps is part of the output (each draws from the same Rng): population,
// registration problems, personnel, cases, case problems.
#include "tools/syncgen/generator.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "tools/syncgen/cases.h"
#include "tools/syncgen/id_pool.h"
#include "tools/syncgen/personnel.h"
#include "tools/syncgen/planted.h"
#include "tools/syncgen/population.h"
#include "tools/syncgen/rng.h"
#include "tools/syncgen/writer.h"

namespace stationsync::syncgen {
namespace {

std::string GroupThousands(size_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

}  // namespace

Status CheckOptions(const Options& options) {
  if (!(options.scale > 0 && options.scale <= kScaleMax)) {
    return Invalid(fmt::format("--scale must be greater than 0 and at most {}, not {}", kScaleMax,
                               options.scale));
  }
  return Status::Ok();
}

Result<Dataset> Generate(const Options& options, const std::vector<Division>& divisions) {
  SS_RETURN_IF_ERROR(CheckOptions(options));
  auto layout = BuildLayout(options.profile, divisions);
  if (!layout.ok()) return layout.status();
  Dataset dataset;
  dataset.layout = std::move(layout).value();
  Rng rng(options.seed);
  IdPool ids(dataset.layout.other_birth_areas);
  const auto residents = static_cast<size_t>(std::llround(kResidentsAtScale1 * options.scale));
  AddPopulation(rng, std::max(kResidentsMin, residents), ids, dataset);
  SS_RETURN_IF_ERROR(PlantRegistrationProblems(rng, options.scale, ids, dataset));
  AddPersonnel(rng, options.scale, ids, dataset);
  AddCases(rng, options.scale, dataset);
  SS_RETURN_IF_ERROR(PlantCaseProblems(rng, options.scale, ids, dataset));
  return dataset;
}

Result<Summary> RunSyncgen(const Options& options, const std::string& divisions_path,
                           const std::filesystem::path& out_dir) {
  SS_RETURN_IF_ERROR(CheckOptions(options));
  auto divisions = LoadDivisions(divisions_path);
  if (!divisions.ok()) return divisions.status();
  auto dataset = Generate(options, *divisions);
  if (!dataset.ok()) return dataset.status();
  return WriteDataset(*dataset, out_dir);
}

std::string SummaryLine(const Options& options, const Summary& summary,
                        const std::filesystem::path& out_dir) {
  return fmt::format(
      "syncgen: {} seed {} scale {}: {} units, {} records ({} personnel, {} cases, "
      "{} registrations), {} planted problems -> {}",
      ProfileName(options.profile), options.seed, options.scale, GroupThousands(summary.units),
      GroupThousands(summary.records()), GroupThousands(summary.personnel),
      GroupThousands(summary.cases), GroupThousands(summary.registrations), summary.planted,
      out_dir.string());
}

}  // namespace stationsync::syncgen
