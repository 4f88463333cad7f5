// Cases: criminal, administrative and traffic cases of the units that handle them.
//
// A station gets about 25 cases per 1,000 residents it registers; other units (patrol, traffic
// squads, departments) max(1, round(cases_base * scale)). A case happens in a village of its
// unit's beat, is led by an active officer of its unit and involves active residents of that
// village. Report times fall in the three years before kReferenceDate; older cases are mostly
// closed. Case numbers are kind letter (A criminal, X administrative, J traffic) + unit code +
// YYYYMM + a 4-digit serial per (letter, unit, month).
#pragma once

#include "tools/syncgen/dataset.h"
#include "tools/syncgen/rng.h"

namespace stationsync::syncgen {

// Precondition: residents and personnel are generated (planted registration problems included).
void AddCases(Rng& rng, double scale, Dataset& dataset);

}  // namespace stationsync::syncgen
