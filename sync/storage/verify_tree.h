// The verify tree: how a replica's records are laid out for `syncctl verify` to find where two
// replicas differ without sending their records (DESIGN.md, "Consistency tools").
//
// Every record sits in one leaf, chosen by its owner, its table and a 16-bit slot hashed from its
// key. A node of the tree is (owner, table, level, prefix): the records of that owner and table
// whose slot starts with the `level` bits of `prefix`. Levels are 0 (the owner's whole table), 4,
// 8, 12 and 16 (a leaf), so each node has 16 children. A node's sum is a DigestBucket (digest.h):
// the number of its records and the sum of their hashes, so it can be kept up to date by adding
// and subtracting one record's hash, in the same batch as the record (Replica keeps levels 0-12;
// a leaf is read from its records through the tree index). Equal sums mean equal records (up to
// the hash's collisions); a difference is located by descending only into children whose sums
// differ, so a million records that differ in ten cost a few kilobytes to compare.
//
// Pure: no I/O.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sync/records/record.h"
#include "sync/storage/digest.h"

namespace stationsync {

inline constexpr uint8_t kTreeFanoutBits = 4;
inline constexpr uint8_t kTreeLeafLevel = 16;
inline constexpr size_t kTreeFanout = size_t{1} << kTreeFanoutBits;

struct TreeNode {
  std::string owner;
  Table table = Table::kUnit;
  uint8_t level = 0;    // 0, 4, 8, 12 or 16: how many leading bits of a slot `prefix` fixes
  uint16_t prefix = 0;  // the slot bits below the level are zero
  bool operator==(const TreeNode&) const = default;
  auto operator<=>(const TreeNode&) const = default;
};

// The 16-bit slot of a record key ("<table>/<id>"), the same on every node.
uint16_t TreeSlot(std::string_view record_key);

// A node is well formed: a known level, and no prefix bits below it.
bool IsValidTreeNode(const TreeNode& node);
// The `i`th child (0-15) of a node above the leaves.
TreeNode TreeChild(const TreeNode& node, size_t i);
// Whether `slot` falls under `node`.
bool TreeCovers(const TreeNode& node, uint16_t slot);
// The node at `level` above a slot.
TreeNode TreeNodeOf(const std::string& owner, Table table, uint16_t slot, uint8_t level);

// A short fingerprint of a sum, for the wire: two sums with the same records count and
// fingerprint are taken as equal (a 2^-64 chance of missing a difference per comparison).
struct TreeSum {
  uint64_t records = 0;
  uint64_t fingerprint = 0;
  bool operator==(const TreeSum&) const = default;
};
TreeSum SumOf(const DigestBucket& bucket);

// One record of a leaf, as compared: its id, the fingerprint of its hash, and its version
// (VersionString) for the report.
struct TreeEntry {
  std::string id;
  uint64_t fingerprint = 0;
  std::string version;
  bool operator==(const TreeEntry&) const = default;
};
uint64_t FingerprintOf(const RecordHash& hash);

// The records of a replica as the verify walk reads them: from what the replica maintains
// (Replica::StoredTree), or recomputed from the stored records (`--deep`).
class TreeSource {
 public:
  virtual ~TreeSource() = default;
  virtual Result<DigestBucket> Sum(const TreeNode& node) = 0;
  // The sums of a node's 16 children (level < 16).
  virtual Result<std::array<DigestBucket, kTreeFanout>> Children(const TreeNode& node) = 0;
  // The records of each leaf (level 16), sorted by id, in the order of `leaves`.
  virtual Result<std::vector<std::vector<TreeEntry>>> Entries(
      const std::vector<TreeNode>& leaves) = 0;
};

}  // namespace stationsync
