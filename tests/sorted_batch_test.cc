// SortForMemtables: the reordered batch is in key order per family, keeps one key's operations in
// their order, and leaves a store exactly as the original batch does (seeded random batches).
#include "sync/storage/sorted_batch.h"

#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rocksdb/merge_operator.h>

#include "tools/common/temp_dir.h"

namespace stationsync {
namespace {

// Concatenates operands: the result depends on their order, as the replica's sums do not.
class Concatenate final : public rocksdb::AssociativeMergeOperator {
 public:
  bool Merge(const rocksdb::Slice&, const rocksdb::Slice* existing, const rocksdb::Slice& value,
             std::string* merged, rocksdb::Logger*) const override {
    *merged = (existing ? existing->ToString() : "") + value.ToString();
    return true;
  }
  const char* Name() const override { return "Concatenate"; }
};

struct Operation {
  uint32_t family;
  char kind;  // 'p' put, 'd' delete, 'm' merge
  std::string key, value;
  bool operator==(const Operation&) const = default;
};

class Collect final : public rocksdb::WriteBatch::Handler {
 public:
  std::vector<Operation> operations;
  rocksdb::Status PutCF(uint32_t f, const rocksdb::Slice& k, const rocksdb::Slice& v) override {
    operations.push_back({f, 'p', k.ToString(), v.ToString()});
    return rocksdb::Status::OK();
  }
  rocksdb::Status DeleteCF(uint32_t f, const rocksdb::Slice& k) override {
    operations.push_back({f, 'd', k.ToString(), ""});
    return rocksdb::Status::OK();
  }
  rocksdb::Status MergeCF(uint32_t f, const rocksdb::Slice& k, const rocksdb::Slice& v) override {
    operations.push_back({f, 'm', k.ToString(), v.ToString()});
    return rocksdb::Status::OK();
  }
};

std::vector<Operation> OperationsOf(const rocksdb::WriteBatch& batch) {
  Collect collect;
  EXPECT_TRUE(batch.Iterate(&collect).ok());
  return collect.operations;
}

// A store with three families, the middle one with the order-sensitive merge operator.
class Store {
 public:
  explicit Store(const std::string& path) {
    rocksdb::DBOptions db_options;
    db_options.create_if_missing = true;
    db_options.create_missing_column_families = true;
    rocksdb::ColumnFamilyOptions merging;
    merging.merge_operator = std::make_shared<Concatenate>();
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors = {
        {rocksdb::kDefaultColumnFamilyName, {}}, {"merging", merging}, {"third", {}}};
    rocksdb::DB* raw = nullptr;
    EXPECT_TRUE(rocksdb::DB::Open(db_options, path, descriptors, &families, &raw).ok());
    db.reset(raw);
  }
  ~Store() {
    for (auto* family : families) db->DestroyColumnFamilyHandle(family);
  }
  // Every family's keys and values, as reads see them.
  std::vector<std::map<std::string, std::string>> Contents() const {
    std::vector<std::map<std::string, std::string>> contents;
    for (auto* family : families) {
      auto& content = contents.emplace_back();
      std::unique_ptr<rocksdb::Iterator> it(db->NewIterator({}, family));
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        content[it->key().ToString()] = it->value().ToString();
      }
    }
    return contents;
  }

  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> families;
};

TEST(SortedBatchTest, SortsEachFamilyByKeyKeepsEachKeysOrderAndLeavesTheSameStore) {
  TempDir dir;
  Store original(dir / "original"), sorted(dir / "sorted");
  std::mt19937 random(20261203);
  for (int round = 0; round < 20; ++round) {
    rocksdb::WriteBatch batch, sorted_batch;
    for (int i = 0; i < 300; ++i) {
      const size_t family = random() % 3;
      const std::string key = "k" + std::to_string(random() % 40);  // keys repeat in a batch
      const std::string value = std::to_string(round) + "." + std::to_string(i) + ";";
      const int kind =
          family == 1 ? static_cast<int>(random() % 3) : static_cast<int>(random() % 2);
      for (auto [target, store] :
           {std::pair{&batch, &original}, std::pair{&sorted_batch, &sorted}}) {
        auto* handle = store->families[family];
        const rocksdb::Status staged = kind == 0   ? target->Put(handle, key, value)
                                       : kind == 1 ? target->Delete(handle, key)
                                                   : target->Merge(handle, key, value);
        ASSERT_TRUE(staged.ok());
      }
    }
    const std::vector<Operation> before = OperationsOf(sorted_batch);
    SortForMemtables(sorted_batch, sorted.families);
    const std::vector<Operation> after = OperationsOf(sorted_batch);

    ASSERT_EQ(after.size(), before.size());
    for (size_t i = 1; i < after.size(); ++i) {
      const auto& a = after[i - 1];
      const auto& b = after[i];
      ASSERT_TRUE(a.family < b.family || (a.family == b.family && a.key <= b.key))
          << "operation " << i << " is out of order";
    }
    // One key's operations, in the order they were staged.
    std::map<std::pair<uint32_t, std::string>, std::vector<Operation>> staged, reordered;
    for (const auto& op : before) staged[{op.family, op.key}].push_back(op);
    for (const auto& op : after) reordered[{op.family, op.key}].push_back(op);
    ASSERT_EQ(reordered, staged);

    ASSERT_TRUE(original.db->Write({}, &batch).ok());
    ASSERT_TRUE(sorted.db->Write({}, &sorted_batch).ok());
    ASSERT_EQ(sorted.Contents(), original.Contents()) << "round " << round;
  }
}

TEST(SortedBatchTest, LeavesABatchWithAFamilyItDoesNotKnowAsItIs) {
  TempDir dir;
  Store store(dir / "store");
  rocksdb::WriteBatch batch;
  ASSERT_TRUE(batch.Put(store.families[2], "b", "1").ok());
  ASSERT_TRUE(batch.Put(store.families[0], "a", "2").ok());
  const std::vector<Operation> before = OperationsOf(batch);
  SortForMemtables(batch, {store.families[0], store.families[1]});  // not "third"
  EXPECT_EQ(OperationsOf(batch), before);
}

}  // namespace
}  // namespace stationsync
