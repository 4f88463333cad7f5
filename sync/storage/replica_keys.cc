#include "sync/storage/replica_keys.h"

namespace stationsync {

std::string TablePrefix(Table table) {
  return std::string(TableName(table)) + "/";
}

std::string RecordKey(Table table, std::string_view id) {
  return TablePrefix(table) += id;
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
  if (record.deleted) return keys;
  if (record.table == Table::kRegistration) {
    if (const std::string* household = record.Text("household")) {
      keys.push_back(IndexPrefix(kHouseholdIndex, *household) + key);
    }
    keys.push_back(IndexPrefix(kIdNumberIndex, record.id) + key);
  }
  if (record.table == Table::kPersonnel) {
    if (const std::string* id_number = record.Text("id_number")) {
      keys.push_back(IndexPrefix(kIdNumberIndex, *id_number) + key);
    }
  }
  return keys;
}

}  // namespace stationsync
