// Resolving an open conflict (merge.h) through the local API: pure logic, no storage.
//
// A resolution is only an ordinary write of the chosen value to the conflict's register, by the
// resolving actor. Its stamp exceeds both sides, so Replica::Write closes the conflict, and the
// write syncs like any other: every replica that holds the conflict closes it when the write
// arrives. Nothing here deletes conflict entries.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "sync/base/status.h"
#include "sync/records/merge.h"
#include "sync/storage/replica.h"

namespace stationsync {

struct ConflictChoice {
  enum class Take { kKept, kLost, kValue };
  std::string id;  // Conflict::Key()
  Take take = Take::kKept;
  Value value;  // when take is kValue
  bool operator==(const ConflictChoice&) const = default;
};

// The open conflict whose Conflict::Key() is `id`, or kNotFound.
Result<Conflict> FindConflict(const std::vector<Conflict>& open, std::string_view id);

// The write that sets the conflict's register to the chosen value:
//  - a field: a put of that one field (null clears it, if the table allows); for a field of a rule
//    across fields (validate.h FieldsCheckedTogether) taking kept or lost, the put also sets the
//    rule's other fields to that same side's values where `open` holds their conflicts with the
//    same write (one concurrent write conflicts on all of them), so the combination it restores
//    is the valid one that write made;
//  - a set field's element kept against a removal (merge_policy.h): kept rewrites the set as the
//    record holds it when the write is planned, lost takes the element out of it then (so an
//    addition committed meanwhile is not undone); a value of the caller's choosing is written;
//  - "owner": a put naming the chosen owner (it must be a unit code);
//  - "deleted": "true" deletes the record, "false" undeletes it (a put of no fields).
// kInvalid when the value does not fit the register.
Result<WriteOp> ResolutionOp(const Conflict& conflict, const ConflictChoice& choice,
                             const std::vector<Conflict>& open = {});

}  // namespace stationsync
