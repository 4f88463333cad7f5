// The merge policies of schema/records.capnp (`$merge`): how concurrent writes to one field merge,
// and the state a local write gives a field. Pure; the one place per-field merging lives
// (merge.cc calls MergeField for every field, and MergeRegister for owner and deleted).
//
// Every policy is deterministic, commutative, associative and idempotent, so replicas that merged
// the same writes hold equal fields whatever the order (tests/merge_policy_test.cc checks it over
// random causal histories):
//  - register: the greatest stamp wins. A node's HLC exceeds every stamp it has seen, so that is
//    also the newest write in causal order. Concurrent writes (neither side's version vector
//    includes the other's stamp) are a conflict; the loser is kept for a person.
//  - set: an observed-remove set without tombstones (ORSWOT, Bieniusa et al. 2012). Every element
//    carries the dot (stamp) of the write that added it, and the record's version vector `seen`
//    is the causal context: a merge keeps a dot both sides hold, and a dot one side holds that
//    the other has not seen; a dot the other has seen but dropped was removed. So concurrent
//    additions and removals of different elements all take effect, and an element one node
//    removed while another added it without having seen that copy stays (add wins). A write
//    lists the whole set: an element it keeps keeps its dot, a new one gets the write's stamp, a
//    dropped one is removed. The value lists the elements in order added. Each node's latest
//    removal of each element is kept too (`removed`, merged by greatest stamp per element and
//    node), only so that an addition concurrent with a removal is listed as a conflict whichever
//    arrives first.
//  - append: a grow-only set of pieces, each with its dot; the text is the pieces in stamp order,
//    so concurrent appends are all kept. A write must keep the text it saw as its start.
//  - lifecycle: an enum whose declared order is a lifecycle. A state ranks by (epoch, stage,
//    stamp), where a write going back a stage (a reopen) has epoch one more than what it saw, and
//    the greatest rank wins: a causally later write always ranks higher (a reopen by its epoch,
//    any other by its stage or stamp), and of concurrent writes the furthest stage wins. A
//    concurrent write of another epoch (a reopen against a close) is a conflict.
//
// Precondition (merge.h): a delta is merged only after every write its `seen` names; each node's
// writes of one record arrive in order, so `seen` is a causal context.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sync/base/status.h"
#include "sync/records/merge.h"
#include "sync/records/record.h"
#include "sync/records/table_schema.h"

namespace stationsync {

// Elements sorted by dot: (stamp, text).
bool DotLess(const Element& a, const Element& b);

// The elements of a set or append field's state. A state stored before policies existed has
// none but a value: it reads as one write (the state's stamp) of every element of that value.
std::vector<Element> ElementsOf(MergePolicy policy, const FieldState& state);

// The value a set or append field shows: a set's texts in order added (first dot), an append
// field's pieces concatenated; null when empty.
Value ValueOfElements(MergePolicy policy, const std::vector<Element>& elements);

// The elements `after` holds that `before` (null: none) did not: what a change added.
std::vector<Element> AddedElements(MergePolicy policy, const FieldState* before,
                                   const FieldState& after);

// Merges one register (register policy; also owner and deleted). `mine` is null when the local
// record has no value for it. Returns the winning state when it differs from `mine`; appends a
// conflict for concurrent writes.
std::optional<FieldState> MergeRegister(const std::string& name, const FieldState* mine,
                                        const FieldState& theirs, const Record& local,
                                        const Record& incoming, MergeResult& result);

// Merges one field by its policy; the same contract as MergeRegister, and the history change
// goes to `result` too.
std::optional<FieldState> MergeField(MergePolicy policy, const std::string& name,
                                     const FieldState* mine, const FieldState& theirs,
                                     const Record& local, const Record& incoming,
                                     MergeResult& result);

// The state a local write of `value` (normalized) gives a field whose state is `current` (null:
// never set). kInvalid, naming the field, for an append field's write that would remove or
// change text it holds.
Result<FieldState> WrittenField(const FieldSpec& spec, const FieldState* current, Value value,
                                const Stamp& stamp, std::string_view actor);

// A stored or received field's policy state is well-formed: elements only in set and append
// fields, strictly sorted by dot, none newer than the field's stamp, the value the one they give;
// removals only in set fields, sorted, none newer than the field; reopens only in lifecycle fields,
// at most kReopensMax.
inline constexpr uint32_t kReopensMax = 1'000'000;
Status CheckPolicyState(const FieldSpec& spec, const FieldState& state);

}  // namespace stationsync
