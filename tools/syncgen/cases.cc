// Cases; see cases.h.
#include "tools/syncgen/cases.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "tools/syncgen/dates.h"
#include "tools/syncgen/divisions.h"

namespace stationsync::syncgen {
namespace {

constexpr double kCasesPerResident = 0.025;
constexpr Date kFirstReport{2021, 7, 1};

constexpr std::string_view kCriminal[] = {"盗窃案",         "入室盗窃案",     "盗窃电动车案",
                                          "电信网络诈骗案", "故意伤害案",     "诈骗案",
                                          "抢夺案",         "故意毁坏财物案", "盗窃耕牛案"};
constexpr std::string_view kAdministrative[] = {
    "殴打他人案",     "邻里纠纷引发殴打他人案", "赌博案",     "寻衅滋事案",
    "扰乱公共秩序案", "故意损毁财物案",         "小额盗窃案", "非法狩猎案"};
constexpr std::string_view kTraffic[] = {"路段两车相撞事故", "路口机动车与行人事故", "路段单车事故",
                                         "路口机动车与非机动车事故", "路段追尾事故"};
constexpr std::string_view kNotes[] = {"接110指令后民警赶赴现场处置。", "已调取周边监控视频。",
                                       "双方已达成调解协议。",          "当事人已到案接受询问。",
                                       "已制作现场勘查笔录。",          "涉案财物已依法扣押。"};

char KindLetter(CaseKind kind) {
  switch (kind) {
    case CaseKind::kCriminal:
      return 'A';
    case CaseKind::kAdministrative:
      return 'X';
    case CaseKind::kTraffic:
      return 'J';
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

// How many cases each unit owns: stations by the residents they register.
std::vector<size_t> CaseCounts(const Dataset& dataset, double scale) {
  const auto& units = dataset.layout.units;
  std::vector<size_t> registered(units.size(), 0);
  for (const Resident& r : dataset.residents) {
    if (!r.omitted) ++registered[dataset.households[r.household].owner];
  }
  std::vector<size_t> counts(units.size(), 0);
  for (size_t u = 0; u < units.size(); ++u) {
    const double expected = units[u].kind == "station"
                                ? static_cast<double>(registered[u]) * kCasesPerResident
                                : units[u].cases_base * scale;
    if (units[u].beat.empty() || (units[u].kind != "station" && units[u].cases_base == 0)) continue;
    counts[u] = static_cast<size_t>(std::max(1LL, std::llround(expected)));
  }
  return counts;
}

std::string Title(Rng& rng, CaseKind kind, const VillagePlan& village) {
  const std::string place = ShortVillageName(village.division.village_name);
  switch (kind) {
    case CaseKind::kCriminal:
      return place + std::string(rng.Pick(kCriminal));
    case CaseKind::kAdministrative:
      return place + std::string(rng.Pick(kAdministrative));
    case CaseKind::kTraffic:
      return place + std::string(rng.Pick(kTraffic));
  }
  return place;
}

}  // namespace

void AddCases(Rng& rng, double scale, Dataset& dataset) {
  const auto residents = ActiveResidents(dataset);
  const auto officers = LeadOfficers(dataset);
  const auto counts = CaseCounts(dataset, scale);
  std::map<std::string, int> serials;  // (letter, unit, month) -> last serial
  const int64_t first_day = DayNumber(kFirstReport);
  const int64_t last_day = DayNumber(kReferenceDate);
  for (size_t u = 0; u < dataset.layout.units.size(); ++u) {
    const UnitPlan& unit = dataset.layout.units[u];
    if (counts[u] == 0) continue;
    assert(!officers[u].empty());  // each unit's leader is an active officer
    const WeightedTable kinds(unit.case_weights);
    for (size_t i = 0; i < counts[u]; ++i) {
      CaseRecord c;
      c.unit = u;
      c.kind = static_cast<CaseKind>(kinds.Draw(rng));
      c.village = rng.Pick(unit.beat);
      const int64_t day = rng.Uniform(first_day, last_day);
      const Date date = FromDayNumber(day);
      c.reported_at =
          ChinaDateTime(date, static_cast<int>(rng.Uniform(0, 23)),
                        static_cast<int>(rng.Uniform(0, 59)), static_cast<int>(rng.Uniform(0, 59)));
      const std::string prefix =
          fmt::format("{}{}{:04}{:02}", KindLetter(c.kind), unit.code, date.year, date.month);
      c.number = fmt::format("{}{:04}", prefix, ++serials[prefix]);
      c.title = Title(rng, c.kind, dataset.layout.villages[c.village]);
      c.status = DrawStatus(rng, last_day - day);
      c.lead_officer = rng.Pick(officers[u]);
      c.involved = DrawInvolved(rng, c.kind, residents[c.village], dataset);
      if (rng.Chance(0.4)) c.notes = std::string(rng.Pick(kNotes));
      dataset.cases.push_back(std::move(c));
    }
  }
}

}  // namespace stationsync::syncgen
