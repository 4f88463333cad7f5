// Internals of the replica shared by its source files (replica.cc, replica_remote.cc); no other
// file may include this. Owns the column family list, the meta keys and the RocksDB handles.
#pragma once

#include <cstdarg>
#include <cstdio>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <rocksdb/db.h>
#include <rocksdb/merge_operator.h>
#include <spdlog/spdlog.h>

#include "sync/base/status.h"
#include "sync/storage/replica.h"
#include "sync/storage/replica_keys.h"

namespace stationsync {
namespace replica_internal {

// Meta keys. Every batch that changes records also writes hlc, records and last_seq.
inline constexpr char kMetaNode[] = "node";
inline constexpr char kMetaUnit[] = "unit";
inline constexpr char kMetaEpoch[] = "epoch";
inline constexpr char kMetaHlc[] = "hlc";
inline constexpr char kMetaRecords[] = "records";
inline constexpr char kMetaLastSeq[] = "last_seq";
inline constexpr char kMetaPeerPrefix[] = "peer/";      // + peer: its PeerPosition
inline constexpr char kMetaNotePrefix[] = "note/";      // + name: an advisory counter
inline constexpr char kMetaDigestPrefix[] = "digest/";  // + owner: its DigestBucket
inline constexpr char kMetaDigestsKept[] = "digests";   // present once buckets are maintained
inline constexpr char kMetaScope[] = "scope";  // a station's group: unit codes joined by commas
// The layout of what RebuildDerived builds (indexes, digests, the verify tree): a store whose
// "tree" value differs was made before the current layout and is rebuilt at its first open.
// 1: the verify tree; 2: case `involved` in the id-number index; 3: registrations out of it.
inline constexpr char kMetaTreeKept[] = "tree";
inline constexpr char kDerivedLayout[] = "3";
inline constexpr char kMetaRebuilding[] = "rebuilding";         // a RebuildDerived has not finished
inline constexpr char kMetaAnnotationPrefix[] = "annotation/";  // + name: WriteRequest::annotations

// The index family's merge operator: a verify-tree node sum (DigestBucket) plus a delta
// (replica_tree.cc).
std::shared_ptr<rocksdb::MergeOperator> DigestSumOperator();

// Bound on the write-ahead log's total size (see Replica::Open).
inline constexpr uint64_t kMaxTotalWalBytes = 64ull << 20;
// Log files a start keeps as they are; with more, it flushes (Replica::ReleaseRecoveredLogs).
inline constexpr size_t kRecoveredLogsKept = 4;

// What a batch is given room for up front, per change: a stored record, its history entry, log
// entry and index keys are about this much, so a batch seldom grows (and copies itself) as it is
// built.
inline constexpr size_t kBatchBytesPerChange = 4096;

// Column families, in the order of kFamilies.
inline const std::vector<std::string> kFamilies = {
    rocksdb::kDefaultColumnFamilyName, "records", "log", "history", "index", "meta", "conflicts"};
inline constexpr size_t kMetaFamily = 5;

// RocksDB's info log goes to our log (never into the data directory, so that a refused open
// leaves the directory exactly as it was).
class InfoLogToSpdlog final : public rocksdb::Logger {
 public:
  InfoLogToSpdlog() : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list args) override {
    char buf[1024];
    // The format is RocksDB's own (its Logger interface carries no format attribute).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    std::vsnprintf(buf, sizeof buf, format, args);
#pragma GCC diagnostic pop
    spdlog::warn("rocksdb: {}", buf);
  }
};

inline Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status::Ok();
  if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
    return Unavailable(fmt::format("{}: {}", what, s.ToString()));
  }
  if (s.IsCorruption()) {
    return Internal(fmt::format("{}: the store is damaged and will not be opened or repaired: {}",
                                what, s.ToString()));
  }
  return Internal(fmt::format("{}: {}", what, s.ToString()));
}

// A store's identity for peers: random, made at creation and when the store finds it is an older
// copy of itself.
inline std::string NewEpoch() {
  std::random_device device;
  return fmt::format("{:08x}{:08x}{:08x}{:08x}", device(), device(), device(), device());
}

inline bool IsLive(const std::optional<Record>& record) {
  return record && !record->deleted;
}

inline std::string U64(uint64_t v) {
  return SeqKey(v);
}
inline uint64_t ParseU64(const std::string& s) {
  return ParseSeqKey(s).value_or(0);
}

}  // namespace replica_internal

struct Replica::Handles {
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> families;  // owned; destroyed before db
  std::shared_ptr<rocksdb::Logger> logger = std::make_shared<replica_internal::InfoLogToSpdlog>();
  rocksdb::ColumnFamilyHandle* records = nullptr;
  rocksdb::ColumnFamilyHandle* log = nullptr;
  rocksdb::ColumnFamilyHandle* history = nullptr;
  rocksdb::ColumnFamilyHandle* index = nullptr;
  rocksdb::ColumnFamilyHandle* meta = nullptr;
  rocksdb::ColumnFamilyHandle* conflicts = nullptr;

  ~Handles() {
    if (db) {
      for (auto* family : families) db->DestroyColumnFamilyHandle(family);
      db->Close().PermitUncheckedError();
    }
  }
};

}  // namespace stationsync
