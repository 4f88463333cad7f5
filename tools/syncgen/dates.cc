// Date arithmetic for syncgen; see dates.h. Civil-from-days after H. Hinnant's algorithms.
#include "tools/syncgen/dates.h"

#include <algorithm>
#include <cassert>

#include <fmt/format.h>

namespace stationsync::syncgen {

int64_t DayNumber(const Date& date) {
  assert(IsRealDate(date.year, date.month, date.day));
  const int64_t y = date.year - (date.month <= 2 ? 1 : 0);
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t mp = (date.month + 9) % 12;
  const int64_t doy = (153 * mp + 2) / 5 + date.day - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

Date FromDayNumber(int64_t days) {
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return Date{static_cast<int>(year), static_cast<int>(month), static_cast<int>(day)};
}

Date RandomDate(Rng& rng, const Date& lo, const Date& hi) {
  const int64_t a = DayNumber(lo);
  const int64_t b = DayNumber(hi);
  assert(a <= b);
  return FromDayNumber(rng.Uniform(a, b));
}

Date RandomDateInYear(Rng& rng, int year) {
  assert(year <= kReferenceDate.year);
  const Date last = year == kReferenceDate.year ? kReferenceDate : Date{year, 12, 31};
  return RandomDate(rng, Date{year, 1, 1}, last);
}

int AgeAtReference(const Date& birth) {
  int age = kReferenceDate.year - birth.year;
  if (std::pair(kReferenceDate.month, kReferenceDate.day) < std::pair(birth.month, birth.day)) {
    --age;
  }
  return age;
}

std::string ChinaDateTime(const Date& date, int hour, int minute, int second) {
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+08:00", date.year, date.month, date.day,
                     hour, minute, second);
}

}  // namespace stationsync::syncgen
