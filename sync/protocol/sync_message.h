// The sync protocol's messages as plain structs (schema/sync.capnp has the wire form and the
// meaning of every field; sync_codec.h converts). Sessions speak only these.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "sync/protocol/verify_report.h"
#include "sync/records/record.h"
#include "sync/storage/replica.h"  // RecordRef
#include "sync/storage/verify_tree.h"

namespace stationsync {

inline constexpr uint32_t kProtocolVersion = 1;

struct Hello {
  uint32_t protocol = kProtocolVersion;
  std::string unit;
  std::string node;
  std::string epoch;
  uint64_t last_seq = 0;
  std::string hub_epoch;
  uint64_t down_cursor = 0;
  Stamp down_stamp;
  std::vector<std::string> scope;
  int64_t clock_ms = 0;            // the station's wall clock when it said hello
  bool partial_snapshots = false;  // it understands Down.partial (false from older stations)
  bool operator==(const Hello&) const = default;
};

struct Welcome {
  std::string hub_epoch;
  uint64_t up_cursor = 0;
  Stamp up_stamp;
  bool snapshot = false;
  bool offer = false;
  uint32_t window = 0;
  int64_t hub_clock_ms = 0;  // the hub's wall clock when it welcomed the station
  bool operator==(const Welcome&) const = default;
};

struct Refusal {
  std::string reason;
  bool hello_again = false;
  int64_t clock_ahead_ms = 0;  // refused for a clock too far ahead: by how much
  bool operator==(const Refusal&) const = default;
};

struct Up {
  uint64_t from = 0;
  uint64_t to = 0;
  std::vector<Record> changes;
  bool offer = false;
  uint32_t page = 0;
  bool last = false;
  Stamp to_stamp;
  bool operator==(const Up&) const = default;
};

struct UpAck {
  uint64_t cursor = 0;
  uint32_t page = 0;
  bool offer_ack = false;
  bool gap = false;
  uint32_t rejected = 0;
  bool operator==(const UpAck&) const = default;
};

struct Down {
  uint64_t from = 0;
  uint64_t to = 0;
  Stamp to_stamp;
  std::vector<Record> records;
  bool snapshot = false;
  uint32_t page = 0;
  bool last = false;
  std::string hub_epoch;
  std::vector<std::string> scope;  // snapshot, last page
  std::vector<RecordRef> evict;    // stream
  uint64_t snapshot_id = 0;        // snapshot: its id; stream: the hub's last snapshot's id
  uint64_t up_covered = 0;         // snapshot, last page
  bool partial = false;  // snapshot: of the owners in `covered` only, as of the station's cursor
  std::vector<std::string> covered;  // partial snapshot, last page
  // Snapshot pages: records as the hub stores them (EncodeRecord's bytes), which its edge copies
  // onto the wire after `records` without decoding them. A decoded Down has them in `records`
  // (DecodeSyncMessage, TakeStoredRecords); only a Down built by the hub holds any.
  std::vector<std::string> stored_records;
  bool operator==(const Down&) const = default;
};

struct DownAck {
  uint64_t cursor = 0;
  uint32_t page = 0;
  bool snapshot_ack = false;
  bool gap = false;
  uint64_t snapshot_id = 0;
  bool operator==(const DownAck&) const = default;
};

struct Heartbeat {
  uint64_t pending_up = 0;
  uint64_t lag_records = 0;
  bool goodbye = false;  // station -> hub: stopping cleanly, the link ends now
  bool operator==(const Heartbeat&) const = default;
};

struct Lookup {
  uint64_t request = 0;
  Table table = Table::kUnit;
  std::string id;
  std::string actor;  // who asked at the station (for the hub's audit line)
  bool operator==(const Lookup&) const = default;
};

struct LookupReply {
  uint64_t request = 0;
  std::optional<Record> record;  // nullopt: not found (or failed: see error)
  std::string error;
  bool operator==(const LookupReply&) const = default;
};

enum class VerifyWhat : uint8_t { kSums = 0, kChildren = 1, kEntries = 2, kFetch = 3 };

// Station -> hub: one step of `syncctl verify` (sync/admin/verify_walk.h).
struct VerifyQuery {
  uint64_t request = 0;
  VerifyWhat what = VerifyWhat::kSums;
  std::vector<TreeNode> nodes;  // kSums, kChildren, kEntries
  std::vector<RecordRef> keys;  // kFetch
  bool operator==(const VerifyQuery&) const = default;
};

struct FetchedRecord {
  std::optional<Record> record;  // nullopt: the hub holds none
  bool in_flight = false;        // the hub changed it; the station has not acknowledged that yet
  bool operator==(const FetchedRecord&) const = default;
};

struct VerifyReply {
  uint64_t request = 0;
  std::string error;                           // "" = answered
  std::vector<TreeSum> sums;                   // kSums: one per node; kChildren: 16 per node
  std::vector<std::vector<TreeEntry>> leaves;  // kEntries: one per node
  std::vector<RecordRef> in_flight;            // kEntries
  std::vector<FetchedRecord> records;          // kFetch: one per key
  bool over_budget = false;  // refused: too many records to read; ask about fewer nodes
  bool operator==(const VerifyReply&) const = default;
};

// Hub -> station: verify now and report (`syncctl verify --station CODE`).
struct VerifyOrder {
  uint64_t request = 0;
  bool deep = false;
  bool repair = false;
  bool operator==(const VerifyOrder&) const = default;
};

// Station -> hub: the ordered verify's report (report.differences: the first
// kVerifyResultDifferencesMax; difference_count: all).
inline constexpr size_t kVerifyResultDifferencesMax = 1000;
struct VerifyResult {
  uint64_t request = 0;
  std::string error;  // "" = it ran
  VerifyReport report;
  uint64_t difference_count = 0;
  bool operator==(const VerifyResult&) const = default;
};

using SyncBody = std::variant<Hello, Welcome, Refusal, Up, UpAck, Down, DownAck, Heartbeat, Lookup,
                              LookupReply, VerifyQuery, VerifyReply, VerifyOrder, VerifyResult>;

struct SyncMessage {
  uint64_t link = 0;  // chosen by the station per connection; see sync.capnp
  SyncBody body;
  bool operator==(const SyncMessage&) const = default;
};

// A short name of the message kind, for logs.
const char* KindName(const SyncMessage& message);

}  // namespace stationsync
