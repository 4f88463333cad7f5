// A one-line progress bar on stderr, drawn only when stderr is a terminal.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace stationsync {

class ProgressBar {
 public:
  ProgressBar(std::string label, size_t total);
  void Update(size_t done);
  void Finish();  // clears the line

 private:
  std::string label_;
  size_t total_;
  bool enabled_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace stationsync
