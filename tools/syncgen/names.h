// Personal names for generated people: surnames by real frequency, given names from common
// characters, and Mongolian names for 奈曼旗.
//
// The tables are constants compiled into the program; every draw goes through the caller's Rng.
// Names are UTF-8 and 2 to 4 characters long.
#pragma once

#include <string>
#include <string_view>

#include "tools/syncgen/rng.h"

namespace stationsync::syncgen {

// A surname drawn by its approximate national frequency (about 100 surnames, 王 李 张 刘 first).
std::string_view DrawSurname(Rng& rng);

// A given name of one or two characters. People born since 2005 often get the fashionable
// two-character names of their generation (子涵, 浩然).
std::string DrawGivenName(Rng& rng, bool male, int birth_year);

// A full Han-style name: surname + given name.
std::string DrawHanName(Rng& rng, std::string_view surname, bool male, int birth_year);

// A transliterated Mongolian name without surname (巴特尔, 其其格), as many 蒙古族 residents of
// 奈曼旗 are registered.
std::string DrawMongolianName(Rng& rng, bool male);

}  // namespace stationsync::syncgen
