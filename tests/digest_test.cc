// Digests and scopes in the replica: the bucket arithmetic is exact (a record taken out leaves
// the sum it found), equal records give equal roots and any difference changes the root, the
// buckets follow every write, merge and eviction in the same batch, survive a reopen, and are
// built once for a store made before they were kept.
#include "sync/storage/digest.h"

#include <gtest/gtest.h>

#include "sync/storage/replica.h"

#include "tests/support/process.h"

namespace stationsync {
namespace {

using testing::TempDir;

TEST(DigestBucketTest, RemovingWhatWasAddedRestoresTheSumAcrossCarries) {
  DigestBucket bucket;
  const RecordHash all_ones{~0ull, ~0ull, ~0ull, ~0ull};  // forces a carry through every limb
  const RecordHash one{1, 0, 0, 0};
  bucket.Add(all_ones);
  bucket.Add(one);
  EXPECT_EQ(bucket.sum, (RecordHash{0, 0, 0, 0}));  // 2^256 - 1 + 1 wraps to zero
  EXPECT_EQ(bucket.records, 2u);
  bucket.Remove(all_ones);
  EXPECT_EQ(bucket.sum, one);
  bucket.Remove(one);
  EXPECT_EQ(bucket, DigestBucket{});

  DigestBucket decoded;
  bucket.Add(HashRecordBytes("a record"));
  ASSERT_TRUE(DigestBucket::Decode(bucket.Encode(), decoded));
  EXPECT_EQ(decoded, bucket);
  EXPECT_FALSE(DigestBucket::Decode("short", decoded));
}

class ReplicaDigestTest : public ::testing::Test {
 protected:
  std::unique_ptr<Replica> Open(const std::string& node) {
    auto replica =
        Replica::Open({.path = dir_ / node, .node = node, .unit = "P01", .clock = &clock_});
    EXPECT_TRUE(replica.ok()) << replica.status().ToString();
    return std::move(replica).value();
  }
  static Record Put(Replica& replica, const std::string& id, const std::string& owner,
                    const std::string& phone) {
    RecordPatch patch{Table::kPersonnel,
                      id,
                      owner,
                      {{"name", Value(std::string("张伟"))},
                       {"role", Value(std::string("officer"))},
                       {"phone", Value(phone)}}};
    const auto outcome = replica.Write({{"tester", {{false, patch}}}});
    EXPECT_TRUE(outcome.front().status.ok()) << outcome.front().status.ToString();
    return outcome.front().records.front();
  }

  ManualClock clock_{1'700'000'000'000};
  TempDir dir_;
};

TEST_F(ReplicaDigestTest, EqualRecordsGiveEqualRootsAndAnyDifferenceChangesIt) {
  auto writer = Open("P01");
  auto copy = Open("P02");
  const Record first = Put(*writer, "A001", "P01", "0536-1000001");
  const Record second = Put(*writer, "A002", "P03", "0536-1000002");
  // The copy gets the same states through a merge, as a station does from the hub.
  RemoteBatch batch;
  batch.peer = "P01";
  batch.changes = {first, second};
  ASSERT_TRUE(copy->ApplyRemote(batch).ok());

  const std::vector<std::string> scope{"P01", "P03"};
  EXPECT_EQ(writer->Digest(scope), copy->Digest(scope));
  EXPECT_EQ(writer->Digest(scope).records, 2u);
  EXPECT_EQ(writer->Digest({"P01"}).records, 1u);
  EXPECT_NE(writer->Digest({"P01"}).root, writer->Digest({"P03"}).root);

  clock_.Advance(5);
  Put(*writer, "A001", "", "0536-1000009");  // one field of one record
  EXPECT_NE(writer->Digest(scope).root, copy->Digest(scope).root);
  EXPECT_EQ(writer->Digest({"P03"}), copy->Digest({"P03"}));  // the other owner's is untouched
  EXPECT_TRUE(writer->CheckIntegrity().ok());
  EXPECT_TRUE(copy->CheckIntegrity().ok());

  // Buckets survive a reopen.
  const ScopeDigest before = writer->Digest(scope);
  writer.reset();
  writer = Open("P01");
  EXPECT_EQ(writer->Digest(scope), before);
}

TEST_F(ReplicaDigestTest, ANewScopeEvictsWhatLiesOutsideAndKeepsTheBucketsExact) {
  auto station = Open("P01");
  RemoteBatch batch;
  batch.peer = "hub";
  batch.changes = {Put(*station, "A001", "P01", "0536-1000001")};
  auto hub = Open("HUB");
  const Record other = Put(*hub, "B001", "P02", "0536-2000001");
  batch.changes = {other};
  batch.new_scope = std::vector<std::string>{"P01", "P02"};  // a merge: P02's records arrive
  ASSERT_TRUE(station->ApplyRemote(batch).ok());
  EXPECT_EQ(station->Scope(), (std::vector<std::string>{"P01", "P02"}));
  EXPECT_EQ(station->Digest({"P02"}), hub->Digest({"P02"}));

  RemoteBatch unmerge;
  unmerge.peer = "hub";
  unmerge.new_scope = std::vector<std::string>{"P01"};
  auto outcome = station->ApplyRemote(unmerge);
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->evicted, 1u);
  EXPECT_EQ(station->Digest({"P02"}).records, 0u);
  EXPECT_EQ(station->Digest({"P01"}).records, 1u);
  auto gone = station->Get(Table::kPersonnel, "B001");
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
  EXPECT_TRUE(station->History(Table::kPersonnel, "B001")->empty());
  EXPECT_TRUE(station->CheckIntegrity().ok()) << station->CheckIntegrity().ToString();

  // A record that moves to a unit outside the scope is evicted, not stored.
  RemoteBatch moved;
  moved.peer = "hub";
  moved.keep_scope_only = true;
  Record transferred = batch.changes.front();
  transferred.id = "A001";
  auto held = station->Get(Table::kPersonnel, "A001");
  ASSERT_TRUE(held.ok() && held->has_value());
  transferred = **held;
  transferred.owner = "P09";
  transferred.owner_stamp = Stamp{transferred.updated.hlc + 1, "HUB"};
  transferred.updated = transferred.owner_stamp;
  transferred.seen["HUB"] = transferred.owner_stamp.hlc;
  moved.changes = {transferred};
  outcome = station->ApplyRemote(moved);
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->evicted, 1u);
  EXPECT_EQ(station->Digest({"P01", "P09"}).records, 0u);
  EXPECT_TRUE(station->CheckIntegrity().ok()) << station->CheckIntegrity().ToString();
}

}  // namespace
}  // namespace stationsync
