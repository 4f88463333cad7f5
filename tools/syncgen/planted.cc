// Planted problems; see planted.h.
#include "tools/syncgen/planted.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <optional>

#include <fmt/format.h>

#include "sync/records/id_number.h"
#include "tools/syncgen/dates.h"
#include "tools/syncgen/personnel.h"
#include "tools/syncgen/population.h"

namespace stationsync::syncgen {
namespace {

constexpr int kDuplicates = 30;
constexpr int kLegacies = 20;
constexpr int kHeadless = 10;
constexpr int kDanglingLeads = 10;
constexpr int kDanglingInvolved = 10;
constexpr int kMultipleHeads = 10;
constexpr int kUnknownOwners = 5;
// The owner of the planted unknown_owner cases: a station number no layout gives out.
constexpr std::string_view kGoneUnitNumber = "980000";
constexpr int kRandomTries = 64;
constexpr int kLegacyTries = 100;

size_t PlantCount(int base, double scale) {
  return static_cast<size_t>(std::max(1LL, std::llround(base * scale)));
}

// A random k in [0, n) with pred(k): a few random tries, then a sweep from a random start.
template <typename Pred>
std::optional<size_t> FindRandom(Rng& rng, size_t n, Pred pred) {
  if (n == 0) return std::nullopt;
  for (int i = 0; i < kRandomTries; ++i) {
    const size_t k = rng.Index(n);
    if (pred(k)) return k;
  }
  const size_t start = rng.Index(n);
  for (size_t i = 0; i < n; ++i) {
    if (pred((start + i) % n)) return (start + i) % n;
  }
  return std::nullopt;
}

std::string_view SexName(bool male) {
  return male ? "male" : "female";
}

// Marks what a plant touched so that no two plants share a person, household or case.
struct Planter {
  Rng& rng;
  IdPool& ids;
  Dataset& data;
  std::vector<bool> used_household;

