#include "sync/storage/sorted_batch.h"

#include <algorithm>
#include <string_view>

namespace stationsync {
namespace {

enum class Kind { kPut, kDelete, kMerge };

struct Operation {
  uint32_t family;
  Kind kind;
  std::string_view key;    // into the original batch's buffer
  std::string_view value;  // likewise; empty for a Delete
};

class Collect final : public rocksdb::WriteBatch::Handler {
 public:
  std::vector<Operation> operations;

  rocksdb::Status PutCF(uint32_t family, const rocksdb::Slice& key,
                        const rocksdb::Slice& value) override {
    operations.push_back({family, Kind::kPut, key.ToStringView(), value.ToStringView()});
    return rocksdb::Status::OK();
  }
  rocksdb::Status DeleteCF(uint32_t family, const rocksdb::Slice& key) override {
    operations.push_back({family, Kind::kDelete, key.ToStringView(), {}});
    return rocksdb::Status::OK();
  }
  rocksdb::Status MergeCF(uint32_t family, const rocksdb::Slice& key,
                          const rocksdb::Slice& value) override {
    operations.push_back({family, Kind::kMerge, key.ToStringView(), value.ToStringView()});
    return rocksdb::Status::OK();
  }
};

}  // namespace

void SortForMemtables(rocksdb::WriteBatch& batch,
                      const std::vector<rocksdb::ColumnFamilyHandle*>& families) {
  Collect collect;
  collect.operations.reserve(batch.Count());
  // Any other kind of operation reaches the Handler's default, which fails (but for a log-data
  // blob, which it skips: the replica writes none).
  if (!batch.Iterate(&collect).ok()) return;
  std::stable_sort(collect.operations.begin(), collect.operations.end(),
                   [](const Operation& a, const Operation& b) {
                     return a.family != b.family ? a.family < b.family : a.key < b.key;
                   });
  std::vector<rocksdb::ColumnFamilyHandle*> by_id;
  for (auto* family : families) {
    if (by_id.size() <= family->GetID()) by_id.resize(family->GetID() + 1);
    by_id[family->GetID()] = family;
  }
  rocksdb::WriteBatch sorted(batch.GetDataSize());
  for (const Operation& op : collect.operations) {
    rocksdb::ColumnFamilyHandle* family = op.family < by_id.size() ? by_id[op.family] : nullptr;
    if (family == nullptr) return;
    rocksdb::Status s;
    switch (op.kind) {
      case Kind::kPut:
        s = sorted.Put(family, op.key, op.value);
        break;
      case Kind::kDelete:
        s = sorted.Delete(family, op.key);
        break;
      case Kind::kMerge:
        s = sorted.Merge(family, op.key, op.value);
        break;
    }
    if (!s.ok()) return;
  }
  batch = std::move(sorted);  // the views into the old buffer are not used past here
}

}  // namespace stationsync
