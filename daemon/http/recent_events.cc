// See recent_events.h.
#include "daemon/http/recent_events.h"

#include <algorithm>
#include <chrono>

#include <spdlog/sinks/dist_sink.h>
#include <spdlog/spdlog.h>

#include "sync/base/log_guard.h"

namespace stationsync {

bool IsAuditLine(spdlog::level::level_enum level, std::string_view text) {
  return level >= spdlog::level::warn || text.starts_with("audit:");
}

void RecentEventsSink::sink_it_(const spdlog::details::log_msg& message) {
  const std::string_view text(message.payload.data(), message.payload.size());
  if (!IsAuditLine(message.level, text)) return;
  RecentEvent event;
  event.wall_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(message.time.time_since_epoch())
          .count();
  const auto level = spdlog::level::to_string_view(message.level);
  event.level.assign(level.data(), level.size());
  event.text = Clip(text, kRecentEventBytesMax);
  std::lock_guard lock(events_mutex_);
  event.seq = next_seq_++;
  events_.push_back(std::move(event));
  while (events_.size() > kRecentEventsMax) events_.pop_front();
}

std::vector<RecentEvent> RecentEventsSink::Recent(uint64_t after, size_t max) const {
  std::lock_guard lock(events_mutex_);
  std::vector<RecentEvent> out;
  for (const RecentEvent& event : events_) {
    if (event.seq > after) out.push_back(event);
  }
  if (out.size() > max) out.erase(out.begin(), out.end() - static_cast<std::ptrdiff_t>(max));
  return out;
}

namespace {

// One per process. Every capture's sink hangs from it, so nodes running side by side in one
// process (syncbench's station fleet, tests) add and remove their sinks under the router's own
// mutex: the logger's sink list is unguarded, and is written only once, by the first capture.
const std::shared_ptr<spdlog::sinks::dist_sink_mt>& Router() {
  static const auto router = std::make_shared<spdlog::sinks::dist_sink_mt>();
  return router;
}

// Puts the router in the default logger's sinks unless it is there (the default logger may have
// been replaced since the last capture).
void RouteDefaultLogger() {
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  auto& sinks = spdlog::default_logger()->sinks();
  if (std::find(sinks.begin(), sinks.end(), Router()) == sinks.end()) sinks.push_back(Router());
}

}  // namespace

RecentEventsCapture::RecentEventsCapture() : sink_(std::make_shared<RecentEventsSink>()) {
  sink_->set_level(spdlog::level::info);
  RouteDefaultLogger();
  Router()->add_sink(sink_);
}

RecentEventsCapture::~RecentEventsCapture() {
  Router()->remove_sink(sink_);
}

}  // namespace stationsync
