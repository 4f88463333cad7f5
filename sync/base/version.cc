// See version.h. STATIONSYNC_VERSION is defined for this file only (sync/CMakeLists.txt), so a
// new version recompiles one file.
#include "sync/base/version.h"

namespace stationsync {

std::string_view Version() {
  return STATIONSYNC_VERSION;
}

}  // namespace stationsync
