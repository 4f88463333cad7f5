// Duplicate-person merge (syncctl person merge / unmerge): one resident registered under two
// citizen id numbers becomes one. Planned at the hub from its replica (read only) into the one
// WriteRequest that makes the change, as regroup.h plans unit merges; the API server commits it
// (one atomic batch, a history entry per record) and it replicates as ordinary writes.
//
// A merge of DUPLICATE into KEEP:
//  1. fills KEEP's empty fields from DUPLICATE's;
//  2. rewrites every reference to DUPLICATE to KEEP: personnel `id_number`, and case `involved`
//     (where KEEP is already listed, DUPLICATE is dropped rather than listed twice);
//  3. makes DUPLICATE a tombstone with `merged_into` = KEEP. Its fields stay, so an unmerge can
//     restore it, and reads and writes of it are redirected to KEEP (FollowMerged; the hub also
//     redirects writes a station made offline, in Replica::ApplyRemote);
//  4. annotates the hub's store with what 1 and 2 changed (kPersonMergeAnnotation), which is
//     what an unmerge undoes. The annotation is written in the same batch as the records.
//
// An unmerge of DUPLICATE brings it back (live, `merged_into` cleared), clears the fields the
// merge filled in KEEP that still hold the filled value, and points the references the merge
// rewrote that still name KEEP back at DUPLICATE. References made to KEEP since stay.
//
// Refusals, by code (the exit code of syncctl):
//   kInvalid  (2)  a malformed id number, or KEEP == DUPLICATE
//   kNotFound (1)  a registration that is not there (absent, or deleted without a merge)
//   kRefused  (4)  DUPLICATE already merged, KEEP itself merged, sex or birth date differing
//                  (the id numbers then name two people), an unmerge of a registration that is
//                  not merged or whose merge this hub has no annotation of, or more than
//                  kPersonReferencesMax references
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sync/base/status.h"
#include "sync/records/record.h"
#include "sync/storage/replica.h"

namespace stationsync {

inline constexpr size_t kPersonReferencesMax = 10'000;
// How many merged_into links a read or write follows before it gives up (a chain this long
// means merges of merges; a loop cannot be planned, see PlanPersonMerge).
inline constexpr int kMergeHopsMax = 8;
// The annotation (WriteRequest::annotations) under which the hub keeps what undoes the merge
// of a duplicate: this prefix, then the duplicate's id number.
inline constexpr char kPersonMergeAnnotation[] = "person_merge/";

// What a write changes in one record, as history lists it.
struct RecordEdit {
  Table table = Table::kRegistration;
  std::string id;
  std::vector<FieldChange> changes;
  bool operator==(const RecordEdit&) const = default;
};

struct PersonMergePlan {
  std::string keep;  // canonical id numbers
  std::string duplicate;
  WriteRequest write;             // the one request that makes the change
  std::vector<RecordEdit> edits;  // what it changes, record by record (for --dry-run)
};

Result<PersonMergePlan> PlanPersonMerge(const Replica& hub, std::string_view keep,
                                        std::string_view duplicate, const std::string& actor);
Result<PersonMergePlan> PlanPersonUnmerge(const Replica& hub, std::string_view duplicate,
                                          const std::string& actor);

// The registration id `id` stands for: itself, or, when it is a merged tombstone, the live
// registration its merged_into chain leads to (at most kMergeHopsMax hops). nullopt when `id`
// is not a merged tombstone (absent, live, or deleted without a merge). kNotFound if the chain
// ends at a record this replica does not hold or that is deleted.
Result<std::optional<Record>> FollowMerged(const Replica& replica, std::string_view id);

// A case write's `involved` with each merged person replaced by the registration it leads to
// (FollowMerged, but also when that one is deleted; not listed twice), as the hub's follow-ups do
// for a station's late write: the person a writer names is the record kept. A person whose chain
// this replica does not hold stays as written (at a station, the hub carries it over). Other writes
// are left as they are.
Status RedirectMergedInvolved(const Replica& replica, RecordPatch& patch);

}  // namespace stationsync
