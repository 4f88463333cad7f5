// Households and residents; see population.h.
#include "tools/syncgen/population.h"

#include <algorithm>
#include <array>
#include <cassert>

#include <fmt/format.h>

#include "tools/syncgen/dates.h"
#include "tools/syncgen/names.h"

namespace stationsync::syncgen {
namespace {

constexpr int kAgeMax = 95;
constexpr int kAdultAge = 18;
constexpr double kBornElsewhere = 0.12;
constexpr double kMovedOut = 0.006;
constexpr double kDeceasedIfOld = 0.02;  // of residents over 70
constexpr int kOldAge = 70;

// A member before its id and name are made.
struct Member {
  std::string_view relation;
  bool male = false;
  int birth_year = 0;
  std::string_view ethnicity;
  std::string_view surname;
};

int YearOfAge(int age) {
  return kReferenceDate.year - age;
}
int ClampYear(int year) {
  return std::clamp(year, YearOfAge(kAgeMax), kReferenceDate.year);
}

const WeightedTable& HouseholdSizes() {
  static const WeightedTable kTable = [] {
    static constexpr std::array<uint64_t, 6> kWeights = {14, 24, 26, 20, 11, 5};  // 1..6
    return WeightedTable(kWeights);
  }();
  return kTable;
}

WeightedTable VillageWeights(Rng& rng, const Layout& layout) {
  std::vector<uint64_t> weights;
  for (const VillagePlan& v : layout.villages) {
    const bool community = v.division.village_name.find("社区") != std::string::npos ||
                           v.division.village_name.find("居民委员会") != std::string::npos;
    weights.push_back(
        static_cast<uint64_t>(community ? rng.Uniform(200, 400) : rng.Uniform(60, 140)));
  }
  return WeightedTable(weights);
}

std::string_view DrawEthnicity(Rng& rng, const Layout& layout) {
  std::vector<uint64_t> weights;
  for (const Ethnicity& e : layout.ethnicities) weights.push_back(e.weight);
  return layout.ethnicities[WeightedTable(weights).Draw(rng)].name;
}

// Head, spouse and the head's parent: the members whose ages the children depend on.
std::vector<Member> Elders(Rng& rng, const Layout& layout, size_t size) {
  std::vector<Member> members;
  Member head{"head", rng.Chance(size == 1 ? 0.55 : 0.82), 0, DrawEthnicity(rng, layout),
              DrawSurname(rng)};
  head.birth_year =
      YearOfAge(static_cast<int>(size == 1 ? rng.Uniform(20, 92) : rng.Uniform(24, 80)));
  members.push_back(head);
  if (size >= 2 && rng.Chance(0.88)) {
    const int gap = static_cast<int>(head.male ? rng.Uniform(-2, 5) : rng.Uniform(-5, 2));
    const int year = std::clamp(head.birth_year + gap, YearOfAge(kAgeMax), YearOfAge(kAdultAge));
    const std::string_view ethnicity =
        rng.Chance(0.9) ? head.ethnicity : DrawEthnicity(rng, layout);
    members.push_back(Member{"spouse", !head.male, year, ethnicity, DrawSurname(rng)});
  }
  const int head_age = kReferenceDate.year - head.birth_year;
  if (size >= 4 && members.size() == 2 && head_age <= 60 && rng.Chance(0.35)) {
    const int year = head.birth_year - static_cast<int>(rng.Uniform(20, 35));
    const bool male = rng.Chance(0.4);
    const std::string_view surname = male ? head.surname : DrawSurname(rng);
    if (year >= YearOfAge(kAgeMax)) {
      members.push_back(Member{"parent", male, year, head.ethnicity, surname});
    }
  }
  return members;
}

// Fills the household up to `size` with children, and now and then a sibling or a relative.
void AddYoung(Rng& rng, std::vector<Member>& members, size_t size) {
  const Member head = members[0];  // a copy: members grows below
  int youngest_parent = head.birth_year;
  int oldest_parent = head.birth_year;
  std::string_view family_surname = head.surname;
  if (members.size() >= 2 && members[1].relation == "spouse") {
    youngest_parent = std::max(youngest_parent, members[1].birth_year);
    oldest_parent = std::min(oldest_parent, members[1].birth_year);
    if (!head.male) family_surname = members[1].surname;
  }
  const int child_lo = youngest_parent + 20;
  const int child_hi = std::min(oldest_parent + 40, kReferenceDate.year);
  while (members.size() < size) {
    const bool male = rng.Chance(0.51);
    const double pick = rng.Real();
    if (pick < 0.85 && child_lo <= child_hi) {
      members.push_back(Member{"child", male, static_cast<int>(rng.Uniform(child_lo, child_hi)),
                               head.ethnicity, family_surname});
    } else if (pick < 0.93) {
      const int year = ClampYear(head.birth_year + static_cast<int>(rng.Uniform(-8, 8)));
      members.push_back(Member{"sibling", male, year, head.ethnicity, head.surname});
    } else {
      const int year = ClampYear(head.birth_year + static_cast<int>(rng.Uniform(15, 35)));
      members.push_back(Member{"other", male, year, head.ethnicity, family_surname});
    }
  }
}

// Names drawn for a resident before its birth date moves to the next day.
constexpr int kNameTries = 16;

std::string_view DrawStatus(Rng& rng, int age) {
  if (age > kOldAge && rng.Chance(kDeceasedIfOld)) return "deceased";
  if (age >= kAdultAge && rng.Chance(kMovedOut)) return "moved_out";
  return "active";
}

// `mongolian_names`: the household registers its 蒙古族 members under Mongolian names.
void AddMember(Rng& rng, Dataset& dataset, IdPool& ids, size_t household, const Member& m,
               bool mongolian_names) {
  const Layout& layout = dataset.layout;
  Resident r;
  r.birth = RandomDateInYear(rng, m.birth_year);
  r.male = m.male;
  r.ethnicity = m.ethnicity;
  // A name nobody of the same county, sex and birth date has (dataset.h, invariant 5): a few
  // draws, then the next day, whose id the pool gives anew.
  for (int tries = 0;; ++tries) {
    if (tries % kNameTries == 0) {
      if (tries > 0) r.birth = FromDayNumber(DayNumber(r.birth) + 1);
      r.id = NewResidentId(rng, layout, ids, r.birth, m.male);
    }
    r.name = mongolian_names && m.ethnicity == "蒙古族"
                 ? DrawMongolianName(rng, m.male)
                 : DrawHanName(rng, m.surname, m.male, r.birth.year);
    const std::string key = fmt::format("{}|{}|{}|{}", std::string_view(r.id).substr(0, 6), r.name,
                                        m.male, FormatDate(r.birth));
    if (dataset.person_keys.insert(std::hash<std::string>{}(key)).second) break;
  }
  r.household = household;
  r.relation = m.relation;
  r.status = DrawStatus(rng, AgeAtReference(r.birth));
  dataset.residents.push_back(std::move(r));
}

}  // namespace

std::string NewResidentId(Rng& rng, const Layout& layout, IdPool& ids, Date& birth, bool male) {
  const bool elsewhere = !layout.other_birth_areas.empty() && rng.Chance(kBornElsewhere);
  const std::string& area = elsewhere ? rng.Pick(layout.other_birth_areas) : layout.county_code;
  for (;;) {
    if (auto id = ids.Allocate(rng, area, birth, male)) return *std::move(id);
    birth = FromDayNumber(DayNumber(birth) + 1);
  }
}

size_t AddHousehold(Rng& rng, Dataset& dataset, size_t village, size_t owner) {
  assert(village < dataset.layout.villages.size() && owner < dataset.layout.units.size());
  if (dataset.last_house_number.size() != dataset.layout.villages.size()) {
    dataset.last_house_number.resize(dataset.layout.villages.size(), 0);
  }
  int& house = dataset.last_house_number[village];
  house += static_cast<int>(rng.Uniform(1, 3));
  Household h;
  h.code =
      fmt::format("H{}-{:06}", dataset.layout.units[owner].code, dataset.households.size() + 1);
  h.owner = owner;
  h.village = village;
  h.house_number = house;
  dataset.households.push_back(std::move(h));
  return dataset.households.size() - 1;
}

void AddPopulation(Rng& rng, size_t residents_target, IdPool& ids, Dataset& dataset) {
  assert(!dataset.layout.villages.empty());
  const WeightedTable villages = VillageWeights(rng, dataset.layout);
  while (dataset.residents.size() < residents_target) {
    const size_t village = villages.Draw(rng);
    const size_t owner = rng.Pick(dataset.layout.villages[village].registrars);
    const size_t household = AddHousehold(rng, dataset, village, owner);
    const size_t size = HouseholdSizes().Draw(rng) + 1;
    std::vector<Member> members = Elders(rng, dataset.layout, size);
    AddYoung(rng, members, size);
    const bool mongolian_names =
        members[0].ethnicity == "蒙古族" && rng.Chance(dataset.layout.mongolian_name_share);
    for (const Member& m : members) AddMember(rng, dataset, ids, household, m, mongolian_names);
  }
}

}  // namespace stationsync::syncgen
