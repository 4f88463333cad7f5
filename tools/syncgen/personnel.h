// Personnel of every unit: officers (with police numbers, ranks and posts), auxiliary police and
// civilian staff.
//
// Each unit gets max(2, round(base * scale)) people; the first is its leader, an active officer,
// so every unit has someone to lead its cases. Police numbers are the province's two digits and
// four (or, past 4,000 people, six) digits, unique; auxiliaries get FJ<county><serial> and
// civilians WZ<county><serial>. Id numbers come from the shared IdPool, so no officer shares one
// with a resident.
#pragma once

#include <string>

#include "tools/syncgen/dataset.h"
#include "tools/syncgen/id_pool.h"
#include "tools/syncgen/rng.h"

namespace stationsync::syncgen {

void AddPersonnel(Rng& rng, double scale, IdPool& ids, Dataset& dataset);

// A police number in the profile's format that no one in the dataset has (for the planted
// dangling_lead_officer cases).
std::string UnusedPoliceNumber(Rng& rng, const Dataset& dataset);

// "13912345678"
std::string DrawMobilePhone(Rng& rng);

}  // namespace stationsync::syncgen
