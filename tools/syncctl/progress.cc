#include "tools/syncctl/progress.h"

#include <cstdio>

#include <fmt/format.h>
#include <unistd.h>

namespace stationsync {

ProgressBar::ProgressBar(std::string label, size_t total)
    : label_(std::move(label)),
      total_(total),
      enabled_(::isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()) {}

void ProgressBar::Update(size_t done) {
  const auto now = std::chrono::steady_clock::now();
  if (!enabled_ || (now - last_draw_ < std::chrono::milliseconds(100) && done < total_)) return;
  last_draw_ = now;
  constexpr int kWidth = 40;
  const double fraction =
      total_ == 0 ? 1.0 : static_cast<double>(done) / static_cast<double>(total_);
  const int filled = static_cast<int>(fraction * kWidth);
  const double seconds = std::chrono::duration<double>(now - start_).count();
  const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0.0;
  fmt::print(stderr, "\r{} [{}{}] {:3.0f}% {}/{} ({:.0f}/s)", label_, std::string(filled, '#'),
             std::string(kWidth - filled, '.'), fraction * 100, done, total_, rate);
  std::fflush(stderr);
}

void ProgressBar::Finish() {
  if (!enabled_) return;
  fmt::print(stderr, "\r\033[K");
  std::fflush(stderr);
}

}  // namespace stationsync
