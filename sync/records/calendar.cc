#include "sync/records/calendar.h"

#include <cstdio>

namespace stationsync {
namespace {

bool ParseDigits(std::string_view text, size_t pos, size_t count, int* out) {
  if (pos + count > text.size()) return false;
  int value = 0;
  for (size_t i = pos; i < pos + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    value = value * 10 + (text[i] - '0');
  }
  *out = value;
  return true;
}

// Days from 1970-01-01 to the given civil date (Howard Hinnant's algorithm).
int64_t DaysFromCivil(int y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

Date CivilFromDays(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  const int m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  const int y = static_cast<int>(yoe + era * 400 + (m <= 2));
  return {y, m, d};
}

}  // namespace

bool IsRealDate(int year, int month, int day) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (year < 1800 || year > 2999 || month < 1 || month > 12 || day < 1) return false;
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  const int days = kDays[month - 1] + (month == 2 && leap ? 1 : 0);
  return day <= days;
}

std::optional<Date> ParseDate(std::string_view text) {
  Date d;
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  if (!ParseDigits(text, 0, 4, &d.year) || !ParseDigits(text, 5, 2, &d.month) ||
      !ParseDigits(text, 8, 2, &d.day) || !IsRealDate(d.year, d.month, d.day)) {
    return std::nullopt;
  }
  return d;
}

std::optional<Date> ParseCompactDate(std::string_view text) {
  Date d;
  if (text.size() != 8 || !ParseDigits(text, 0, 4, &d.year) || !ParseDigits(text, 4, 2, &d.month) ||
      !ParseDigits(text, 6, 2, &d.day) || !IsRealDate(d.year, d.month, d.day)) {
    return std::nullopt;
  }
  return d;
}

std::string FormatDate(const Date& date) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", date.year, date.month, date.day);
  return buf;
}

std::optional<int64_t> ParseDateTimeMs(std::string_view text) {
  if (text.size() < 16) return std::nullopt;
  const auto date = ParseDate(text.substr(0, 10));
  if (!date || (text[10] != 'T' && text[10] != ' ')) return std::nullopt;
  int hour = 0, minute = 0, second = 0;
  if (!ParseDigits(text, 11, 2, &hour) || text[13] != ':' || !ParseDigits(text, 14, 2, &minute) ||
      hour > 23 || minute > 59) {
    return std::nullopt;
  }
  size_t pos = 16;
  int64_t millis = 0;
  if (pos < text.size() && text[pos] == ':') {
    if (!ParseDigits(text, pos + 1, 2, &second) || second > 60) return std::nullopt;
    pos += 3;
    if (pos < text.size() && text[pos] == '.') {
      ++pos;
      int scale = 100;
      const size_t start = pos;
      while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
        millis += (text[pos] - '0') * scale;
        scale /= 10;
        ++pos;
      }
      if (pos == start || pos - start > 9) return std::nullopt;
    }
  }
  int offset_minutes = 0;
  if (pos < text.size() && text[pos] == 'Z') {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    int oh = 0, om = 0;
    if (!ParseDigits(text, pos + 1, 2, &oh) || text.size() < pos + 6 || text[pos + 3] != ':' ||
        !ParseDigits(text, pos + 4, 2, &om) || oh > 14 || om > 59) {
      return std::nullopt;
    }
    offset_minutes = (text[pos] == '+' ? 1 : -1) * (oh * 60 + om);
    pos += 6;
  } else {
    return std::nullopt;  // a time without a zone is ambiguous between stations
  }
  if (pos != text.size()) return std::nullopt;
  const int64_t days = DaysFromCivil(date->year, date->month, date->day);
  const int64_t seconds =
      days * 86400 + hour * 3600 + minute * 60 + second - int64_t{offset_minutes} * 60;
  return seconds * 1000 + millis;
}

std::string FormatUtcMs(int64_t unix_ms) {
  const int64_t secs = unix_ms >= 0 ? unix_ms / 1000 : (unix_ms - 999) / 1000;
  const int64_t ms = unix_ms - secs * 1000;
  const int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
  const int64_t rem = secs - days * 86400;
  const Date d = CivilFromDays(days);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", d.year, d.month, d.day,
                static_cast<int>(rem / 3600), static_cast<int>(rem / 60 % 60),
                static_cast<int>(rem % 60), static_cast<int>(ms));
  return buf;
}

}  // namespace stationsync
