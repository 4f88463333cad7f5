// The local API's messages as plain structs, and their Cap'n Proto encoding (schema/api.capnp).
//
// The daemon's API server and the client library both speak through these, so neither touches
// Cap'n Proto builders directly. Decode* accept untrusted bytes: they never throw, and return
// kInvalid for anything malformed, oversized or of an unknown kind.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sync/admin/person_merge.h"
#include "sync/base/status.h"
#include "sync/protocol/sync_status.h"
#include "sync/protocol/verify_report.h"
#include "sync/records/merge.h"
#include "sync/records/record.h"
#include "sync/storage/conflict_resolution.h"
#include "sync/storage/digest.h"
#include "sync/storage/replica.h"

namespace stationsync {

enum class ApiKind {
  kPing,
  kPut,
  kGet,
  kDelete,
  kList,
  kHistory,
  kPutBatch,
  kStatus,
  kConflicts,
  kResolveConflict,
  kDigest,         // read; ApiRequest::code: the unit whose group (empty: a station's own)
  kMerge,          // hub write; ApiRequest::merge
  kUnmerge,        // hub write; ApiRequest::code
  kTransfer,       // hub write; ApiRequest::transfer
  kGetRemote,      // read; patch.table and patch.id, as kGet
  kBackup,         // ApiRequest::path: a consistent copy of the data directory (daemon/backup.h)
  kVerify,         // ApiRequest::verify: at a station, or at the hub for verify.station
  kPersonMerge,    // hub; ApiRequest::person: a write unless person.dry_run
  kPersonUnmerge,  // hub; ApiRequest::person (keep unused): a write unless person.dry_run
};

struct PersonMergeRequest {
  std::string keep;  // citizen id numbers, as the user typed them
  std::string duplicate;
  bool dry_run = false;
  bool operator==(const PersonMergeRequest&) const = default;
};

// What a person merge or unmerge changed, or would change (schema/api.capnp).
struct PersonMergeReport {
  std::string keep;  // canonical
  std::string duplicate;
  bool dry_run = false;
  std::vector<RecordEdit> edits;
  bool operator==(const PersonMergeReport&) const = default;
};

struct MergeRequest {
  std::string into;
  std::vector<std::string> members;
  bool as_suboffice = false;
  bool operator==(const MergeRequest&) const = default;
};

struct TransferRequest {
  Table table = Table::kCase;
  std::string id;
  std::string to;  // the new owner
  bool operator==(const TransferRequest&) const = default;
};

struct ApiRequest {
  uint64_t id = 0;
  std::string actor;
  ApiKind kind = ApiKind::kPing;
  RecordPatch patch;  // kPut; kGet, kGetRemote, kDelete and kHistory use table and id only
  std::vector<RecordPatch> batch;  // kPutBatch
  bool without_records = false;    // kPutBatch: answer with the status only
  ListQuery list;                  // kList
  ConflictChoice resolve;          // kResolveConflict
  std::string code;                // kDigest (may be empty), kUnmerge: a unit code
  MergeRequest merge;              // kMerge
  TransferRequest transfer;        // kTransfer
  std::string path;                // kBackup: the directory to write, absolute
  VerifyRequest verify;            // kVerify
  PersonMergeRequest person;       // kPersonMerge, kPersonUnmerge
};

struct NodeStatus {
  std::string role;  // "station" or "hub"
  std::string unit;
  std::string node;
  uint64_t records = 0;
  uint64_t pending_up = 0;  // local changes the hub has not acknowledged
  bool hub_connected = false;
  uint64_t last_seq = 0;
  uint64_t lag_records = 0;  // station: hub changes in its scope it does not hold yet
  uint64_t conflicts_open = 0;
  std::vector<StationLink> stations;       // hub: one per station unit, by unit code
  std::vector<std::string> scope;          // station: the units whose records it holds; hub: empty
  std::string public_key{};                // this node's CURVE key ("" when --insecure)
  std::string hub_refusal{};               // station: why the hub refused it ("" if it did not)
  int64_t clock_ahead_ms = 0;              // station: its clock minus the hub's
  uint64_t refused_unknown_key_total = 0;  // hub
  uint64_t refused_handshake_total = 0;    // hub
  std::string last_handshake_refusal{};    // hub
};

// What a backup wrote (schema/api.capnp BackupReport).
struct BackupReport {
  std::string path;           // the backup directory, absolute
  uint64_t files = 0;         // regular files written under it
  uint64_t bytes = 0;         // their total size
  uint64_t log_position = 0;  // the store's last log sequence in the copy
  bool key_pair = false;      // the node's certificate files are in it (false: --insecure)
  bool operator==(const BackupReport&) const = default;
};

struct BatchError {
  uint32_t index = 0;
  std::string message;
};

struct ApiResponse {
  uint64_t id = 0;
  Status status;
  std::optional<Record> record;  // kPut, kGet, kGetRemote, kDelete, kResolveConflict, kUnmerge,
                                 // kTransfer
  Page page;                     // kList
  std::vector<HistoryEntry> history;  // kHistory
  NodeStatus node_status;             // kStatus
  std::vector<Record> batch;          // kPutBatch and kMerge, when ok
  std::vector<BatchError> errors;     // kPutBatch, when refused
  std::vector<Conflict> conflicts;    // kConflicts
  ScopeDigest digest;                 // kDigest
  BackupReport backup;                // kBackup, when ok
  VerifyReport verify;                // kVerify, when ok
  PersonMergeReport person_merge;     // kPersonMerge, kPersonUnmerge, when ok
  std::string redirected_from;    // kGet, kPut: the id asked for, merged into the record answered
  ApiKind kind = ApiKind::kPing;  // which of the above is filled
};

std::string EncodeRequest(const ApiRequest& request);
Result<ApiRequest> DecodeRequest(std::string_view bytes);
std::string EncodeResponse(const ApiResponse& response);
Result<ApiResponse> DecodeResponse(std::string_view bytes);

}  // namespace stationsync
