// Data problems planted on purpose, for `syncctl check` and the merge tools to find.
//
// Each planted record is valid on its own; the problem is across records:
//   duplicate_household     one person (same name, sex, birth date, area) registered in a second
//                           household under a second valid id number (一人多户).
//   legacy_and_new_id       one person registered again under a legacy 15-digit number (written as
//                           such; import upgrades it to an 18-digit number that differs from the
//                           person's real one: same area and birth date, another sequence).
//   household_without_head  a household whose head's registration is missing.
//   household_multiple_heads  a household where a second member is registered as head too.
//   dangling_lead_officer   a case led by a police number that is nobody's.
//   dangling_involved       a case involving an id number that has no registration.
//   unknown_owner           a case owned by a unit code the registry does not hold (written to a
//                           records file of its own, as an export of a unit that is gone).
// At least one of each kind is planted at any scale; at scale 1 there are 30, 20, 10, 10, 10, 10,
// 5. `syncctl check` reports the first two kinds as duplicate_person, the others by these names.
#pragma once

#include "sync/base/status.h"
#include "tools/syncgen/dataset.h"
#include "tools/syncgen/id_pool.h"
#include "tools/syncgen/rng.h"

namespace stationsync::syncgen {

// The registration problems; run after AddPopulation and before AddCases (so that cases involve
// only the residents that are written). Internal if the population is too small to plant in.
Status PlantRegistrationProblems(Rng& rng, double scale, IdPool& ids, Dataset& dataset);

// The case problems; run after AddCases. Internal if there are fewer than two cases.
Status PlantCaseProblems(Rng& rng, double scale, IdPool& ids, Dataset& dataset);

}  // namespace stationsync::syncgen
