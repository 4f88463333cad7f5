// Cases; see cases.h.
#include "tools/syncgen/cases.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <map>

#include "tools/syncgen/dates.h"
#include "tools/syncgen/divisions.h"

namespace stationsync::syncgen {
namespace {

constexpr double kCasesPerResident = 0.025;
constexpr Date kFirstReport{2021, 7, 1};

constexpr std::string_view kCriminal[] = {"盗窃案",       "入室盗窃案", "盗窃电动车案",
                                          "电信网络诈骗案", "故意伤害案", "诈骗案",
                                          "抢夺案",       "故意毁坏财物案", "盗窃耕牛案"};
constexpr std::string_view kAdministrative[] = {"殴打他人案", "邻里纠纷引发殴打他人案",
                                                "赌博案",     "寻衅滋事案",
                                                "扰乱公共秩序案", "故意损毁财物案",
                                                "小额盗窃案", "非法狩猎案"};
constexpr std::string_view kTraffic[] = {"路段两车相撞事故", "路口机动车与行人事故",
                                         "路段单车事故", "路口机动车与非机动车事故",
                                         "路段追尾事故"};
constexpr std::string_view kNotes[] = {
    "接110指令后民警赶赴现场处置。", "已调取周边监控视频。", "双方已达成调解协议。",
    "当事人已到案接受询问。",       "已制作现场勘查笔录。", "涉案财物已依法扣押。"};

char KindLetter(CaseKind kind) {
  switch (kind) {
    case CaseKind::kCriminal: return 'A';
    case CaseKind::kAdministrative: return 'X';
    case CaseKind::kTraffic: return 'J';
  }
  return '?';
}

std::string_view DrawStatus(Rng& rng, int64_t days_ago) {
  const double p = rng.Real();
  if (days_ago < 7) return p < 0.5 ? "received" : p < 0.8 ? "filed" : "investigating";
  if (days_ago < 90) {
    return p < 0.2 ? "filed" : p < 0.7 ? "investigating" : p < 0.95 ? "closed" : "transferred";
  }
  return p < 0.8 ? "closed" : p < 0.88 ? "investigating" : p < 0.95 ? "transferred" : "filed";
}

// Active residents of each village (indexes into dataset.residents), in resident order.
std::vector<std::vector<size_t>> ActiveResidents(const Dataset& dataset) {
  std::vector<std::vector<size_t>> by_village(dataset.layout.villages.size());
  for (size_t r = 0; r < dataset.residents.size(); ++r) {
    const Resident& resident = dataset.residents[r];
    if (resident.omitted || resident.status != "active") continue;
    by_village[dataset.households[resident.household].village].push_back(r);
  }
  return by_village;
}

// Active officers of each unit (police numbers), leaders first.
std::vector<std::vector<std::string>> LeadOfficers(const Dataset& dataset) {
  std::vector<std::vector<std::string>> by_unit(dataset.layout.units.size());
  for (const Officer& o : dataset.personnel) {
    if (o.role == "officer" && o.status == "active") by_unit[o.unit].push_back(o.police_number);
  }
  return by_unit;
}

std::vector<std::string> DrawInvolved(Rng& rng, CaseKind kind, const std::vector<size_t>& pool,
                                      const Dataset& dataset) {
  std::vector<std::string> involved;
  if (pool.empty()) return involved;
  int count = static_cast<int>(kind == CaseKind::kTraffic ? rng.Uniform(1, 2) : rng.Uniform(1, 3));
  if (kind == CaseKind::kCriminal && rng.Chance(0.2)) count = 0;  // suspect unknown
  for (int i = 0; i < count; ++i) {
    const std::string& id = dataset.residents[rng.Pick(pool)].id;
    if (std::find(involved.begin(), involved.end(), id) == involved.end()) involved.push_back(id);
  }
  return involved;
}

size_t CaseCount(const UnitPlan& unit, size_t unit_index, double scale, const Dataset& dataset) {
  if (unit.kind != "station") {
    if (unit.cases_base == 0) return 0;
    return static_cast<size_t>(std::max(1LL, std::llround(unit.cases_base * scale)));
  }
  size_t registered = 0;
  for (const Resident& r : dataset.residents) {
    if (!r.omitted && dataset.households[r.household].owner == unit_index) ++registered;
  }
  const double expected = static_cast<double>(registered) * kCasesPerResident;
  return static_cast<size_t>(std::max(1LL, std::llround(expected)));
}

}  // namespace
