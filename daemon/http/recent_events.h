// The recent audit lines the dashboard shows: a bounded ring of the daemon's own log lines that
// are look-ups ("audit: ..." lines: a station's look-up outside its scope at the hub, an app's
// refused request over HTTP) or warnings and errors (refused handshakes, rejected changes,
// stations gone silent). The daemon keeps no audit log of its own beyond its log lines, so this
// is a spdlog sink beside the log's: what the dashboard shows is what the log says, and nothing
// survives a restart (the log file does).
//
// Threads: the sink is called by whichever thread logs (spdlog's base_sink locks its mutex);
// Recent() is safe from any thread.
// Invariants: 1. at most kRecentEventsMax events are kept, the newest; 2. each text is at most
// kRecentEventBytesMax bytes; 3. seq strictly increases, so a reader can ask for what is newer.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <spdlog/sinks/base_sink.h>

namespace stationsync {

inline constexpr size_t kRecentEventsMax = 200;
inline constexpr size_t kRecentEventBytesMax = 400;

struct RecentEvent {
  uint64_t seq = 0;     // 1, 2, ... in the order logged
  int64_t wall_ms = 0;  // when it was logged, ms since the Unix epoch
  std::string level;    // "info" (audit lines), "warning", "error", "critical"
  std::string text;     // the log line's message, clipped
};

// True if a line of this level and text belongs in the ring.
bool IsAuditLine(spdlog::level::level_enum level, std::string_view text);

class RecentEventsSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  // The newest events with seq > after, oldest first, at most `max`.
  std::vector<RecentEvent> Recent(uint64_t after = 0, size_t max = kRecentEventsMax) const;

 protected:
  void sink_it_(const spdlog::details::log_msg& message) override;
  void flush_() override {}

 private:
  mutable std::mutex events_mutex_;  // Recent() does not take base_sink's mutex
  std::deque<RecentEvent> events_;   // under events_mutex_
  uint64_t next_seq_ = 1;            // under events_mutex_
};

// Feeds a RecentEventsSink from the default logger while it lives. Captures may come and go on
// any thread (nodes sharing a process each make one, and each sees all their lines): they hang
// from one process-wide spdlog dist_sink, which the first capture adds to the default logger's
// unguarded sink list. So make the first capture before other threads log, as syncd's loops do.
class RecentEventsCapture {
 public:
  RecentEventsCapture();
  ~RecentEventsCapture();
  RecentEventsCapture(const RecentEventsCapture&) = delete;
  RecentEventsCapture& operator=(const RecentEventsCapture&) = delete;
  const RecentEventsSink& sink() const { return *sink_; }

 private:
  std::shared_ptr<RecentEventsSink> sink_;
};

}  // namespace stationsync
