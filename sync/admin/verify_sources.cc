// See verify_sources.h.
#include "sync/admin/verify_sources.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "sync/codec/record_codec.h"
#include "sync/storage/replica_keys.h"

namespace stationsync {

namespace {

// The child (0-15) of a level-12 node that a slot falls in.
size_t LeafIndex(uint16_t slot) {
  return slot & (kTreeFanout - 1);
}

Result<TreeEntry> EntryOf(std::string_view key, const RecordHash& hash, std::string version) {
  auto parts = ParseRecordKey(key);
  if (!parts) return Internal(fmt::format("unreadable record key {}", key));
  return TreeEntry{parts->id, FingerprintOf(hash), std::move(version)};
}

void SortById(std::vector<TreeEntry>& entries) {
  std::sort(entries.begin(), entries.end(),
            [](const TreeEntry& a, const TreeEntry& b) { return a.id < b.id; });
}

}  // namespace

Result<DigestBucket> StoredTree::Sum(const TreeNode& node) {
  return replica_.TreeNodeSum(node);
}

Result<std::array<DigestBucket, kTreeFanout>> StoredTree::Children(const TreeNode& node) {
  if (!IsValidTreeNode(node) || node.level >= kTreeLeafLevel) {
    return Invalid("the children of a leaf or of no node of the verify tree");
  }
  std::array<DigestBucket, kTreeFanout> sums{};
  if (node.level + kTreeFanoutBits < kTreeLeafLevel) {  // the children's sums are kept
    for (size_t i = 0; i < kTreeFanout; ++i) {
      auto sum = replica_.TreeNodeSum(TreeChild(node, i));
      if (!sum.ok()) return sum.status();
      sums[i] = *sum;
    }
    return sums;
  }
  auto records = replica_.TreeRecords(node, kTreeFanout * kVerifyLeafRecordsMax);
  if (!records.ok()) return records.status();
  for (const auto& record : *records) sums[LeafIndex(record.slot)].Add(record.hash);
  return sums;
}

Result<std::vector<std::vector<TreeEntry>>> StoredTree::Entries(
    const std::vector<TreeNode>& leaves) {
  std::vector<std::vector<TreeEntry>> out;
  for (const TreeNode& leaf : leaves) {
    if (!IsValidTreeNode(leaf) || leaf.level != kTreeLeafLevel) {
      return Invalid("the entries of a node that is no leaf");
    }
    auto records = replica_.TreeRecords(leaf, kVerifyLeafRecordsMax, as_of_);
    if (!records.ok()) return records.status();
    auto& entries = out.emplace_back();
    for (auto& record : *records) {
      auto entry = EntryOf(record.key, record.hash, std::move(record.version));
      if (!entry.ok()) return entry.status();
      entries.push_back(std::move(entry).value());
    }
    SortById(entries);
  }
  return out;
}

Result<std::unique_ptr<RecomputedTree>> RecomputedTree::Build(const Replica& replica) {
  std::unique_ptr<RecomputedTree> tree(new RecomputedTree(replica));
  Status status =
      replica.ForEachStoredRecord([&](std::string_view key, std::string_view encoded) -> Status {
        auto record = DecodeRecord(encoded);
        if (!record.ok()) return Internal(fmt::format("stored record {} is unreadable", key));
        tree->leaves_[{record->owner, record->table}][TreeSlot(key)].Add(HashRecordBytes(encoded));
        return Status::Ok();
      });
  if (!status.ok()) return status;
  return tree;
}

Result<DigestBucket> RecomputedTree::Sum(const TreeNode& node) {
  if (!IsValidTreeNode(node)) return Invalid("not a node of the verify tree");
  DigestBucket sum;
  const auto it = leaves_.find({node.owner, node.table});
  if (it == leaves_.end()) return sum;
  const auto first = it->second.lower_bound(node.prefix);
  for (auto slot = first; slot != it->second.end() && TreeCovers(node, slot->first); ++slot) {
    sum.Add(slot->second);
  }
  return sum;
}

Result<std::array<DigestBucket, kTreeFanout>> RecomputedTree::Children(const TreeNode& node) {
  if (!IsValidTreeNode(node) || node.level >= kTreeLeafLevel) {
    return Invalid("the children of a leaf or of no node of the verify tree");
  }
  std::array<DigestBucket, kTreeFanout> sums{};
  for (size_t i = 0; i < kTreeFanout; ++i) {
    auto sum = Sum(TreeChild(node, i));
    if (!sum.ok()) return sum.status();
    sums[i] = *sum;
  }
  return sums;
}

Result<std::vector<std::vector<TreeEntry>>> RecomputedTree::Entries(
    const std::vector<TreeNode>& leaves) {
  std::map<TreeNode, size_t> wanted;
  for (size_t i = 0; i < leaves.size(); ++i) {
    if (!IsValidTreeNode(leaves[i]) || leaves[i].level != kTreeLeafLevel) {
      return Invalid("the entries of a node that is no leaf");
    }
    wanted[leaves[i]] = i;
  }
  std::vector<std::vector<TreeEntry>> out(leaves.size());
  Status status = replica_.ForEachStoredRecord(
      [&](std::string_view key, std::string_view encoded) -> Status {
        auto record = DecodeRecord(encoded);
        if (!record.ok()) return Internal(fmt::format("stored record {} is unreadable", key));
        const auto at =
            wanted.find(TreeNodeOf(record->owner, record->table, TreeSlot(key), kTreeLeafLevel));
        if (at == wanted.end()) return Status::Ok();
        auto entry = EntryOf(key, HashRecordBytes(encoded), VersionString(*record));
        if (!entry.ok()) return entry.status();
        out[at->second].push_back(std::move(entry).value());
        return Status::Ok();
      },
      as_of_);
  if (!status.ok()) return status;
  for (auto& entries : out) SortById(entries);
  return out;
}

}  // namespace stationsync
