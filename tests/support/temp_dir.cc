#include "tests/support/temp_dir.h"

#include <cassert>
#include <filesystem>

#include <stdlib.h>

namespace stationsync::testing {

TempDir::TempDir() {
  std::string pattern = std::filesystem::temp_directory_path().string() + "/ss-XXXXXX";
  char* made = ::mkdtemp(pattern.data());
  assert(made != nullptr);
  path_ = made;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace stationsync::testing
