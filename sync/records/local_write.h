// Turning a writer's request into the new state of a record: pure logic, no storage.
//
// Given the record as currently stored (or none), a patch or delete, a fresh stamp and the
// actor, a plan holds the record to store, the delta for the change log, and the history entry.
// The planned record always passes ValidateRecord; a failed plan changes nothing.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "sync/base/status.h"
#include "sync/records/record.h"

namespace stationsync {

struct WritePlan {
  Record record;         // the record to store
  Change change;         // delta for the change log (seq assigned by the replica)
  HistoryEntry history;  // who changed what
  bool changed = false;  // false: the write repeats what is stored; nothing to commit
};

// Upsert: the patch's fields are set, the others kept. `default_owner` is used on create when
// the patch names no owner. A field (or the patch's owner) equal to what is stored is skipped,
// unless `restamp`: then it is written again with the new stamp, which is how a conflict
// resolution that keeps the stored value still supersedes both sides.
Result<WritePlan> PlanPut(const std::optional<Record>& current, const RecordPatch& patch,
                          const Stamp& stamp, std::string_view actor,
                          std::string_view default_owner, bool restamp = false);

// Tombstones the record: its fields stay (history keeps them), `deleted` becomes true. An
// already deleted record is left alone unless `restamp`.
Result<WritePlan> PlanDelete(const std::optional<Record>& current, Table table, std::string_view id,
                             const Stamp& stamp, std::string_view actor, bool restamp = false);

// The record an import line describes, as if created fresh: checks everything PlanPut would for
// a new record. Used to validate a whole file before storing any of it.
Result<Record> RecordFromPatch(const RecordPatch& patch, std::string_view default_owner);

}  // namespace stationsync
