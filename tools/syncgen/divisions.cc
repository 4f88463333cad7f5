// Loading and naming divisions; see divisions.h.
#include "tools/syncgen/divisions.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <utility>

#include <fmt/format.h>

namespace stationsync::syncgen {
namespace {

#ifndef STATIONSYNC_DIVISIONS_CSV
#define STATIONSYNC_DIVISIONS_CSV "tools/syncgen/data/divisions.csv"
#endif

bool AllDigits(std::string_view s, size_t length) {
  return s.size() == length &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::vector<std::string_view> SplitCommas(std::string_view line) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (;;) {
    const size_t comma = line.find(',', start);
    if (comma == std::string_view::npos) {
      parts.push_back(line.substr(start));
      return parts;
    }
    parts.push_back(line.substr(start, comma - start));
    start = comma + 1;
  }
}

Result<Division> ParseRow(std::string_view line, size_t line_number) {
  const auto parts = SplitCommas(line);
  if (parts.size() != 8 ||
      std::any_of(parts.begin(), parts.end(), [](std::string_view p) { return p.empty(); })) {
    return Invalid(fmt::format("divisions line {}: expected 8 non-empty columns", line_number));
  }
  Division d{std::string(parts[0]), std::string(parts[1]), std::string(parts[2]),
             std::string(parts[3]), std::string(parts[4]), std::string(parts[5]),
             std::string(parts[6]), std::string(parts[7])};
  if (!AllDigits(d.village_code, 12) || !AllDigits(d.street_code, 9) ||
      !AllDigits(d.county_code, 6) || !d.village_code.starts_with(d.street_code) ||
      !d.street_code.starts_with(d.county_code)) {
    return Invalid(
        fmt::format("divisions line {}: codes must be 12, 9 and 6 nested digits", line_number));
  }
  return d;
}

}  // namespace

Result<std::vector<Division>> ParseDivisions(std::string_view text) {
  std::vector<Division> rows;
  size_t line_number = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line_number == 1) {
      if (line.starts_with("\xEF\xBB\xBF")) line.remove_prefix(3);  // a UTF-8 byte order mark
      if (line != kDivisionsHeader) return Invalid("divisions: unexpected header line");
      continue;
    }
    if (line.empty()) continue;
    auto row = ParseRow(line, line_number);
    if (!row.ok()) return row.status();
    rows.push_back(std::move(row).value());
  }
  if (rows.empty()) return Invalid("divisions: the table has no rows");
  return rows;
}

Result<std::vector<Division>> LoadDivisions(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Invalid(fmt::format("cannot read the divisions table {}", path));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Invalid(fmt::format("cannot read the divisions table {}", path));
  auto rows = ParseDivisions(text.str());
  if (!rows.ok()) return Invalid(fmt::format("{}: {}", path, rows.status().message()));
  return rows;
}

std::string DefaultDivisionsPath() {
  return STATIONSYNC_DIVISIONS_CSV;
}

std::string ShortVillageName(std::string_view committee_name) {
  static constexpr std::pair<std::string_view, std::string_view> kSuffixes[] = {
      {"村村委会", "村"}, {"村民委员会", "村"}, {"村委会", "村"},
      {"居民委员会", ""}, {"居委会", ""},       {"委员会", ""}};
  for (const auto& [suffix, replacement] : kSuffixes) {
    if (EndsWith(committee_name, suffix) && committee_name.size() > suffix.size()) {
      std::string name(committee_name.substr(0, committee_name.size() - suffix.size()));
      return name + std::string(replacement);
    }
  }
  return std::string(committee_name);
}

std::string ShortTownshipName(std::string_view township_name) {
  static constexpr std::string_view kSuffixes[] = {"街道办事处", "街道", "苏木", "镇", "乡"};
  for (std::string_view suffix : kSuffixes) {
    if (EndsWith(township_name, suffix) && township_name.size() > suffix.size()) {
      return std::string(township_name.substr(0, township_name.size() - suffix.size()));
    }
  }
  return std::string(township_name);
}

}  // namespace stationsync::syncgen
