// LogHeads, the hub's shared cache of its log's newest heads: it answers exactly what the replica
// answers, for sessions inside the cache, behind it, and after the log grew.
#include "sync/protocol/log_heads.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "sync/storage/replica.h"

#include "tests/support/process.h"

namespace stationsync {
namespace {

class LogHeadsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = Replica::Open({.path = dir_.path() + "/hub", .node = "hub", .unit = "hub"});
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    replica_ = std::move(opened).value();
  }

  void WriteOfficers(int from, int count) {
    for (int i = from; i < from + count; ++i) {
      RecordPatch patch{Table::kPersonnel,
                        fmt::format("P{}", i),
                        fmt::format("S{}", i % 3),
                        {{"name", Value("张伟")}, {"role", Value("officer")}}};
      ASSERT_TRUE(replica_->Write({{"tester", {{false, patch}}}}).front().status.ok());
    }
  }

  // The cache's answer equals the replica's, head by head.
  void ExpectSameAsReplica(LogHeads& heads, uint64_t after, size_t max) {
    auto cached = heads.After(after, max);
    auto direct = replica_->ChangeHeadsAfter(after, max);
    ASSERT_TRUE(cached.ok() && direct.ok());
    ASSERT_EQ(cached->size(), direct->size()) << "after " << after << " max " << max;
    for (size_t i = 0; i < cached->size(); ++i) {
      EXPECT_EQ((*cached)[i].seq, (*direct)[i].seq);
      EXPECT_EQ((*cached)[i].delta.id, (*direct)[i].delta.id);
      EXPECT_EQ((*cached)[i].owners, (*direct)[i].owners);
    }
  }

  testing::TempDir dir_;
  std::unique_ptr<Replica> replica_;
};

TEST_F(LogHeadsTest, AnswersAsTheReplicaInsideBehindAndAfterTheCache) {
  WriteOfficers(0, 20);
  LogHeads heads(*replica_, /*kept=*/8);
  for (uint64_t after : {0, 5, 11, 12, 13, 19, 20, 25}) {
    for (size_t max : {1, 3, 100}) ExpectSameAsReplica(heads, after, max);
  }
  WriteOfficers(20, 30);  // the cache moves on: 8 of the newest
  for (uint64_t after : {0, 19, 41, 42, 45, 49, 50}) {
    for (size_t max : {1, 7, 100}) ExpectSameAsReplica(heads, after, max);
  }
}

TEST_F(LogHeadsTest, AnEmptyLogHasNoHeads) {
  LogHeads heads(*replica_);
  auto none = heads.After(0, 10);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

}  // namespace
}  // namespace stationsync
