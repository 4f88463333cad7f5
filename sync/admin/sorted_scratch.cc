// See sorted_scratch.h.
#include "sync/admin/sorted_scratch.h"

#include <cstdlib>
#include <filesystem>
#include <system_error>

#include <fmt/format.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

namespace stationsync {
namespace {

namespace fs = std::filesystem;

// A write of the buffer once it holds this many bytes: large batches, few memtable switches.
constexpr size_t kBufferBytes = 4 << 20;
constexpr size_t kPartLengthBytes = 4;

}  // namespace

void AppendKeyPart(std::string& key, std::string_view part) {
  const auto n = static_cast<uint32_t>(part.size());
  key.push_back(static_cast<char>((n >> 24) & 0xff));
  key.push_back(static_cast<char>((n >> 16) & 0xff));
  key.push_back(static_cast<char>((n >> 8) & 0xff));
  key.push_back(static_cast<char>(n & 0xff));
  key.append(part);
}

Result<std::vector<std::string_view>> SplitKeyParts(std::string_view key) {
  std::vector<std::string_view> parts;
  while (!key.empty()) {
    if (key.size() < kPartLengthBytes) return Internal("scratch key: a truncated part length");
    uint32_t n = 0;
    for (size_t i = 0; i < kPartLengthBytes; ++i) n = (n << 8) | static_cast<uint8_t>(key[i]);
    key.remove_prefix(kPartLengthBytes);
    if (key.size() < n) return Internal("scratch key: a part longer than the key");
    parts.push_back(key.substr(0, n));
    key.remove_prefix(n);
  }
  return parts;
}

Result<std::unique_ptr<SortedScratch>> SortedScratch::Create(const std::string& parent_dir) {
  std::error_code ec;
  fs::create_directories(parent_dir, ec);
  if (ec) {
    return Unavailable(
        fmt::format("cannot make scratch directory {}: {}", parent_dir, ec.message()));
  }
  std::string pattern = (fs::path(parent_dir) / "stationsync-scratch-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    return Unavailable(fmt::format("cannot make a scratch directory under {}", parent_dir));
  }
  rocksdb::Options options;
  options.create_if_missing = true;
  options.error_if_exists = true;
  // Half the budget for two memtables, the rest for the blocks Scan reads.
  options.write_buffer_size = kScratchMemoryBytes / 4;
  options.max_write_buffer_number = 2;
  options.max_open_files = 256;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(kScratchMemoryBytes / 2);
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  rocksdb::DB* raw = nullptr;
  const rocksdb::Status s = rocksdb::DB::Open(options, pattern, &raw);
  if (!s.ok()) {
    fs::remove_all(pattern, ec);
    return Unavailable(fmt::format("cannot open scratch store {}: {}", pattern, s.ToString()));
  }
  return std::unique_ptr<SortedScratch>(
      new SortedScratch(std::move(pattern), std::unique_ptr<rocksdb::DB>(raw)));
}

SortedScratch::SortedScratch(std::string dir, std::unique_ptr<rocksdb::DB> db)
    : dir_(std::move(dir)), db_(std::move(db)), buffer_(std::make_unique<rocksdb::WriteBatch>()) {}

SortedScratch::~SortedScratch() {
  db_.reset();  // close before the files go
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

Status SortedScratch::Add(std::string_view key, std::string_view value) {
  const rocksdb::Status s = buffer_->Put(rocksdb::Slice(key.data(), key.size()),
                                         rocksdb::Slice(value.data(), value.size()));
  if (!s.ok()) return Internal("scratch store: " + s.ToString());
  ++entries_;
  return buffer_->GetDataSize() >= kBufferBytes ? WriteBuffered() : Status::Ok();
}

Status SortedScratch::WriteBuffered() {
  if (buffer_->Count() == 0) return Status::Ok();
  rocksdb::WriteOptions options;
  options.disableWAL = true;  // throw-away: a crash just means running the check again
  const rocksdb::Status s = db_->Write(options, buffer_.get());
  buffer_->Clear();
  if (!s.ok()) return Internal(fmt::format("scratch store {}: {}", dir_, s.ToString()));
  return Status::Ok();
}

Status SortedScratch::Scan(
    const std::function<void(std::string_view key, std::string_view value)>& each) {
  SS_RETURN_IF_ERROR(WriteBuffered());
  rocksdb::ReadOptions options;
  options.fill_cache = false;  // one pass: keep the cache for index blocks
  options.readahead_size = 2 << 20;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    each(std::string_view(it->key().data(), it->key().size()),
         std::string_view(it->value().data(), it->value().size()));
  }
  if (!it->status().ok()) {
    return Internal(fmt::format("scratch store {}: {}", dir_, it->status().ToString()));
  }
  return Status::Ok();
}

}  // namespace stationsync
