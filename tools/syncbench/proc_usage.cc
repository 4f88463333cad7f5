#include "tools/syncbench/proc_usage.h"

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include <fmt/format.h>
#include <unistd.h>

namespace stationsync::bench {

double CpuSeconds(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The command name (field 2) may hold spaces: fields are counted after its closing ')'.
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  uint64_t utime = 0, stime = 0;
  // Fields 3.. follow; utime and stime are fields 14 and 15.
  for (int number = 3; number <= 15 && fields >> field; ++number) {
    if (number == 14) utime = std::stoull(field);
    if (number == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

uint64_t PeakRssBytes(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/status", pid));
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("VmHWM:")) return std::stoull(line.substr(6)) * 1024;  // in kB
  }
  return 0;
}

double WaitUntilIdle(pid_t pid, double max_seconds) {
  constexpr auto kWindow = std::chrono::milliseconds(500);
  constexpr double kIdleShare = 0.05;  // of one core over the window
  const auto start = std::chrono::steady_clock::now();
  const auto waited = [&start] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  double before = CpuSeconds(pid);
  while (waited() < max_seconds) {
    std::this_thread::sleep_for(kWindow);
    const double now = CpuSeconds(pid);
    if (now - before < kIdleShare * std::chrono::duration<double>(kWindow).count()) break;
    before = now;
  }
  return waited();
}

}  // namespace stationsync::bench
