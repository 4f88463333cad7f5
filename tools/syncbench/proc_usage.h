// What another process has used, from /proc: CPU time and peak resident memory. Linux only.
#pragma once

#include <cstdint>

#include <sys/types.h>

namespace stationsync::bench {

// User plus system CPU seconds `pid` has used so far (0 if it cannot be read).
double CpuSeconds(pid_t pid);
// The peak resident set size of `pid` (VmHWM), in bytes (0 if it cannot be read).
uint64_t PeakRssBytes(pid_t pid);

}  // namespace stationsync::bench
