// The division table (tools/syncgen/data/divisions.csv): real villages and communities with their
// township and county, used to place residents, cases and stations.
//
// Invariants of a loaded table: every row has 8 non-empty columns; village_code is 12 digits and
// starts with street_code (9 digits), which starts with county_code (6 digits). Rows keep the
// file's order.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "sync/base/status.h"

namespace stationsync::syncgen {

struct Division {
  std::string village_code;   // 12 digits: county (6) + township (3) + village (3)
  std::string village_name;   // 西坦村民委员会
  std::string street_code;    // 9 digits
  std::string street_name;    // 城关街道
  std::string county_code;    // 6 digits
  std::string county_name;    // 临朐县
  std::string city_name;      // 潍坊市
  std::string province_name;  // 山东省
};

// The header line the file must start with.
inline constexpr std::string_view kDivisionsHeader =
    "village_code,village_name,street_code,street_name,county_code,county_name,city_name,"
    "province_name";

// Reads the table. Invalid (naming the line) if the file cannot be read or a row is malformed.
Result<std::vector<Division>> LoadDivisions(const std::string& path);

// Parses the table from text (the whole file's contents).
Result<std::vector<Division>> ParseDivisions(std::string_view text);

// The path compiled in: the source tree's data/divisions.csv.
std::string DefaultDivisionsPath();

// The name used in addresses and titles: 西坦村民委员会 -> 西坦村, 北老柜村委会 -> 北老柜村,
// 兴隆社区居民委员会 -> 兴隆社区, 淖尔图浩来嘎查 stays.
std::string ShortVillageName(std::string_view committee_name);

// A township's name without its administrative suffix: 城关街道 -> 城关, 明仁苏木 -> 明仁,
// 苇莲苏乡 -> 苇莲苏, 大沁他拉街道办事处 -> 大沁他拉.
std::string ShortTownshipName(std::string_view township_name);

}  // namespace stationsync::syncgen
