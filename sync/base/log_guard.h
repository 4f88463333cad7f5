// Logs that a peer cannot flood or forge.
//
//  - Every line syncd writes goes through EscapedMessageFlag (InstallLogPattern): control
//    characters in the message are escaped (\n, \t, \xNN) and the message is capped at
//    kLogMessageBytesMax, so text a peer sent can neither start a line of its own nor fill the
//    disk with one line.
//  - Lines a peer can cause (malformed frames, refusals) go through PeerLog(): at most
//    kPeerLinesPerWindow lines per category per kPeerLogWindowMs; the rest are counted, and the
//    next line of the category says how many were suppressed (with --log-format json, the
//    category is the line's event). PeerLog() is process-wide, like
//    spdlog's default logger that it writes to; it is thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "sync/base/json_log.h"

namespace stationsync {

inline constexpr size_t kLogMessageBytesMax = 2000;
inline constexpr uint32_t kPeerLinesPerWindow = 20;
inline constexpr uint64_t kPeerLogWindowMs = 60'000;

// `text` with control characters and backslashes escaped, cut at `bytes_max` (noted).
std::string EscapeForLog(std::string_view text, size_t bytes_max = kLogMessageBytesMax);

// `text` cut at `bytes_max` (noted): for peers' text quoted in our messages, which the log
// pattern escapes once.
std::string Clip(std::string_view text, size_t bytes_max);

// Sets the default logger's pattern; `%*` in it stands for the escaped, capped message.
void InstallLogPattern(const std::string& pattern);

class PeerLogLimiter {
 public:
  template <typename... Args>
  void Warn(std::string_view category, fmt::format_string<Args...> format, Args&&... args) {
    uint64_t suppressed = 0;
    if (!Admit(category, suppressed)) return;
    std::string line = fmt::format(format, std::forward<Args>(args)...);
    if (suppressed > 0) line += fmt::format(" ({} similar lines suppressed)", suppressed);
    // JSON lines (json_log.h): the category is the event.
    LogEvent(spdlog::level::warn, category, {{"suppressed", suppressed}}, "{}", line);
  }
  // Lines suppressed since start, all categories.
  uint64_t suppressed_total() const;

 private:
  // True if a line of `category` may be written now; `suppressed` gets the count held back
  // since the last one written.
  bool Admit(std::string_view category, uint64_t& suppressed);

  struct Window {
    uint64_t start_ms = 0;
    uint32_t lines = 0;
    uint64_t held_back = 0;
  };
  mutable std::mutex mutex_;
  std::map<std::string, Window, std::less<>> windows_;
  uint64_t suppressed_total_ = 0;
};

PeerLogLimiter& PeerLog();

}  // namespace stationsync
