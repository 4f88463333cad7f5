#include "sync/records/id_number.h"

#include <cassert>
#include <cstdio>

namespace stationsync {
namespace {

bool AllDigits(std::string_view s) {
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

char IdCheckCharacter(std::string_view first17) {
  static constexpr int kWeights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
  static constexpr char kCheck[11] = {'1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'};
  assert(first17.size() == 17 && AllDigits(first17));
  int sum = 0;
  for (size_t i = 0; i < 17; ++i) sum += (first17[i] - '0') * kWeights[i];
  return kCheck[sum % 11];
}

Result<IdNumber> ParseIdNumber(std::string_view text) {
  std::string digits(text);
  if (digits.size() == 15) {
    if (!AllDigits(digits)) return Invalid("a 15-digit id number must be all digits");
    std::string first17 = digits.substr(0, 6) + "19" + digits.substr(6, 9);
    digits = first17 + IdCheckCharacter(first17);
  } else if (digits.size() == 18) {
    if (digits[17] == 'x') digits[17] = 'X';
    if (!AllDigits(std::string_view(digits).substr(0, 17)) ||
        !(AllDigits(std::string_view(digits).substr(17)) || digits[17] == 'X')) {
      return Invalid("an id number is 17 digits followed by a digit or X");
    }
  } else {
    return Invalid("an id number has 18 characters (or 15 in the legacy form), not " +
                   std::to_string(text.size()));
  }
  const auto birth = ParseCompactDate(std::string_view(digits).substr(6, 8));
  if (!birth) return Invalid("id number " + digits + " has an impossible birth date");
  const char expected = IdCheckCharacter(std::string_view(digits).substr(0, 17));
  if (digits[17] != expected) {
    return Invalid("id number " + digits + " has check character " + digits[17] + ", expected " +
                   expected);
  }
  const bool male = (digits[16] - '0') % 2 == 1;
  return IdNumber{digits, *birth, male};
}

std::string MakeIdNumber(std::string_view area, const Date& birth, int sequence, bool male) {
  assert(area.size() == 6 && AllDigits(area) && sequence >= 0 && sequence <= 99);
  assert(IsRealDate(birth.year, birth.month, birth.day));
  char buf[24];
  const int sex_digit = male ? 1 : 0;  // odd for men, even for women; varied by sequence below
  std::snprintf(buf, sizeof buf, "%.6s%04d%02d%02d%02d%d", area.data(), birth.year, birth.month,
                birth.day, sequence, (sequence * 2 + sex_digit) % 10);
  std::string first17(buf, 17);
  return first17 + IdCheckCharacter(first17);
}

std::string LegacyIdNumber(std::string_view digits18) {
  assert(digits18.size() == 18 && digits18.substr(6, 2) == "19");
  return std::string(digits18.substr(0, 6)) + std::string(digits18.substr(8, 9));
}

}  // namespace stationsync
