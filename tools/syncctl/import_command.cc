#include "tools/syncctl/import_command.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <future>
#include <iostream>
#include <iterator>
#include <numeric>
#include <span>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "sync/protocol/write_scope.h"
#include "sync/records/local_write.h"
#include "sync/records/record_json.h"
#include "sync/storage/replica_keys.h"
#include "tools/syncctl/progress.h"

namespace stationsync {
namespace {

struct ParsedFile {
  std::vector<RecordPatch> valid;
  std::vector<size_t> valid_lines;    // the line number of each valid patch
  std::vector<std::string> problems;  // "line N: reason"
};

struct Line {
  size_t number;
  std::string text;
};

// Checks lines as new records would be checked by the daemon.
ParsedFile ParseChunk(std::span<const Line> lines, const std::string& default_owner) {
  ParsedFile parsed;
  for (const Line& line : lines) {
    const auto json = nlohmann::json::parse(line.text, nullptr, /*allow_exceptions=*/false);
    if (json.is_discarded()) {
      parsed.problems.push_back(fmt::format("line {}: not valid JSON", line.number));
      continue;
    }
    auto patch = PatchFromJson(json);
    if (patch.ok()) {
      auto record = RecordFromPatch(*patch, default_owner);
      if (record.ok()) {
        patch->id = std::move(record->id);  // canonical, as the daemon stores it: its key's order
        parsed.valid.push_back(std::move(patch).value());
        parsed.valid_lines.push_back(line.number);
        continue;
      }
      patch = record.status();
    }
    parsed.problems.push_back(fmt::format("line {}: {}", line.number, patch.status().message()));
  }
  return parsed;
}

void Append(ParsedFile& to, ParsedFile&& from) {
  std::move(from.valid.begin(), from.valid.end(), std::back_inserter(to.valid));
  to.valid_lines.insert(to.valid_lines.end(), from.valid_lines.begin(), from.valid_lines.end());
  std::move(from.problems.begin(), from.problems.end(), std::back_inserter(to.problems));
}

// Reads every line and checks it, on every core: the daemon waits for the whole file to be
// checked before it stores any of it, so this is time nothing else happens. Read in chunks of
// kImportParseChunkLines (memory stays bounded by the parsed records), each split among threads
// into contiguous parts whose results are appended in order: the same result as one thread.
ParsedFile ParseLines(std::istream& in, const std::string& default_owner) {
  const size_t threads = std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 8);
  ParsedFile parsed;
  std::vector<Line> chunk;
  std::string text;
  size_t number = 0;
  bool more = true;
  while (more) {
    chunk.clear();
    while (chunk.size() < kImportParseChunkLines && (more = !!std::getline(in, text))) {
      ++number;
      if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
      chunk.push_back({number, std::move(text)});
    }
    const size_t part = (chunk.size() + threads - 1) / threads;
    std::vector<std::future<ParsedFile>> parts;
    for (size_t begin = 0; begin < chunk.size(); begin += part) {
      const auto lines =
          std::span<const Line>(chunk).subspan(begin, std::min(part, chunk.size() - begin));
      parts.push_back(std::async(std::launch::async, ParseChunk, lines, std::cref(default_owner)));
    }
    for (auto& done : parts) Append(parsed, done.get());
  }
  return parsed;
}

// A station stores only the records of its scope's units (sync/protocol/write_scope.h): the lines
// it would refuse, found before anything is stored so that the import is refused whole.
std::vector<std::string> OutOfScope(const ParsedFile& parsed, const std::string& unit,
                                    const std::vector<std::string>& units) {
  std::vector<std::string> refused;
  for (size_t i = 0; i < parsed.valid.size(); ++i) {
    const RecordPatch& patch = parsed.valid[i];
    const std::string& owner = patch.owner.empty() ? unit : patch.owner;
    Status scope = CheckStationScope(patch.table, patch.id, owner, units);
    if (!scope.ok()) {
      refused.push_back(fmt::format("line {}: {}", parsed.valid_lines[i], scope.message()));
    }
  }
  return refused;
}

// The order to send the valid lines in: the store's key order (RecordKey), not the file's. An
// import's records are mostly new, and a file's order (by household, by station) is random in
// key order; sent in key order they reach the store's records family as ascending runs, which
// compaction moves down instead of merging each flushed file into the level below: half of why
// an import slowed down as the store grew (syncbench scale: time per record at 3M against 100k,
// 1.28 -> 1.14; README, Performance). Stable: a record on two lines keeps their order, so the
// later line wins as it did in file order.
std::vector<size_t> KeyOrder(const std::vector<RecordPatch>& valid) {
  std::vector<size_t> order(valid.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&valid](size_t a, size_t b) {
    return RecordKeyLess(valid[a].table, valid[a].id, valid[b].table, valid[b].id);
  });
  return order;
}

}  // namespace

