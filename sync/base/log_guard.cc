// See log_guard.h.
#include "sync/base/log_guard.h"

#include <chrono>

#include <spdlog/pattern_formatter.h>

namespace stationsync {

namespace {

uint64_t SteadyMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

class EscapedMessageFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const std::string escaped =
        EscapeForLog(std::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(escaped.data(), escaped.data() + escaped.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<EscapedMessageFlag>();
  }
};

}  // namespace

std::string EscapeForLog(std::string_view text, size_t bytes_max) {
  std::string out;
  out.reserve(std::min(text.size(), bytes_max) + 16);
  size_t i = 0;
  for (; i < text.size() && out.size() < bytes_max; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    switch (c) {
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\\':
        out += "\\\\";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += fmt::format("\\x{:02x}", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  if (i < text.size()) out += fmt::format("...(+{} bytes)", text.size() - i);
  return out;
}

std::string Clip(std::string_view text, size_t bytes_max) {
  if (text.size() <= bytes_max) return std::string(text);
  return fmt::format("{}...(+{} bytes)", text.substr(0, bytes_max), text.size() - bytes_max);
}

void InstallLogPattern(const std::string& pattern) {
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  formatter->add_flag<EscapedMessageFlag>('*').set_pattern(pattern);
  spdlog::set_formatter(std::move(formatter));
}

bool PeerLogLimiter::Admit(std::string_view category, uint64_t& suppressed) {
  const uint64_t now_ms = SteadyMs();
  std::lock_guard lock(mutex_);
  auto it = windows_.find(category);
  if (it == windows_.end()) it = windows_.emplace(std::string(category), Window{now_ms}).first;
  Window& window = it->second;
  if (now_ms - window.start_ms >= kPeerLogWindowMs) {
    window.start_ms = now_ms;
    window.lines = 0;
  }
  if (window.lines >= kPeerLinesPerWindow) {
    ++window.held_back;
    ++suppressed_total_;
    return false;
  }
  ++window.lines;
  suppressed = std::exchange(window.held_back, 0);
  return true;
}

uint64_t PeerLogLimiter::suppressed_total() const {
  std::lock_guard lock(mutex_);
  return suppressed_total_;
}

PeerLogLimiter& PeerLog() {
  static PeerLogLimiter limiter;
  return limiter;
}

}  // namespace stationsync
