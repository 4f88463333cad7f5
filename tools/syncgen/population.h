// Residents and their households: the registration records of a generated county.
//
// Households have 1 to 6 members with exactly one head; a spouse has the other sex; children are
// born when both parents are 20 to 40; members share the household's address and village. About
// 1% of residents are moved_out or deceased. Ages are 0 to 95 on kReferenceDate.
#pragma once

#include <cstddef>

#include "tools/syncgen/dataset.h"
#include "tools/syncgen/id_pool.h"
#include "tools/syncgen/rng.h"

namespace stationsync::syncgen {

// Adds households until the dataset holds at least `residents_target` residents.
// Precondition: dataset.layout is built and has villages.
void AddPopulation(Rng& rng, size_t residents_target, IdPool& ids, Dataset& dataset);

// Adds an empty household in `village` registered by `owner`, with the village's next house
// number; returns its index. Used for the planted duplicate registrations too.
size_t AddHousehold(Rng& rng, Dataset& dataset, size_t village, size_t owner);

// Makes a resident's id number: born in the county (or, for some, elsewhere), unique in `ids`.
// Moves the birth date forward a day in the (practically impossible) case that every number of
// that day is taken. Returns the id and sets `birth` to the date it encodes.
std::string NewResidentId(Rng& rng, const Layout& layout, IdPool& ids, Date& birth, bool male);

}  // namespace stationsync::syncgen