int CmdImport(const GlobalFlags& flags, const std::string& file, bool skip_invalid) {
  if (Status actor = NeedActor(flags); !actor.ok()) return Report(actor);
  auto client = MakeClient(flags);
  if (!client) return 2;
  auto status = client->GetStatus();  // the daemon's unit owns lines that name no owner
  if (!status.ok()) return Report(status.status());

  std::ifstream stream;
  if (file != "-") {
    stream.open(file);
    if (!stream) return Report(Invalid(fmt::format("cannot read {}", file)));
  }
  ParsedFile parsed = ParseLines(file == "-" ? std::cin : stream, status->unit);
  for (const auto& problem : parsed.problems) std::cerr << "syncctl: " << problem << '\n';
  if (!parsed.problems.empty() && !skip_invalid) {
    return Report(Invalid(fmt::format(
        "{} invalid line(s); stored nothing (use --skip-invalid to import the valid ones)",
        parsed.problems.size())));
  }
  if (status->role != "hub") {
    // A daemon before API version 3 reports no scope: it holds its own unit's records only.
    const std::vector<std::string> units =
        status->scope.empty() ? std::vector<std::string>{status->unit} : status->scope;
    const std::vector<std::string> refused = OutOfScope(parsed, status->unit, units);
    for (size_t i = 0; i < std::min(refused.size(), kImportRefusedShown); ++i) {
      std::cerr << "syncctl: " << refused[i] << '\n';
    }
    if (refused.size() > kImportRefusedShown) {
      std::cerr << fmt::format("syncctl: ... and {} more\n", refused.size() - kImportRefusedShown);
    }
    if (!refused.empty()) {
      return Report(Refused(fmt::format(
          "{} line(s) are out of this station's scope (it holds the records of unit(s) {}; units "
          "are written at the hub); stored nothing",
          refused.size(), fmt::join(units, ", "))));
    }
  }

  const auto start = std::chrono::steady_clock::now();
  const std::vector<size_t> order = KeyOrder(parsed.valid);
  ProgressBar bar("importing", parsed.valid.size());
  size_t stored = 0;
  while (stored < parsed.valid.size()) {
    const size_t end = std::min(parsed.valid.size(), stored + kImportBatchRecords);
    std::vector<RecordPatch> batch;
    batch.reserve(end - stored);
    for (size_t i = stored; i < end; ++i) batch.push_back(std::move(parsed.valid[order[i]]));
    std::vector<BatchError> errors;
    Status result = client->PutBatchWithoutRecords(std::move(batch), &errors);
    if (!result.ok()) {
      bar.Finish();
      for (const auto& error : errors) {
        const size_t at = stored + error.index;  // the daemon's index into the batch
        if (at < end) {
          std::cerr << fmt::format("syncctl: line {}: {}\n", parsed.valid_lines[order[at]],
                                   error.message);
        }
      }
      return Report(Status(
          result.code(),
          fmt::format(
              "import stopped after {} of {} records (sent in key order, not the file's): {}",
              stored, parsed.valid.size(), result.message())));
    }
    stored = end;
    bar.Update(stored);
  }
  bar.Finish();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cerr << fmt::format(
      "imported {} records, skipped {} invalid, in {:.2f} s ({:.0f} records/s)\n", stored,
      parsed.problems.size(), seconds, seconds > 0 ? static_cast<double>(stored) / seconds : 0.0);
  return 0;
}

}  // namespace stationsync
