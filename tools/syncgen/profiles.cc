// The three unit layouts; see profiles.h.
#include "tools/syncgen/profiles.h"

#include <algorithm>
#include <cassert>
#include <map>
#include <set>

#include <fmt/format.h>

namespace stationsync::syncgen {
namespace {

constexpr size_t kDistrictStations = 14;
constexpr size_t kNaimanTrafficSquads = 6;
constexpr int kUrbanStationStaff = 35;

struct Township {
  std::string code;
  std::string name;
  std::vector<size_t> rows;  // indexes into the division table
};

// The county's townships in code order.
std::vector<Township> TownshipsOf(const std::vector<Division>& divisions, std::string_view county) {
  std::map<std::string, Township> by_code;
  for (size_t i = 0; i < divisions.size(); ++i) {
    const Division& d = divisions[i];
    if (d.county_code != county) continue;
    Township& t = by_code[d.street_code];
    t.code = d.street_code;
    t.name = d.street_name;
    t.rows.push_back(i);
  }
  std::vector<Township> out;
  for (auto& [code, township] : by_code) out.push_back(std::move(township));
  return out;
}

std::string UnitCode(const Layout& layout, int number) {
  assert(number >= 0 && number <= 99);
  return fmt::format("{}{:02}0000", layout.county_code, number);
}

size_t AddUnit(Layout& layout, int number, std::string name, std::string kind, int staff) {
  UnitPlan unit;
  unit.code = UnitCode(layout, number);
  unit.name = std::move(name);
  unit.kind = std::move(kind);
  unit.parent = layout.units.empty() ? "" : layout.units[0].code;
  unit.personnel_base = staff;
  layout.units.push_back(std::move(unit));
  return layout.units.size() - 1;
}

// A unit owning `cases` cases county-wide (its beat is every village).
void SetCountyCases(UnitPlan& unit, const Layout& layout, int cases, uint64_t criminal,
                    uint64_t administrative, uint64_t traffic) {
  unit.cases_base = cases;
  unit.case_weights[0] = criminal;
  unit.case_weights[1] = administrative;
  unit.case_weights[2] = traffic;
  unit.beat.clear();
  for (size_t v = 0; v < layout.villages.size(); ++v) unit.beat.push_back(v);
}

void AddVillage(Layout& layout, const Division& division, std::vector<size_t> registrars) {
  const size_t index = layout.villages.size();
  for (size_t unit : registrars) layout.units[unit].beat.push_back(index);
  layout.villages.push_back(VillagePlan{division, std::move(registrars)});
}

// 临朐县公安局冶源派出所; keeps the township's full name when the short one would be a single
// character (新镇) or is taken already.
std::string StationName(const Layout& layout, const std::string& township,
                        std::set<std::string>& used) {
  constexpr size_t kOneCharacter = 3;  // bytes of one CJK character in UTF-8
  std::string place = ShortTownshipName(township);
  if (place.size() <= kOneCharacter || !used.insert(place).second) {
    place = township.ends_with("办事处") ? township.substr(0, township.size() - 9) : township;
    used.insert(place);
  }
  return fmt::format("{}公安局{}派出所", layout.county_name, place);
}

size_t AddStation(Layout& layout, int number, std::string name, int staff) {
  const size_t unit = AddUnit(layout, number, std::move(name), "station", staff);
  layout.units[unit].case_weights[0] = 35;
  layout.units[unit].case_weights[1] = 60;
  layout.units[unit].case_weights[2] = 5;
  return unit;
}

int RuralStaff(size_t villages) {
  return std::min(40, 15 + static_cast<int>(villages) / 2);
}

Layout BaseLayout(Profile profile, const std::vector<Division>& divisions, std::string county,
                  std::string police_prefix) {
  Layout layout;
  layout.profile = profile;
  for (const Division& d : divisions) {
    if (d.county_code == county) {
      layout.county_name = d.county_name;
      break;
    }
  }
  layout.county_code = std::move(county);
  layout.police_prefix = std::move(police_prefix);
  AddUnit(layout, 0, layout.county_name + "公安局", "bureau", 12);
  return layout;
}

}  // namespace

namespace {

constexpr std::string_view kXitanVillage = "西坦村民委员会";

Result<Layout> LinquLayout(const std::vector<Division>& divisions) {
  Layout layout = BaseLayout(Profile::kLinqu, divisions, "370724", "37");
  layout.other_birth_areas = {"370702", "370703", "370704", "370705", "370725", "370781",
                              "370782", "370783", "370784", "370785", "370786"};
  layout.ethnicities = {{"汉族", 9960}, {"回族", 30}, {"满族", 10}};
  const auto townships = TownshipsOf(divisions, layout.county_code);
  // The four urban stations share 城关街道 and its neighbour 东城街道.
  std::vector<size_t> urban_rows;
  std::vector<const Township*> rural;
  for (const Township& t : townships) {
    if (t.name == "城关街道" || t.name == "东城街道") {
      urban_rows.insert(urban_rows.end(), t.rows.begin(), t.rows.end());
    } else {
      rural.push_back(&t);
    }
  }
  if (urban_rows.size() < 4 || rural.empty()) {
    return Invalid("divisions: 临朐县 (370724) needs 城关街道, 东城街道 and rural townships");
  }
  std::vector<size_t> urban;
  int number = 51;
  for (std::string_view place : {"城里", "南关", "北关", "城关"}) {
    urban.push_back(AddStation(layout, number++,
                               fmt::format("{}公安局{}派出所", layout.county_name, place),
                               kUrbanStationStaff));
  }
  for (size_t k = 0; k < urban_rows.size(); ++k) {
    const Division& d = divisions[urban_rows[k]];
    std::vector<size_t> registrars = {urban[k * urban.size() / urban_rows.size()]};
    // 西坦村 was split along a road between three stations.
    if (d.village_name == kXitanVillage) registrars = {urban[0], urban[1], urban[2]};
    AddVillage(layout, d, std::move(registrars));
  }
  std::set<std::string> used = {"城里", "南关", "北关", "城关"};
  for (const Township* t : rural) {
    const size_t unit = AddStation(layout, number++, StationName(layout, t->name, used),
                                   RuralStaff(t->rows.size()));
    for (size_t row : t->rows) AddVillage(layout, divisions[row], {unit});
  }
  const size_t patrol = AddUnit(layout, 30, layout.county_name + "公安局巡特警大队", "patrol", 40);
  SetCountyCases(layout.units[patrol], layout, 300, 30, 70, 0);
  return layout;
}

// The 3504xx county with the most townships (the lowest code on a tie).
std::string DistrictCounty(const std::vector<Division>& divisions) {
  std::map<std::string, std::set<std::string>> townships;
  for (const Division& d : divisions) {
    if (d.county_code.starts_with("3504")) townships[d.county_code].insert(d.street_code);
  }
  std::string best;
  size_t best_count = 0;
  for (const auto& [county, streets] : townships) {
    if (streets.size() > best_count) {
      best = county;
      best_count = streets.size();
    }
  }
  return best;
}

// Groups townships (in code order) into `stations` groups by repeatedly folding the group with
// the fewest villages into its predecessor (the first group into its successor).
std::vector<std::vector<size_t>> GroupTownships(const std::vector<Township>& townships,
                                                size_t stations) {
  std::vector<std::vector<size_t>> groups;
  for (size_t t = 0; t < townships.size(); ++t) groups.push_back({t});
  const auto villages = [&](const std::vector<size_t>& group) {
    size_t n = 0;
    for (size_t t : group) n += townships[t].rows.size();
    return n;
  };
  while (groups.size() > stations) {
    size_t smallest = 0;
    for (size_t g = 1; g < groups.size(); ++g) {
      if (villages(groups[g]) < villages(groups[smallest])) smallest = g;
    }
    const size_t into = smallest == 0 ? 1 : smallest - 1;
    groups[into].insert(groups[into].end(), groups[smallest].begin(), groups[smallest].end());
    std::sort(groups[into].begin(), groups[into].end());
    groups.erase(groups.begin() + static_cast<std::ptrdiff_t>(smallest));
  }
  return groups;
}

Result<Layout> DistrictLayout(const std::vector<Division>& divisions) {
  const std::string county = DistrictCounty(divisions);
  const auto townships = TownshipsOf(divisions, county);
  if (townships.size() < kDistrictStations) {
    return Invalid("divisions: no 三明市 (3504xx) county has 14 townships");
  }
  Layout layout = BaseLayout(Profile::kDistrict, divisions, county, "35");
  std::set<std::string> other_counties;
  for (const Division& d : divisions) {
    if (d.county_code.starts_with("3504") && d.county_code != county) {
      other_counties.insert(d.county_code);
    }
  }
  layout.other_birth_areas.assign(other_counties.begin(), other_counties.end());
  layout.ethnicities = {{"汉族", 9970}, {"畲族", 25}, {"苗族", 5}};
  std::set<std::string> used;
  int number = 51;
  for (const auto& group : GroupTownships(townships, kDistrictStations)) {
    size_t largest = group[0];
    size_t villages = 0;
    for (size_t t : group) {
      if (townships[t].rows.size() > townships[largest].rows.size()) largest = t;
      villages += townships[t].rows.size();
    }
    const size_t unit = AddStation(
        layout, number++, StationName(layout, townships[largest].name, used), RuralStaff(villages));
    for (size_t t : group) {
      for (size_t row : townships[t].rows) AddVillage(layout, divisions[row], {unit});
    }
  }
  return layout;
}

Result<Layout> NaimanLayout(const std::vector<Division>& divisions) {
  Layout layout = BaseLayout(Profile::kNaiman, divisions, "150525", "15");
  layout.other_birth_areas = {"150502", "150521", "150522", "150523", "150524",
                              "150526", "150581", "210921", "211321"};
  layout.ethnicities = {{"汉族", 6350}, {"蒙古族", 3400}, {"满族", 180}, {"回族", 70}};
  layout.mongolian_name_share = 0.5;
  const auto townships = TownshipsOf(divisions, layout.county_code);
  if (townships.size() < kNaimanTrafficSquads) {
    return Invalid("divisions: 奈曼旗 (150525) needs at least six townships");
  }
  std::set<std::string> used;
  std::vector<std::vector<size_t>> township_villages;
  int number = 51;
  for (const Township& t : townships) {
    const size_t unit =
        AddStation(layout, number++, StationName(layout, t.name, used), RuralStaff(t.rows.size()));
    layout.units[unit].case_weights[2] = 0;  // traffic cases belong to the traffic squads
    township_villages.emplace_back();
    for (size_t row : t.rows) {
      township_villages.back().push_back(layout.villages.size());
      AddVillage(layout, divisions[row], {unit});
    }
  }
  // Six traffic squads, each covering a run of townships, named after the first of them.
  for (size_t s = 0; s < kNaimanTrafficSquads; ++s) {
    const size_t first = s * townships.size() / kNaimanTrafficSquads;
    const size_t end = (s + 1) * townships.size() / kNaimanTrafficSquads;
    const size_t unit = AddUnit(layout, 41 + static_cast<int>(s),
                                fmt::format("{}公安局交通管理大队{}中队", layout.county_name,
                                            ShortTownshipName(townships[first].name)),
                                "traffic", 20);
    UnitPlan& squad = layout.units[unit];
    squad.cases_base = 150;
    squad.case_weights[2] = 1;
    for (size_t t = first; t < end; ++t) {
      squad.beat.insert(squad.beat.end(), township_villages[t].begin(), township_villages[t].end());
    }
  }
  struct Department {
    int number;
    std::string_view name;
    int staff, cases;
    uint64_t criminal, administrative;
  };
  static constexpr Department kDepartments[] = {{11, "刑侦大队", 30, 250, 1, 0},
                                                {12, "治安大队", 25, 250, 0, 1},
                                                {13, "禁毒大队", 12, 60, 1, 0},
                                                {14, "法制大队", 10, 0, 0, 0}};
  for (const Department& d : kDepartments) {
    const size_t unit =
        AddUnit(layout, d.number, fmt::format("{}公安局{}", layout.county_name, d.name),
                "department", d.staff);
    if (d.cases > 0)
      SetCountyCases(layout.units[unit], layout, d.cases, d.criminal, d.administrative, 0);
  }
  return layout;
}

}  // namespace

std::optional<Profile> ParseProfile(std::string_view name) {
  if (name == "linqu") return Profile::kLinqu;
  if (name == "district") return Profile::kDistrict;
  if (name == "naiman") return Profile::kNaiman;
  return std::nullopt;
}

std::string_view ProfileName(Profile profile) {
  switch (profile) {
    case Profile::kLinqu:
      return "linqu";
    case Profile::kDistrict:
      return "district";
    case Profile::kNaiman:
      return "naiman";
  }
  return "?";
}

Result<Layout> BuildLayout(Profile profile, const std::vector<Division>& divisions) {
  switch (profile) {
    case Profile::kLinqu:
      return LinquLayout(divisions);
    case Profile::kDistrict:
      return DistrictLayout(divisions);
    case Profile::kNaiman:
      return NaimanLayout(divisions);
  }
  return Invalid("unknown profile");
}

}  // namespace stationsync::syncgen
