// syncgen: writes a realistic county's units, personnel, cases and household registrations, with
// planted data problems, as JSON lines (see tools/syncgen/writer.h for the files).
//
//   syncgen --profile linqu|district|naiman --seed N [--scale F] --out DIR [--divisions FILE]
//
// Exit codes: 0 ok; 2 usage error or invalid argument; 5 the files cannot be written.
// Everything but argument parsing lives in stationsync_syncgen_lib.
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "sync/base/status.h"
#include "tools/syncgen/divisions.h"
#include "tools/syncgen/generator.h"

namespace {

constexpr int kUsageExit = 2;

}  // namespace

int main(int argc, char** argv) {
  using namespace stationsync;
  CLI::App app{"syncgen: generate a realistic county's records with planted data problems"};
  std::string profile_name;
  uint64_t seed = 0;
  double scale = 1.0;
  std::string out_dir;
  std::string divisions = syncgen::DefaultDivisionsPath();
  app.add_option("--profile", profile_name, "linqu, district or naiman")->required();
  app.add_option("--seed", seed, "seed of the random generator")
      ->required()
      ->check([](const std::string& text) {
        return text.find('-') == std::string::npos ? std::string()
                                                   : "must be a non-negative integer, not " + text;
      });
  app.add_option("--scale", scale, "multiplies the counts (0 < F <= 100)")->capture_default_str();
  app.add_option("--out", out_dir, "directory to write (created if missing)")->required();
  app.add_option("--divisions", divisions, "division table CSV")->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "syncgen: " << e.what() << "\n"
              << "Run with --help for more information.\n";
    return kUsageExit;
  }
  if (out_dir.empty()) {
    std::cerr << "syncgen: --out needs a directory\n";
    return kUsageExit;
  }
  const auto profile = syncgen::ParseProfile(profile_name);
  if (!profile) {
    std::cerr << "syncgen: unknown profile '" << profile_name
              << "' (expected linqu, district or naiman)\n";
    return kUsageExit;
  }
  const syncgen::Options options{*profile, seed, scale};
  const auto summary = syncgen::RunSyncgen(options, divisions, out_dir);
  if (!summary.ok()) {
    std::cerr << "syncgen: " << summary.status().message() << "\n";
    return ExitCode(summary.status().code());
  }
  std::cerr << syncgen::SummaryLine(options, *summary, out_dir) << "\n";
  return 0;
}
