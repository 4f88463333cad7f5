#include "tools/common/temp_dir.h"

#include <cassert>
#include <filesystem>

#include <stdlib.h>

namespace stationsync {

TempDir::TempDir() : TempDir(std::filesystem::temp_directory_path().string()) {}

TempDir::TempDir(const std::string& base) {
  std::string pattern = base + "/ss-XXXXXX";
  char* made = ::mkdtemp(pattern.data());
  assert(made != nullptr);
  path_ = made;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace stationsync
