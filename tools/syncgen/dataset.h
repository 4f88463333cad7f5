// What one syncgen run makes, before it is written: plain structs that refer to each other by
// index into the Dataset's vectors, and to the layout's units and villages by index.
//
// Invariants (Generate establishes them; the writer relies on them):
//  1. Every Resident's `id` is a valid 18-digit id number, unique across residents and personnel;
//     its birth date and sex digit agree with `birth` and `male`.
//  2. A resident's household, a household's owner (a station) and village are valid indexes.
//  3. Every household has exactly one member with relation "head", except the planted
//     household_without_head ones, whose head is `omitted` (kept for its id, never written), and
//     the planted household_multiple_heads ones, which have two.
//  4. Every case's lead officer is an active officer of its unit and every involved id is a written
//     resident's id, except in the planted dangling_* cases.
//  5. No two residents share the county of their id (its first six digits), name, sex and birth
//     date, except the planted duplicate_household and legacy_and_new_id pairs.
//  6. Every record is owned by a unit of the layout, except the planted unknown_owner cases, whose
//     `owner_code` is no unit's.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "sync/records/calendar.h"
#include "tools/syncgen/profiles.h"

namespace stationsync::syncgen {

struct Household {
  std::string code;  // H370724510000-000123
  size_t owner = 0;  // unit index (a station)
  size_t village = 0;
  int house_number = 0;
};

struct Resident {
  std::string id;         // canonical 18-digit id number
  std::string legacy_id;  // planted legacy_and_new_id: the 15-digit form the file carries
  std::string name;
  bool male = false;
  std::string_view ethnicity;  // 汉族
  Date birth;
  size_t household = 0;
  std::string_view relation;  // head | spouse | child | parent | sibling | other
  std::string_view status;    // active | moved_out | deceased | cancelled
  bool omitted = false;       // planted household_without_head: this head is never written
};

struct Officer {
  std::string police_number;
  std::string name;
  std::string id_number;
  bool male = false;
  std::string_view role;  // officer | auxiliary | civilian
  std::string_view rank;  // empty for auxiliaries and civilians
  std::string_view post;
  std::string phone;
  std::string_view status;  // active | transferred | retired
  size_t unit = 0;
};

struct CaseRecord {
  std::string number;  // A3707245100002024050001: kind letter, unit, year and month, serial
  CaseKind kind = CaseKind::kCriminal;
  std::string title;
  std::string_view status;
  std::string reported_at;  // ISO 8601 with +08:00
  size_t village = 0;
  std::string lead_officer;
  std::vector<std::string> involved;
  std::string notes;  // empty: none
  size_t unit = 0;
  std::string owner_code;  // planted unknown_owner: written as its owner instead of the unit's code
};

struct PlantedProblem {
  std::string kind;  // duplicate_household | legacy_and_new_id | dangling_lead_officer | ...
  std::vector<std::pair<std::string, std::string>> records;  // (table, canonical id)
  std::string note;
  std::string legacy;   // legacy_and_new_id: the 15-digit number as written in the records file
  std::string missing;  // dangling_*: the police number or id number that exists nowhere
};

struct Dataset {
  Layout layout;
  std::vector<Household> households;
  std::vector<Resident> residents;
  std::vector<Officer> personnel;
  std::vector<CaseRecord> cases;
  std::vector<PlantedProblem> planted;
  std::vector<int> last_house_number;  // per village: the number of its latest household
  // Hashes of (county of the id, name, sex, birth date) of every resident: two people alike in all
  // four are what `syncctl check` reports as one person registered twice, so only plants may be.
  std::unordered_set<uint64_t> person_keys;
};

}  // namespace stationsync::syncgen
