// Unit layouts of the three bureaus syncgen can generate, built from the division table.
//
// linqu    临朐县公安局 (370724): the bureau, the four urban stations 城里 南关 北关 城关 sharing
//          城关街道 and 东城街道 (西坦村 registered by three of them), one station per rural
//          township, and the 巡特警大队 (patrol) that owns cases county-wide.
// district 大田县公安局 (the 三明市 county with the most townships): 14 household-registration
//          stations, small townships grouped with a neighbour.
// naiman   奈曼旗公安局 (150525): one station per township, six traffic squads (each covering a
//          group of townships, owning traffic cases) and departments (刑侦 治安 禁毒 法制).
//
// Invariants of a Layout: units[0] is the bureau and the parent of every other unit; unit codes
// are 12 digits and unique; every village has at least one registrar, and every registrar is a
// station; every unit's beat indexes villages. Pure data: no randomness here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sync/base/status.h"
#include "tools/syncgen/divisions.h"

namespace stationsync::syncgen {

enum class Profile { kLinqu, kDistrict, kNaiman };

std::optional<Profile> ParseProfile(std::string_view name);
std::string_view ProfileName(Profile profile);

enum class CaseKind { kCriminal = 0, kAdministrative = 1, kTraffic = 2 };
inline constexpr size_t kCaseKinds = 3;

struct UnitPlan {
  std::string code;        // 12 digits: county + 2-digit unit number + 0000
  std::string name;        // 临朐县公安局城里派出所
  std::string kind;        // bureau | station | department | patrol | traffic (JSON enum)
  std::string parent;      // the bureau's code; empty for the bureau itself
  int personnel_base = 0;  // staff at scale 1
  int cases_base = 0;      // cases at scale 1 of a unit without residents (stations: by residents)
  uint64_t case_weights[kCaseKinds] = {0, 0, 0};  // criminal, administrative, traffic
  std::vector<size_t> beat;  // indexes into Layout::villages where its cases happen
};

struct VillagePlan {
  Division division;
  std::vector<size_t> registrars;  // stations registering its households (西坦村: three)
};

struct Ethnicity {
  std::string_view name;  // 汉族
  uint64_t weight;        // share of residents, 0.01%
};

struct Layout {
  Profile profile = Profile::kLinqu;
  std::string county_code;                     // 370724
  std::string county_name;                     // 临朐县
  std::string police_prefix;                   // first digits of police numbers: the province, 37
  std::vector<std::string> other_birth_areas;  // county codes of people born elsewhere
  std::vector<Ethnicity> ethnicities;
  double mongolian_name_share = 0;  // of 蒙古族 residents registered under a Mongolian name
  std::vector<UnitPlan> units;      // units[0] is the bureau
  std::vector<VillagePlan> villages;
};

// The layout of a profile. Invalid if the table lacks the profile's county.
Result<Layout> BuildLayout(Profile profile, const std::vector<Division>& divisions);

}  // namespace stationsync::syncgen
