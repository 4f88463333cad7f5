// syncbench's write harness (tools/syncbench/concurrent_writes.h), which the writes, latency and
// http-writes benches share: every index written exactly once over the workers, one latency per
// write, each worker's writer made once on its own thread, and the first failure stops the run
// and is what it reports.
#include "tools/syncbench/concurrent_writes.h"

#include <atomic>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace stationsync::bench {
namespace {

TEST(ConcurrentWrites, WritesEveryIndexOnceOverTheWorkers) {
  constexpr size_t kWorkers = 4;
  constexpr size_t kCount = 1000;
  std::vector<std::atomic<int>> written(kCount);
  std::mutex mutex;
  std::set<size_t> workers_made;
  std::set<std::thread::id> threads;
  auto timed = RunConcurrentWrites(kWorkers, kCount, [&](size_t worker) -> WriteOne {
    {
      std::lock_guard lock(mutex);
      EXPECT_TRUE(workers_made.insert(worker).second) << "worker " << worker << " made twice";
      threads.insert(std::this_thread::get_id());
    }
    return [&](size_t i) {
      EXPECT_LT(i, kCount);
      if (i < kCount) ++written[i];
      return Status::Ok();
    };
  });
  ASSERT_TRUE(timed.ok()) << timed.status().ToString();
  EXPECT_EQ(timed->latencies_ms.size(), kCount);
  EXPECT_GT(timed->seconds, 0);
  for (size_t i = 0; i < kCount; ++i) EXPECT_EQ(written[i], 1) << "index " << i;
  EXPECT_EQ(workers_made, (std::set<size_t>{0, 1, 2, 3}));
  EXPECT_EQ(threads.size(), kWorkers) << "each writer is made on its own thread";
  EXPECT_EQ(threads.count(std::this_thread::get_id()), 0U);
}

TEST(ConcurrentWrites, AFailureStopsTheRunAndIsReported) {
  // One worker: the run stops right after the failing write.
  size_t attempts = 0;
  auto timed = RunConcurrentWrites(1, 1000, [&](size_t) -> WriteOne {
    return [&](size_t i) {
      ++attempts;
      return i == 50 ? Unavailable("disk gone") : Status::Ok();
    };
  });
  ASSERT_FALSE(timed.ok());
  EXPECT_EQ(timed.status().code(), Code::kUnavailable);
  EXPECT_EQ(timed.status().message(), "write 50: disk gone");
  EXPECT_EQ(attempts, 51U);
  // Several workers: the failing write is reported, and the run ends short of its count.
  std::atomic<size_t> calls = 0;
  timed = RunConcurrentWrites(4, 10'000'000, [&](size_t) -> WriteOne {
    return [&](size_t i) {
      ++calls;
      return i == 50 ? Refused("out of scope") : Status::Ok();
    };
  });
  ASSERT_FALSE(timed.ok());
  EXPECT_EQ(timed.status().code(), Code::kRefused);
  EXPECT_EQ(timed.status().message(), "write 50: out of scope");
  EXPECT_LT(calls.load(), 10'000'000U) << "the workers went on after the failure";
}

TEST(ConcurrentWrites, MoreWorkersThanWritesAndNoWrites) {
  std::atomic<size_t> calls = 0;
  auto timed = RunConcurrentWrites(8, 3, [&](size_t) -> WriteOne {
    return [&](size_t) {
      ++calls;
      return Status::Ok();
    };
  });
  ASSERT_TRUE(timed.ok());
  EXPECT_EQ(calls.load(), 3U);
  EXPECT_EQ(timed->latencies_ms.size(), 3U);
  auto none = RunConcurrentWrites(2, 0, [](size_t) -> WriteOne { return {}; });
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->latencies_ms.empty());
}

}  // namespace
}  // namespace stationsync::bench
