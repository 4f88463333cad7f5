// See verify_tree.h.
#include "sync/storage/verify_tree.h"

#include <sodium.h>

namespace stationsync {

uint16_t TreeSlot(std::string_view record_key) {
  unsigned char out[16];  // BLAKE2b's shortest output; the slot is its first two bytes
  crypto_generichash(out, sizeof out, reinterpret_cast<const unsigned char*>(record_key.data()),
                     record_key.size(), nullptr, 0);
  return static_cast<uint16_t>((out[0] << 8) | out[1]);
}

namespace {

uint16_t MaskOf(uint8_t level) {
  return level == 0 ? 0 : static_cast<uint16_t>(0xffffu << (kTreeLeafLevel - level));
}

}  // namespace

bool IsValidTreeNode(const TreeNode& node) {
  if (node.level > kTreeLeafLevel || node.level % kTreeFanoutBits != 0) return false;
  return (node.prefix & ~MaskOf(node.level) & 0xffffu) == 0;
}

TreeNode TreeChild(const TreeNode& node, size_t i) {
  TreeNode child = node;
  child.level = static_cast<uint8_t>(node.level + kTreeFanoutBits);
  child.prefix = static_cast<uint16_t>(node.prefix | (i << (kTreeLeafLevel - child.level)));
  return child;
}

bool TreeCovers(const TreeNode& node, uint16_t slot) {
  return (slot & MaskOf(node.level)) == node.prefix;
}

TreeNode TreeNodeOf(const std::string& owner, Table table, uint16_t slot, uint8_t level) {
  return TreeNode{owner, table, level, static_cast<uint16_t>(slot & MaskOf(level))};
}

uint64_t FingerprintOf(const RecordHash& hash) {
  return hash[0] ^ hash[1] ^ hash[2] ^ hash[3];
}

TreeSum SumOf(const DigestBucket& bucket) {
  return TreeSum{bucket.records, FingerprintOf(bucket.sum)};
}

}  // namespace stationsync
