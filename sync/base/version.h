// The version of StationSync's binaries and of its Debian package: CMake's
// project(StationSync VERSION ...) in the top CMakeLists.txt, the one place it is written.
// syncd --version and syncctl --version print it; CPack names the .deb with it.
#pragma once

#include <string_view>

namespace stationsync {

// "MAJOR.MINOR.PATCH", e.g. "0.14.0".
std::string_view Version();

}  // namespace stationsync
