#include "sync/storage/conflict_resolution.h"

#include <fmt/format.h>

#include "sync/records/table_schema.h"
#include "sync/records/validate.h"

namespace stationsync {

Result<Conflict> FindConflict(const std::vector<Conflict>& open, std::string_view id) {
  for (const Conflict& conflict : open) {
    if (conflict.Key() == id) return conflict;
  }
  return NotFound(fmt::format("no open conflict {} (syncctl conflicts lists them)", id));
}

Result<WriteOp> ResolutionOp(const Conflict& conflict, const ConflictChoice& choice,
                             const std::vector<Conflict>& open) {
  const Value& value = choice.take == ConflictChoice::Take::kKept   ? conflict.kept.value
                       : choice.take == ConflictChoice::Take::kLost ? conflict.lost.value
                                                                    : choice.value;
  // Restamped: a resolution that keeps the stored value must still supersede both sides.
  WriteOp op{false, RecordPatch{conflict.table, conflict.id, {}, {}}, /*restamp=*/true};
  const auto* text = std::get_if<std::string>(&value);
  if (conflict.field == "owner") {
    if (text == nullptr || !IsCode(*text)) {
      return Invalid("conflict on owner: the value must be a unit code");
    }
    op.patch.owner = *text;
  } else if (conflict.field == "deleted") {
    // Merge (merge.h) carries the deleted flag as the text "true" or "false".
    if (text == nullptr || (*text != "true" && *text != "false")) {
      return Invalid(R"(conflict on deleted: the value must be "true" or "false")");
    }
    op.remove = *text == "true";  // "false": a put of no fields undeletes the record
  } else if (TableSchema::Of(conflict.table).PolicyOf(conflict.field) == MergePolicy::kSet &&
             choice.take != ConflictChoice::Take::kValue) {
    // An element kept against a concurrent removal: keeping it rewrites the set as it is then,
    // taking the removal takes the element out of it (merge_policy.h).
    std::vector<std::string>& removed = op.patch.removals[conflict.field];
    const auto* element = std::get_if<std::string>(&conflict.kept.value);
    if (choice.take == ConflictChoice::Take::kLost && element != nullptr) {
      removed.push_back(*element);
    }
  } else {
    op.patch.fields.emplace(conflict.field, value);
    if (choice.take == ConflictChoice::Take::kValue) return op;
    const bool lost = choice.take == ConflictChoice::Take::kLost;
    const ConflictSide& side = lost ? conflict.lost : conflict.kept;
    for (const std::string& field : FieldsCheckedTogether(conflict.table, conflict.field)) {
      for (const Conflict& other : open) {
        const ConflictSide& other_side = lost ? other.lost : other.kept;
        if (other.table == conflict.table && other.id == conflict.id && other.field == field &&
            other_side.stamp == side.stamp) {
          op.patch.fields.emplace(field, other_side.value);
        }
      }
    }
  }
  return op;
}

}  // namespace stationsync
