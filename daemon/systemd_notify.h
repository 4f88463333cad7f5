// syncd under systemd (Type=notify, WatchdogSec=): readiness and the watchdog, through
// libsystemd's sd_notify. Outside systemd (no NOTIFY_SOCKET) every call does nothing.
//
// Protocol (sd_notify(3)): "READY=1" once, when the store is open and the API (and HTTP, if on)
// are bound, so that units ordered after syncd start only once it answers; "WATCHDOG=1" at least
// every half of WATCHDOG_USEC, sent from the loop's tick, so a loop that stops turning gets the
// service restarted; "STOPPING=1" when a stop begins.
//
// Thread: the daemon's loop only.
#pragma once

#include <cstdint>
#include <string>

namespace stationsync {

class SystemdNotifier {
 public:
  // Reads the environment (NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID) once.
  SystemdNotifier();

  // READY=1 with a STATUS= line for `systemctl status`.
  void Ready(const std::string& status);
  // WATCHDOG=1 if the watchdog is on and half its interval passed since the last one.
  void Tick(uint64_t now_ms);
  void Stopping();

  // The watchdog's interval, 0 when off.
  uint64_t watchdog_ms() const { return watchdog_ms_; }

 private:
  uint64_t watchdog_ms_ = 0;
  uint64_t last_ping_ms_ = 0;
  bool pinged_ = false;
};

}  // namespace stationsync
