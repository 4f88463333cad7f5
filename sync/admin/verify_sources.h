// Where `syncctl verify` reads a replica's verify tree (sync/storage/verify_tree.h) from:
//  - StoredTree: the sums the replica keeps in the same batches as its records (cheap: a verify
//    of a million equal records reads a few dozen keys);
//  - RecomputedTree (`--deep`): the sums recomputed from the stored records themselves, trusting
//    no index and no kept sum, so that damage behind the daemon's back (a restored file, bit
//    rot, a bug) is found, as Riak rebuilds its hash trees. It reads every record once to build
//    the leaves' sums (memory: one DigestBucket per non-empty leaf, at most 65,536 per owner and
//    table) and once more per Entries call.
// Both only read; the hub answers stations from a StoredTree.
#pragma once

#include <map>
#include <memory>
#include <utility>

#include "sync/storage/replica.h"
#include "sync/storage/verify_tree.h"

namespace stationsync {

// At most this many records are listed under one leaf (a leaf holds about records/65,536 of an
// owner's table: 15 for a million).
inline constexpr size_t kVerifyLeafRecordsMax = 4096;

// A TreeSource over a replica's stored state.
class ReplicaTreeSource : public TreeSource {
 public:
  // Later reads of records (Entries) see the replica as of `point` (null: as it is when read).
  // A station's walk compares records as of the moment it took the hub's reply, with what it
  // had in flight then: a write landing while it reads cannot pass for a difference.
  void ReadAsOf(Replica::ReadPoint point) { as_of_ = std::move(point); }

 protected:
  explicit ReplicaTreeSource(const Replica& replica) : replica_(replica) {}
  const Replica& replica_;
  Replica::ReadPoint as_of_;
};

class StoredTree final : public ReplicaTreeSource {
 public:
  explicit StoredTree(const Replica& replica) : ReplicaTreeSource(replica) {}
  Result<DigestBucket> Sum(const TreeNode& node) override;
  Result<std::array<DigestBucket, kTreeFanout>> Children(const TreeNode& node) override;
  Result<std::vector<std::vector<TreeEntry>>> Entries(const std::vector<TreeNode>& leaves) override;
};

class RecomputedTree final : public ReplicaTreeSource {
 public:
  // Reads every stored record once.
  static Result<std::unique_ptr<RecomputedTree>> Build(const Replica& replica);
  Result<DigestBucket> Sum(const TreeNode& node) override;
  Result<std::array<DigestBucket, kTreeFanout>> Children(const TreeNode& node) override;
  Result<std::vector<std::vector<TreeEntry>>> Entries(const std::vector<TreeNode>& leaves) override;

 private:
  explicit RecomputedTree(const Replica& replica) : ReplicaTreeSource(replica) {}
  // (owner, table) -> slot -> the sum of its records.
  std::map<std::pair<std::string, Table>, std::map<uint16_t, DigestBucket>> leaves_;
};

}  // namespace stationsync
