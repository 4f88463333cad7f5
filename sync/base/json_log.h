// syncd --log-format json: every log line as one JSON object, for journald and log shippers.
//
// Line grammar (one line per record, no raw control characters, valid UTF-8):
//   {"time":"2024-03-01T00:30:00.123Z","level":"info","unit":"P01","event":"<name>",
//    "fields":{...},"message":"<the text line's message>"}
// time: UTC, milliseconds. level: spdlog's names (trace, debug, info, warning, error, critical).
// unit: the node's unit ("hub" at the hub). event: a stable name for what happened ("ready",
// "stopping", "backup_written", ...) where the call site names one with LogEvent, else "log".
// fields: the event's values (an object, empty for "log"). message: capped at kLogMessageBytesMax
// like text lines; bytes that are not UTF-8 are replaced.
//
// JSON is a formatter choice (InstallJsonLogFormat), not a second logging path: call sites keep
// using spdlog, and LogEvent hands its event name and fields to the formatter through a
// thread-local slot for the one record it writes (syncd's loggers are synchronous, so the
// formatter runs on the caller's thread).
#pragma once

#include <string>
#include <string_view>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace stationsync {

// Makes the default logger write JSON lines for `unit` (call once, after the logger is set).
void InstallJsonLogFormat(const std::string& unit);

namespace json_log_internal {
struct EventSlot {
  std::string_view event;
  const nlohmann::json* fields = nullptr;
};
// The event of the record being written on this thread (empty outside LogEvent).
EventSlot& CurrentEvent();
}  // namespace json_log_internal

// Logs `text` as spdlog would, tagged with `event` and `fields` for JSON lines (text lines show
// only the text, which should carry the same values for people).
template <typename... Args>
void LogEvent(spdlog::level::level_enum level, std::string_view event, const nlohmann::json& fields,
              fmt::format_string<Args...> text, Args&&... args) {
  json_log_internal::EventSlot& slot = json_log_internal::CurrentEvent();
  slot = {event, &fields};
  spdlog::log(level, text, std::forward<Args>(args)...);
  slot = {};
}

}  // namespace stationsync
