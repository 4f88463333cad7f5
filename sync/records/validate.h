// Validation of records, applied to every write whether it comes from an application or from the
// network. Pure functions of their arguments.
//
// Two steps: NormalizeId/NormalizeField check and canonicalize what a writer supplies (a legacy
// 15-digit id number becomes 18 digits), then ValidateRecord checks the record as it would be
// stored: required fields, and rules across fields (an id number's birth date and sex digit must
// agree with the record). Every error names the field and the reason.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "sync/base/status.h"
#include "sync/records/record.h"

namespace stationsync {

inline constexpr size_t kCodeBytesMax = 40;
inline constexpr size_t kPlainTextBytesMax = 1000;
inline constexpr size_t kLongTextBytesMax = 64 * 1024;
inline constexpr size_t kListItemsMax = 1000;

// Which size limits apply. A write must fit the limits above. A stored or received state may hold
// up to kMergedHeadroom times them in a set or append field: concurrent writes each within the
// limit merge into more (merge_policy.h), and refusing the merge would leave replicas apart.
enum class Bounds { kWrite, kStored };
inline constexpr size_t kMergedHeadroom = 4;

// A unit code, police number, case number or household: 1..40 of [A-Za-z0-9_-].
bool IsCode(std::string_view text);

// The canonical id of a record of this table: registration ids become the 18-digit form.
Result<std::string> NormalizeId(Table table, std::string_view id);

// Checks a field value a writer supplies and returns its canonical form. Null (clearing) is
// accepted here; ValidateRecord refuses a null required field.
Result<Value> NormalizeField(Table table, std::string_view name, Value value,
                             Bounds bounds = Bounds::kWrite);

// Checks a record as it would be stored (Bounds::kStored: what a write adds was checked against
// kWrite by NormalizeField). Set and append fields' elements must be well-formed.
// kPassedAsChange skips what is checked of each field's own state (canonical value, policy
// state): for a record whose every field state ValidateRemoteChange passed as it is (a record new
// here, taken whole from a peer), so that a snapshot page is not normalized twice. Required fields
// and rules across fields are checked either way.
enum class FieldStates { kCheck, kPassedAsChange };
Status ValidateRecord(const Record& record, FieldStates field_states = FieldStates::kCheck);

// Fields a rule across fields checks together (ValidateRecord): a personnel record's id_number
// and sex (the id's sex digit). Sorted; empty for a field in no such rule. A registration's sex
// and birth_date are checked against its id, which never changes, so each is valid alone.
//
// Why it matters to merging: two writes that are each valid may combine into an invalid record
// if each sets one field of the rule (merge.h). So a write to any field of the rule writes all of
// them (PlanPut), and the merge, register by register, then takes all of them from one write.
const std::vector<std::string>& FieldsCheckedTogether(Table table, std::string_view field);

// Checks a change received from another node (a delta or a whole state) before it is merged:
// canonical id, owner, every field value, and stamps on everything it sets. Required fields and
// rules across fields are checked on the merged record instead (a delta holds only some fields).
Status ValidateRemoteChange(const Record& change);

}  // namespace stationsync
