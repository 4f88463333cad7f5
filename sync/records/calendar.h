// Calendar dates and ISO 8601 timestamps: parsing with real-date checks, and formatting.
// Pure functions, no time zone database: offsets are taken from the text itself.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace stationsync {

struct Date {
  int year = 0;
  int month = 0;
  int day = 0;
  bool operator==(const Date&) const = default;
};

bool IsRealDate(int year, int month, int day);

// "YYYY-MM-DD" with a real date (years 1800..2999), else nullopt.
std::optional<Date> ParseDate(std::string_view text);
// "YYYYMMDD" (as inside an id number), else nullopt.
std::optional<Date> ParseCompactDate(std::string_view text);
std::string FormatDate(const Date& date);

// ISO 8601 date-time: "YYYY-MM-DDTHH:MM[:SS[.fff...]]" followed by "Z" or "+HH:MM"/"-HH:MM"
// (a space may stand for 'T'). Returns milliseconds since the Unix epoch (UTC), else nullopt.
std::optional<int64_t> ParseDateTimeMs(std::string_view text);

// "2024-03-01T08:30:00.123Z"
std::string FormatUtcMs(int64_t unix_ms);

}  // namespace stationsync
