// See json_log.h.
#include "sync/base/json_log.h"

#include <chrono>
#include <memory>

#include <spdlog/formatter.h>

#include "sync/base/log_guard.h"

namespace stationsync {
namespace json_log_internal {

EventSlot& CurrentEvent() {
  thread_local EventSlot slot;
  return slot;
}

}  // namespace json_log_internal

namespace {

std::string Rfc3339Utc(spdlog::log_clock::time_point time) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch());
  const std::time_t seconds = static_cast<std::time_t>(ms.count() / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", utc.tm_year + 1900,
                     utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                     ms.count() % 1000);
}

class JsonLineFormatter final : public spdlog::formatter {
 public:
  explicit JsonLineFormatter(std::string unit) : unit_(std::move(unit)) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const json_log_internal::EventSlot& slot = json_log_internal::CurrentEvent();
    nlohmann::ordered_json line;
    line["time"] = Rfc3339Utc(msg.time);
    const auto level = spdlog::level::to_string_view(msg.level);
    line["level"] = std::string(level.data(), level.size());
    line["unit"] = unit_;
    line["event"] = slot.event.empty() ? "log" : std::string(slot.event);
    line["fields"] = slot.fields != nullptr && slot.fields->is_object() ? *slot.fields
                                                                        : nlohmann::json::object();
    line["message"] =
        Clip(std::string_view(msg.payload.data(), msg.payload.size()), kLogMessageBytesMax);
    // Text a peer sent may not be UTF-8: replaced, never thrown on.
    const std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    dest.append(text.data(), text.data() + text.size());
    dest.push_back('\n');
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonLineFormatter>(unit_);
  }

 private:
  std::string unit_;
};

}  // namespace

void InstallJsonLogFormat(const std::string& unit) {
  spdlog::set_formatter(std::make_unique<JsonLineFormatter>(unit));
}

}  // namespace stationsync
