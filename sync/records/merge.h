// Merging what other nodes wrote into a local record: pure and deterministic. The rule every
// replica applies to remote changes (sync), and the one place where it can grow.
//
// Registers: every field, the owner and the deleted flag is a last-writer-wins register. A merge
// keeps, for each register, the value with the greatest stamp. A node's HLC exceeds every stamp
// it has seen, so a write's stamp exceeds the stamps of the values it overwrote: "greatest stamp"
// is also "newest in causal order", and the outcome does not depend on the order or the number of
// merges (commutative, associative, idempotent). Replicas that merged the same writes hold equal
// records, version vectors included.
//
// Conflicts: two writes to one register conflict when neither had seen the other (neither side's
// version vector includes the other's stamp). The greater stamp is kept, the other is reported
// so that it stays in the conflict log until a person resolves it: no acknowledged write is lost
// silently. A write that saw the value it replaced never conflicts with it.
//
// Precondition for merging a delta (one write, not a whole state): the receiver already holds
// every write the delta's version vector names (causal delivery, which the hub's log provides).
// Whole states (snapshots) need no precondition.
//
// Not yet merged by meaning (DESIGN.md): `involved` as a set, `notes` as append-only, a case's
// status by its lifecycle. They are registers for now; MergeRegister is where that grows.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sync/records/record.h"

namespace stationsync {

struct ConflictSide {
  Value value;
  Stamp stamp;
  std::string actor;
  bool operator==(const ConflictSide&) const = default;
};

struct Conflict {
  Table table = Table::kUnit;
  std::string id;
  std::string field;  // a field name, or "owner" / "deleted"
  ConflictSide kept;
  ConflictSide lost;
  bool operator==(const Conflict&) const = default;

  // The same on every replica that detects this conflict: table, id, field and the lost write.
  std::string Key() const;
};

struct MergeResult {
  Record record;                    // the merged record
  std::vector<Conflict> conflicts;  // concurrent writes found by this merge
  HistoryEntry history;             // the registers this merge changed
  bool changed = false;             // false: the incoming state added nothing (record unchanged)
};

// The stamp of a register of `record`: a field name, or "owner" / "deleted" (zero when unset).
Stamp RegisterStamp(const Record& record, std::string_view register_name);

// Merges `incoming` (a delta or a whole state of the same record) into `local` (none: the record
// is new here). Precondition: same table and id.
MergeResult Merge(const std::optional<Record>& local, const Record& incoming);

}  // namespace stationsync
