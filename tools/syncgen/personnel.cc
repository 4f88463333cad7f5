// Personnel; see personnel.h.
#include "tools/syncgen/personnel.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include "tools/syncgen/dates.h"
#include "tools/syncgen/names.h"
#include "tools/syncgen/population.h"

namespace stationsync::syncgen {
namespace {

constexpr int kMinPerUnit = 2;
constexpr size_t kShortNumbersMax = 4000;  // beyond this, police numbers get six digits

struct Posts {
  std::string_view leader, second, third;
  std::vector<std::string_view> staff;
};

const Posts& PostsOf(std::string_view kind) {
  static const Posts kBureau{"局长", "政委", "副局长", {"指挥中心民警", "办公室民警", "督察"}};
  static const Posts kStation{
      "所长", "教导员", "副所长", {"社区民警", "户籍民警", "办案民警", "值班民警", "内勤"}};
  static const Posts kPatrol{"大队长", "教导员", "副大队长", {"巡逻民警", "特警", "中队长"}};
  static const Posts kTraffic{
      "中队长", "指导员", "副中队长", {"事故处理民警", "路面执勤民警", "车管民警"}};
  static const Posts kDepartment{"大队长", "教导员", "副大队长", {"民警", "侦查员", "内勤"}};
  if (kind == "bureau") return kBureau;
  if (kind == "station") return kStation;
  if (kind == "patrol") return kPatrol;
  if (kind == "traffic") return kTraffic;
  return kDepartment;
}

constexpr std::string_view kJuniorRanks[] = {"二级警员", "一级警员", "二级警司"};
constexpr std::string_view kMiddleRanks[] = {"一级警司", "三级警督", "二级警督"};
constexpr std::string_view kSeniorRanks[] = {"二级警督", "一级警督", "三级警监"};
constexpr std::string_view kAuxiliaryPosts[] = {"巡逻辅警", "户籍协管员", "接处警辅警"};
constexpr std::string_view kCivilianPosts[] = {"文职", "档案管理", "财务"};

std::string_view DrawRank(Rng& rng, int age, bool leader) {
  if (leader) return rng.Pick(kMiddleRanks);
  if (age < 30) return rng.Pick(kJuniorRanks);
  if (age < 48) return rng.Pick(kMiddleRanks);
  return rng.Chance(0.8) ? rng.Pick(kMiddleRanks) : rng.Pick(kSeniorRanks);
}

class NumberMaker {
 public:
  NumberMaker(const Layout& layout, size_t total)
      : prefix_(layout.police_prefix),
        county_(layout.county_code),
        digits_(total <= kShortNumbersMax ? 4 : 6) {}

  std::string Officer(Rng& rng) {
    const int64_t max = digits_ == 4 ? 9999 : 999999;
    for (;;) {
      std::string n = fmt::format("{}{:0{}}", prefix_, rng.Uniform(1, max), digits_);
      if (officers_.insert(n).second) return n;
    }
  }
  std::string Auxiliary() { return fmt::format("FJ{}{:04}", county_, ++auxiliaries_); }
  std::string Civilian() { return fmt::format("WZ{}{:04}", county_, ++civilians_); }

 private:
  std::string prefix_;
  std::string county_;
  int digits_;
  std::set<std::string> officers_;
  int auxiliaries_ = 0;
  int civilians_ = 0;
};

Officer MakePerson(Rng& rng, IdPool& ids, const Dataset& dataset, size_t unit, size_t rank_in_unit,
                   NumberMaker& numbers) {
  const Layout& layout = dataset.layout;
  const bool leader = rank_in_unit < 3;
  const double pick = rng.Real();
  Officer o;
  o.unit = unit;
  o.role = leader || pick < 0.60 ? "officer" : pick < 0.92 ? "auxiliary" : "civilian";
  o.male = rng.Chance(o.role == "officer" ? 0.85 : o.role == "auxiliary" ? 0.7 : 0.4);
  const int age = static_cast<int>(leader ? rng.Uniform(38, 56) : rng.Uniform(22, 59));
  Date birth = RandomDateInYear(rng, kReferenceDate.year - age);
  o.id_number = NewResidentId(rng, layout, ids, birth, o.male);
  o.name = DrawHanName(rng, DrawSurname(rng), o.male, birth.year);
  const Posts& posts = PostsOf(layout.units[unit].kind);
  if (o.role == "officer") {
    o.police_number = numbers.Officer(rng);
    o.rank = DrawRank(rng, age, leader);
    o.post = rank_in_unit == 0   ? posts.leader
             : rank_in_unit == 1 ? posts.second
             : rank_in_unit == 2 ? posts.third
                                 : rng.Pick(posts.staff);
  } else if (o.role == "auxiliary") {
    o.police_number = numbers.Auxiliary();
    o.post = rng.Pick(kAuxiliaryPosts);
  } else {
    o.police_number = numbers.Civilian();
    o.post = rng.Pick(kCivilianPosts);
  }
  o.phone = DrawMobilePhone(rng);
  const double s = rank_in_unit == 0 ? 0.0 : rng.Real();
  o.status = s < 0.94 ? "active" : (s < 0.97 || age < 55) ? "transferred" : "retired";
  return o;
}

size_t StaffCount(const UnitPlan& unit, double scale) {
  const auto n = static_cast<long long>(std::llround(unit.personnel_base * scale));
  return static_cast<size_t>(std::max<long long>(kMinPerUnit, n));
}

}  // namespace

std::string DrawMobilePhone(Rng& rng) {
  static constexpr std::string_view kPrefixes[] = {
      "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "153",
      "155", "156", "157", "158", "159", "177", "180", "181", "182", "186", "187", "188", "189"};
  return fmt::format("{}{:08}", rng.Pick(kPrefixes), rng.Uniform(0, 99999999));
}

void AddPersonnel(Rng& rng, double scale, IdPool& ids, Dataset& dataset) {
  size_t total = 0;
  for (const UnitPlan& unit : dataset.layout.units) total += StaffCount(unit, scale);
  NumberMaker numbers(dataset.layout, total);
  for (size_t u = 0; u < dataset.layout.units.size(); ++u) {
    const size_t count = StaffCount(dataset.layout.units[u], scale);
    for (size_t i = 0; i < count; ++i) {
      dataset.personnel.push_back(MakePerson(rng, ids, dataset, u, i, numbers));
    }
  }
}

std::string UnusedPoliceNumber(Rng& rng, const Dataset& dataset) {
  std::set<std::string> used;
  size_t width = 4;
  for (const Officer& o : dataset.personnel) {
    used.insert(o.police_number);
    if (o.role == "officer") width = o.police_number.size() - dataset.layout.police_prefix.size();
  }
  const int64_t max = width == 4 ? 9999 : 999999;
  for (;;) {
    std::string n =
        fmt::format("{}{:0{}}", dataset.layout.police_prefix, rng.Uniform(1, max), width);
    if (!used.contains(n)) return n;
  }
}

}  // namespace stationsync::syncgen
