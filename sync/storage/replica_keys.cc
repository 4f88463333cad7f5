#include "sync/storage/replica_keys.h"

#include <algorithm>

namespace stationsync {

std::string TablePrefix(Table table) {
  return std::string(TableName(table)) + "/";
}

std::string RecordKey(Table table, std::string_view id) {
  return TablePrefix(table) += id;
}

bool RecordKeyLess(Table a_table, std::string_view a_id, Table b_table, std::string_view b_id) {
  if (a_table != b_table) return TablePrefix(a_table) < TablePrefix(b_table);  // short: no heap
  return a_id < b_id;
}

std::optional<RecordKeyParts> ParseRecordKey(std::string_view key) {
  const size_t slash = key.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto table = ParseTable(key.substr(0, slash));
  if (!table.ok()) return std::nullopt;
  return RecordKeyParts{*table, std::string(key.substr(slash + 1))};
}

std::string SeqKey(uint64_t seq) {
  std::string key(8, '\0');
  for (int i = 7; i >= 0; --i) {
    key[static_cast<size_t>(i)] = static_cast<char>(seq & 0xff);
    seq >>= 8;
  }
  return key;
}

std::optional<uint64_t> ParseSeqKey(std::string_view key) {
  if (key.size() != 8) return std::nullopt;
  uint64_t seq = 0;
  for (char c : key) seq = (seq << 8) | static_cast<unsigned char>(c);
  return seq;
}

std::string HistoryPrefix(std::string_view record_key) {
  std::string prefix(record_key);
  prefix += '\0';
  return prefix;
}

std::string HistoryKey(std::string_view record_key, const Stamp& at) {
  return HistoryPrefix(record_key) + SeqKey(at.hlc) + at.node;
}

std::string LoggedWholeKey(std::string_view record_key) {
  std::string key(record_key);
  key += '\x01';
  return key;
}

std::string IndexPrefix(char kind, std::string_view value) {
  std::string prefix(1, kind);
  prefix += value;
  prefix += '\0';
  return prefix;
}

std::string_view IndexTarget(std::string_view index_key) {
  const size_t zero = index_key.find('\0');
  return zero == std::string_view::npos ? std::string_view{} : index_key.substr(zero + 1);
}

std::string ConflictPrefix(std::string_view record_key) {
  return HistoryPrefix(record_key);  // the same shape: the record key, then 0x00
}

std::string ConflictKey(std::string_view record_key, std::string_view conflict_id) {
  return ConflictPrefix(record_key) + std::string(conflict_id);
}

std::vector<std::string> IndexKeys(const Record& record) {
  const std::string key = RecordKey(record.table, record.id);
  std::vector<std::string> keys{IndexPrefix(kOwnerIndex, record.owner) + key};
  const TreeNode leaf = TreeNodeOf(record.owner, record.table, TreeSlot(key), kTreeLeafLevel);
  keys.push_back(TreeIndexStart(leaf) + key);
  if (record.deleted) return keys;
  if (record.table == Table::kRegistration) {
    if (const std::string* household = record.Text("household")) {
      keys.push_back(IndexPrefix(kHouseholdIndex, *household) + key);
    }
  }
  if (record.table == Table::kPersonnel) {
    if (const std::string* id_number = record.Text("id_number")) {
      keys.push_back(IndexPrefix(kIdNumberIndex, *id_number) + key);
    }
  }
  if (record.table == Table::kCase) {
    const auto involved = record.fields.find("involved");
    if (involved != record.fields.end()) {
      if (const auto* ids = std::get_if<std::vector<std::string>>(&involved->second.value)) {
        std::vector<std::string> unique = *ids;
        std::sort(unique.begin(), unique.end());
        unique.erase(std::unique(unique.begin(), unique.end()), unique.end());
        for (const auto& id : unique) keys.push_back(IndexPrefix(kIdNumberIndex, id) + key);
      }
    }
  }
  return keys;
}

namespace {

std::string TreeKeyPrefix(char kind, const TreeNode& node) {
  std::string key = IndexPrefix(kind, node.owner);
  key += static_cast<char>(node.table);
  return key;
}

void PutSlot(std::string& key, uint32_t slot) {
  key += static_cast<char>((slot >> 8) & 0xff);
  key += static_cast<char>(slot & 0xff);
}

}  // namespace

std::string TreeIndexStart(const TreeNode& node) {
  std::string key = TreeKeyPrefix(kTreeIndex, node);
  PutSlot(key, node.prefix);
  return key;
}

std::string TreeIndexLimit(const TreeNode& node) {
  std::string key = TreeKeyPrefix(kTreeIndex, node);
  const uint32_t end = uint32_t{node.prefix} + (uint32_t{1} << (kTreeLeafLevel - node.level));
  if (end > 0xffff) {  // past the table's last slot: the next table's first key
    key.back() = static_cast<char>(static_cast<unsigned char>(key.back()) + 1);
    return key;
  }
  PutSlot(key, end);
  return key;
}

std::string_view TreeIndexTarget(std::string_view index_key) {
  if (index_key.empty() || index_key[0] != kTreeIndex) return {};
  const size_t zero = index_key.find('\0');
  if (zero == std::string_view::npos || index_key.size() < zero + 4) return {};
  return index_key.substr(zero + 4);
}

std::string TreeNodeKey(const TreeNode& node) {
  std::string key = TreeKeyPrefix(kTreeNodeSum, node);
  key += static_cast<char>(node.level);
  PutSlot(key, node.prefix);
  return key;
}

}  // namespace stationsync
