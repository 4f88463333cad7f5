// What another process has used, from /proc: CPU time and peak resident memory. Linux only.
#pragma once

#include <cstdint>

#include <sys/types.h>

namespace stationsync::bench {

// User plus system CPU seconds `pid` has used so far (0 if it cannot be read).
double CpuSeconds(pid_t pid);
// The peak resident set size of `pid` (VmHWM), in bytes (0 if it cannot be read).
uint64_t PeakRssBytes(pid_t pid);
// Waits until `pid` is idle (under 5% of a core over half a second: its background flushes and
// compactions done), at most `max_seconds`; returns the seconds waited. A node set up with data
// keeps compacting it for a while, which a figure counted from the next step would include.
double WaitUntilIdle(pid_t pid, double max_seconds);

}  // namespace stationsync::bench
