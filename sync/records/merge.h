// Merging what other nodes wrote into a local record: pure and deterministic. The rule every
// replica applies to remote changes (sync), and the one place where it can grow.
//
// Registers: the owner and the deleted flag are last-writer-wins registers, and so is every
// field unless schema/records.capnp gives it another merge policy (`$merge(set)`, `append`,
// `lifecycle`): merge_policy.h holds each policy's rule. A node's HLC exceeds every stamp it has
// seen, so a write's stamp exceeds the stamps of the values it overwrote: "greatest stamp" is
// also "newest in causal order", and the outcome does not depend on the order or the number of
// merges (commutative, associative, idempotent). Replicas that merged the same writes hold equal
// records, version vectors included.
//
// Conflicts: two writes to one register conflict when neither had seen the other (neither side's
// version vector includes the other's stamp). The greater stamp is kept, the other is reported
// so that it stays in the conflict log until a person resolves it: no acknowledged write is lost
// silently. A write that saw the value it replaced never conflicts with it. The policies report
// their own conflicts (merge_policy.h): an element of a set kept against a removal, a lifecycle
// reopen against a concurrent write.
//
// Precondition for merging a delta (one write, not a whole state): the receiver already holds
// every write the delta's version vector names (causal delivery, which the hub's log provides).
// Whole states (snapshots) need no precondition.
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
  // A set field's conflict: kept.value is the element that stayed (a text), lost.value null (the
  // removal). Otherwise each side's value of the register.
  ConflictSide kept;
  ConflictSide lost;
  bool operator==(const Conflict&) const = default;

  // The same on every replica that detects this conflict: table, id, field and the lost write
  // (and for a set field, the element).
  std::string Key() const;
};

struct MergeResult {
  Record record;                    // the merged record
  std::vector<Conflict> conflicts;  // concurrent writes found by this merge
  // The registers this merge changed. Empty for a record new here (no `local`): its entry is
  // ArrivalEntry(record), which a replica stores only once the record changes (Replica, invariant
  // 6); a caller that needs it derives it, instead of every snapshot record copying its fields.
  HistoryEntry history;
  bool changed = false;  // false: the incoming state added nothing (record unchanged)
};

// The stamp of a register of `record`: a field name, or "owner" / "deleted" (zero when unset).
Stamp RegisterStamp(const Record& record, std::string_view register_name);

// Merges `incoming` (a delta or a whole state of the same record) into `local` (none: the record
// is new here). Precondition: same table and id.
MergeResult Merge(const std::optional<Record>& local, const Record& incoming);
// The same, taking `incoming` when the record is new here (it becomes the result, moved rather
// than copied: a snapshot page's records); `incoming` is left as it was when `local` is set.
MergeResult Merge(const std::optional<Record>& local, Record&& incoming);

// The history entry of a record that arrives whole at a replica that does not hold it (Merge
// with no local record): at its `updated` stamp by its actor, its owner (when stamped) and every
// field, each from nothing (a set or append field listing each element with its author). A replica
// need not store this entry: it is the record's own state until the record next changes (see
// Replica::History).
HistoryEntry ArrivalEntry(const Record& record);

}  // namespace stationsync
