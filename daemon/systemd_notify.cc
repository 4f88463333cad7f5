// See systemd_notify.h.
#include "daemon/systemd_notify.h"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

namespace stationsync {

SystemdNotifier::SystemdNotifier() {
  uint64_t usec = 0;
  // > 0: on, for this process (WATCHDOG_PID, when set, names us).
  if (sd_watchdog_enabled(/*unset_environment=*/0, &usec) > 0) watchdog_ms_ = usec / 1000;
  if (watchdog_ms_ > 0) spdlog::info("systemd watchdog on: every {} ms", watchdog_ms_ / 2);
}

void SystemdNotifier::Ready(const std::string& status) {
  const std::string message = "READY=1\nSTATUS=" + status;
  if (sd_notify(/*unset_environment=*/0, message.c_str()) < 0) {
    spdlog::warn("sd_notify READY=1 failed: systemd may not see this service as started");
  }
}

void SystemdNotifier::Tick(uint64_t now_ms) {
  if (watchdog_ms_ == 0) return;
  if (pinged_ && now_ms - last_ping_ms_ < watchdog_ms_ / 2) return;
  sd_notify(0, "WATCHDOG=1");
  pinged_ = true;
  last_ping_ms_ = now_ms;
}

void SystemdNotifier::Stopping() {
  sd_notify(0, "STOPPING=1");
}

}  // namespace stationsync
