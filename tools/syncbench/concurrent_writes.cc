// See concurrent_writes.h.
#include "tools/syncbench/concurrent_writes.h"

#include <atomic>
#include <cassert>
#include <chrono>
#include <mutex>
#include <optional>
#include <thread>

#include <fmt/format.h>

namespace stationsync::bench {

Result<ConcurrentWrites> RunConcurrentWrites(size_t workers, size_t count,
                                             const MakeWriter& make_writer) {
  assert(workers >= 1);
  using Clock = std::chrono::steady_clock;
  std::vector<std::vector<double>> latencies(workers);
  std::atomic<size_t> next = 0;
  std::atomic<bool> failed = false;
  std::optional<Status> failure;  // the first only
  std::mutex failure_mutex;
  const auto start = Clock::now();
  {
    std::vector<std::jthread> threads;
    threads.reserve(workers);
    for (size_t w = 0; w < workers; ++w) {
      threads.emplace_back([&, w] {
        const WriteOne write_one = make_writer(w);
        for (size_t i = next++; i < count && !failed; i = next++) {
          const auto begin = Clock::now();
          if (Status written = write_one(i); !written.ok()) {
            std::lock_guard lock(failure_mutex);
            if (!failure) {
              failure = Status(written.code(), fmt::format("write {}: {}", i, written.message()));
            }
            failed = true;
            return;
          }
          latencies[w].push_back(
              std::chrono::duration<double, std::milli>(Clock::now() - begin).count());
        }
      });
    }
  }  // joins every worker
  if (failure) return *failure;
  ConcurrentWrites out;
  out.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  for (const auto& some : latencies) {
    out.latencies_ms.insert(out.latencies_ms.end(), some.begin(), some.end());
  }
  assert(out.latencies_ms.size() == count);
  return out;
}

}  // namespace stationsync::bench