  bool UsedHousehold(size_t h) const { return h < used_household.size() && used_household[h]; }
  void UseHousehold(size_t h) {
    if (used_household.size() <= h) used_household.resize(h + 1, false);
    used_household[h] = true;
  }
  // An active adult in a household no plant has touched, born in [year_lo, year_hi].
  std::optional<size_t> Source(int year_lo, int year_hi) {
    return FindRandom(rng, data.residents.size(), [&](size_t k) {
      const Resident& r = data.residents[k];
      return !r.omitted && r.status == "active" && !UsedHousehold(r.household) &&
             AgeAtReference(r.birth) >= 18 && r.birth.year >= year_lo && r.birth.year <= year_hi;
    });
  }
  // A new one-person household in the source's village holding a copy of the source as head.
  Resident& Copy(size_t source, std::string id) {
    const Resident& r = data.residents[source];
    const size_t village = data.households[r.household].village;
    const size_t owner = rng.Pick(data.layout.villages[village].registrars);
    Resident copy = r;
    copy.id = std::move(id);
    copy.household = AddHousehold(rng, data, village, owner);
    copy.relation = "head";
    UseHousehold(r.household);
    UseHousehold(copy.household);
    data.residents.push_back(std::move(copy));
    return data.residents.back();
  }
};

bool PlantDuplicate(Planter& p) {
  const auto source = p.Source(0, kReferenceDate.year);
  if (!source) return false;
  const Resident r = p.data.residents[*source];
  auto id = p.ids.Allocate(p.rng, std::string_view(r.id).substr(0, 6), r.birth, r.male);
  if (!id) return false;
  const Resident& dup = p.Copy(*source, *std::move(id));
  const Household& h1 = p.data.households[r.household];
  p.data.planted.push_back(PlantedProblem{
      "duplicate_household",
      {{"registration", r.id}, {"registration", dup.id}},
      fmt::format("{} ({}, born {}, area {}) is registered in households {} and {} under two id "
                  "numbers",
                  r.name, SexName(r.male), FormatDate(r.birth),
                  p.data.layout.villages[h1.village].division.village_code, h1.code,
                  p.data.households[dup.household].code),
      "",
      ""});
  return true;
}

// A legacy 15-digit number of the source's area and birth date with another sequence (same sex
// digit), whose 18-digit upgrade nobody has; reserves the upgrade.
std::optional<std::string> LegacyNumber(Planter& p, const Resident& r) {
  const std::string own = LegacyIdNumber(r.id);
  for (int i = 0; i < kLegacyTries; ++i) {
    const int64_t sequence = p.rng.Uniform(0, 499) * 2 + (r.male ? 1 : 0);
    std::string legacy = own.substr(0, 12) + fmt::format("{:03}", sequence);
    if (legacy == own) continue;
    const auto upgraded = ParseIdNumber(legacy);
    if (upgraded.ok() && p.ids.Reserve(upgraded->digits)) return legacy;
  }
  return std::nullopt;
}

bool PlantLegacy(Planter& p) {
  const auto source = p.Source(1900, 1999);
  if (!source) return false;
  const Resident r = p.data.residents[*source];
  auto legacy = LegacyNumber(p, r);
  if (!legacy) return false;
  const std::string upgraded = ParseIdNumber(*legacy)->digits;
  Resident& copy = p.Copy(*source, upgraded);
  copy.legacy_id = *legacy;
  p.data.planted.push_back(PlantedProblem{
      "legacy_and_new_id",
      {{"registration", r.id}, {"registration", upgraded}},
      fmt::format("{} ({}, born {}) is registered as {} in household {} and again under the legacy "
                  "number {} (imported as {}) in household {}",
                  r.name, SexName(r.male), FormatDate(r.birth), r.id,
                  p.data.households[r.household].code, *legacy, upgraded,
                  p.data.households[copy.household].code),
      *legacy,
      ""});
  return true;
}

// Members (written residents) of each household.
std::vector<std::vector<size_t>> Members(const Dataset& data) {
  std::vector<std::vector<size_t>> members(data.households.size());
  for (size_t r = 0; r < data.residents.size(); ++r) {
    if (!data.residents[r].omitted) members[data.residents[r].household].push_back(r);
  }
  return members;
}

bool PlantHeadless(Planter& p, const std::vector<std::vector<size_t>>& members) {
  const auto household = FindRandom(p.rng, p.data.households.size(), [&](size_t h) {
    return !p.UsedHousehold(h) && members[h].size() >= 2;
  });
  if (!household) return false;
  p.UseHousehold(*household);
  PlantedProblem planted{"household_without_head", {}, "", "", ""};
  std::string head_id;
  for (size_t r : members[*household]) {
    Resident& resident = p.data.residents[r];
    if (resident.relation == "head") {
      resident.omitted = true;
      head_id = resident.id;
    } else {
      planted.records.emplace_back("registration", resident.id);
    }
  }
  planted.note = fmt::format(
      "household {} has {} members and no head: the head's registration "
      "({}) is missing",
      p.data.households[*household].code, planted.records.size(), head_id);
  p.data.planted.push_back(std::move(planted));
  return true;
}

// A second member of a household becomes its head too (a spouse where there is one).
bool PlantMultipleHeads(Planter& p, const std::vector<std::vector<size_t>>& members) {
  const auto household = FindRandom(p.rng, p.data.households.size(), [&](size_t h) {
    return !p.UsedHousehold(h) && members[h].size() >= 2;
  });
  if (!household) return false;
  p.UseHousehold(*household);
  std::optional<size_t> head, second;
  for (size_t r : members[*household]) {
    const Resident& resident = p.data.residents[r];
    if (resident.relation == "head") {
      head = r;
    } else if (!second || resident.relation == "spouse") {
      second = r;
    }
  }
  if (!head || !second) return false;
  p.data.residents[*second].relation = "head";
  p.data.planted.push_back(PlantedProblem{
      "household_multiple_heads",
      {{"registration", p.data.residents[*head].id},
       {"registration", p.data.residents[*second].id}},
      fmt::format("household {} has two heads: {} and {}", p.data.households[*household].code,
                  p.data.residents[*head].id, p.data.residents[*second].id),
      "",
      ""});
  return true;
}

Status Plant(std::string_view kind, size_t count, const std::function<bool()>& plant_one) {
  for (size_t i = 0; i < count; ++i) {
    if (!plant_one()) {
      return Internal(fmt::format("syncgen: too little data to plant {} #{}", kind, i + 1));
    }
  }
  return Status::Ok();
}

}  // namespace

Status PlantRegistrationProblems(Rng& rng, double scale, IdPool& ids, Dataset& dataset) {
  Planter p{rng, ids, dataset, {}};
  SS_RETURN_IF_ERROR(Plant("duplicate_household", PlantCount(kDuplicates, scale),
                           [&] { return PlantDuplicate(p); }));
  SS_RETURN_IF_ERROR(
      Plant("legacy_and_new_id", PlantCount(kLegacies, scale), [&] { return PlantLegacy(p); }));
  const auto members = Members(dataset);
  SS_RETURN_IF_ERROR(Plant("household_without_head", PlantCount(kHeadless, scale),
                           [&] { return PlantHeadless(p, members); }));
  return Plant("household_multiple_heads", PlantCount(kMultipleHeads, scale),
               [&] { return PlantMultipleHeads(p, members); });
}

Status PlantCaseProblems(Rng& rng, double scale, IdPool& ids, Dataset& dataset) {
  std::vector<bool> used(dataset.cases.size(), false);
  const auto pick_case = [&]() -> CaseRecord* {
    const auto c = FindRandom(rng, dataset.cases.size(), [&](size_t k) { return !used[k]; });
    if (!c) return nullptr;
    used[*c] = true;
    return &dataset.cases[*c];
  };
  SS_RETURN_IF_ERROR(Plant("dangling_lead_officer", PlantCount(kDanglingLeads, scale), [&] {
    CaseRecord* c = pick_case();
    if (c == nullptr) return false;
    c->lead_officer = UnusedPoliceNumber(rng, dataset);
    dataset.planted.push_back(PlantedProblem{
        "dangling_lead_officer",
        {{"case", c->number}},
        fmt::format("case {} is led by police number {}, which no personnel record has", c->number,
                    c->lead_officer),
        "",
        c->lead_officer});
    return true;
  }));
  const std::string gone_unit = dataset.layout.county_code + std::string(kGoneUnitNumber);
  SS_RETURN_IF_ERROR(Plant("unknown_owner", PlantCount(kUnknownOwners, scale), [&] {
    CaseRecord* c = pick_case();
    if (c == nullptr) return false;
    c->owner_code = gone_unit;
    dataset.planted.push_back(
        PlantedProblem{"unknown_owner",
                       {{"case", c->number}},
                       fmt::format("case {} is owned by {}, a unit the registry does not hold",
                                   c->number, gone_unit),
                       "",
                       ""});
    return true;
  }));
  return Plant("dangling_involved", PlantCount(kDanglingInvolved, scale), [&] {
    CaseRecord* c = pick_case();
    if (c == nullptr) return false;
    const bool male = rng.Chance(0.5);
    Date birth = RandomDateInYear(rng, kReferenceDate.year - static_cast<int>(rng.Uniform(18, 70)));
    const std::string id = NewResidentId(rng, dataset.layout, ids, birth, male);
    c->involved.push_back(id);
    dataset.planted.push_back(PlantedProblem{
        "dangling_involved",
        {{"case", c->number}},
        fmt::format("case {} involves id number {}, which has no registration", c->number, id),
        "",
        id});
    return true;
  });
}

}  // namespace stationsync::syncgen
