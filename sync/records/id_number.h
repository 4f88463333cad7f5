// Citizen id numbers (公民身份号码, GB 11643-1999).
//
// Layout of the 18-digit form: 6-digit area code, 8-digit birth date YYYYMMDD, 3-digit sequence
// whose last digit is odd for men and even for women, and a check character (0-9 or X) computed
// with ISO 7064 MOD 11-2. The legacy 15-digit form (pre-1999) has a 6-digit birth date YYMMDD
// (19YY) and no check character; it upgrades to 18 digits by inserting "19" and appending the
// check character.
#pragma once

#include <string>
#include <string_view>

#include "sync/base/status.h"
#include "sync/records/calendar.h"

namespace stationsync {

struct IdNumber {
  std::string digits;  // always the 18-character form, 'X' upper case
  Date birth_date;
  bool male = false;
};

// The check character ('0'..'9' or 'X') for the first 17 digits. Precondition: 17 ASCII digits.
char IdCheckCharacter(std::string_view first17);

// Parses and checks an 18-digit number, or upgrades a legacy 15-digit one. A lower-case 'x' is
// accepted. Errors name what is wrong: length, characters, birth date, or check character.
Result<IdNumber> ParseIdNumber(std::string_view text);

// Makes a valid 18-digit number from its parts (for generators and tests).
// Preconditions: area is 6 digits, date is real, sequence in 0..99 (the sex digit is derived).
std::string MakeIdNumber(std::string_view area, const Date& birth, int sequence, bool male);

// The legacy 15-digit form of an 18-digit number born in 19xx (for generators and tests).
std::string LegacyIdNumber(std::string_view digits18);

}  // namespace stationsync
