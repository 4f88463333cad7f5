// Date arithmetic for syncgen: day numbers, random dates, and the fixed reference date.
//
// Generated data never reads the wall clock: every age and timestamp is relative to
// kReferenceDate, so a seed gives the same files whenever it runs.
#pragma once

#include <cstdint>
#include <string>

#include "sync/records/calendar.h"
#include "tools/syncgen/rng.h"

namespace stationsync::syncgen {

// "Today" for generated data: ages, report times and case states are relative to it.
inline constexpr Date kReferenceDate{2024, 6, 30};

// Days since 1970-01-01 (proleptic Gregorian). Precondition: a real date.
int64_t DayNumber(const Date& date);
Date FromDayNumber(int64_t days);

// A date in [lo, hi], uniformly. Precondition: lo <= hi, both real.
Date RandomDate(Rng& rng, const Date& lo, const Date& hi);

// A date in the given year, not after kReferenceDate. Precondition: year <= kReferenceDate.year.
Date RandomDateInYear(Rng& rng, int year);

// Whole years between `birth` and kReferenceDate.
int AgeAtReference(const Date& birth);

// "2024-03-01T08:30:00+08:00" (China Standard Time).
std::string ChinaDateTime(const Date& date, int hour, int minute, int second);

}  // namespace stationsync::syncgen
