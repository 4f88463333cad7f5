// The replica's read-only figures for metrics: store sizes from RocksDB's properties, and
// records by table. See replica.h (Sizes, CountStoredByTable). Any thread; no writes.
#include <rocksdb/db.h>

#include "sync/storage/replica.h"
#include "sync/storage/replica_internal.h"
#include "sync/storage/replica_keys.h"

namespace stationsync {

using namespace replica_internal;  // this module's own internals

StoreSizes Replica::Sizes() const {
  StoreSizes sizes;
  rocksdb::DB& db = *db_->db;
  for (rocksdb::ColumnFamilyHandle* family : db_->families) {
    uint64_t value = 0;
    if (db.GetIntProperty(family, rocksdb::DB::Properties::kEstimateLiveDataSize, &value)) {
      sizes.live_data_bytes += value;
    }
    if (db.GetIntProperty(family, rocksdb::DB::Properties::kLiveSstFilesSize, &value)) {
      sizes.sst_bytes += value;
    }
    if (db.GetIntProperty(family, rocksdb::DB::Properties::kCurSizeAllMemTables, &value)) {
      sizes.memtable_bytes += value;
    }
  }
  rocksdb::VectorLogPtr wal_files;
  if (db.GetSortedWalFiles(wal_files).ok()) {
    for (const auto& file : wal_files) sizes.wal_bytes += file->SizeFileBytes();
  }
  return sizes;
}

Result<std::map<Table, uint64_t>> Replica::CountStoredByTable() const {
  std::map<Table, uint64_t> counts;
  rocksdb::ReadOptions options;
  options.fill_cache = false;  // a scan for metrics should not evict what the node reads
  for (Table table : kAllTables) {
    const std::string prefix = TablePrefix(table);
    uint64_t count = 0;
    std::unique_ptr<rocksdb::Iterator> it(db_->db->NewIterator(options, db_->records));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) ++count;
    if (Status s = FromRocks(it->status(), "counting records"); !s.ok()) return s;
    counts[table] = count;
  }
  return counts;
}

}  // namespace stationsync
