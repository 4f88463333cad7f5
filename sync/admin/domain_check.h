// DomainCheck: the data problems that merges expose, found in one pass over a node's records.
//
// Each record is valid on its own; these problems are across records (syncctl check):
//   duplicate_person          one person registered under two or more id numbers: the same name,
//                             sex and birth date in the same county (the id's first six digits).
//                             This covers a legacy 15-digit number upgraded to 18 digits beside
//                             the person's real number, and one person in two households
//                             (一人多户).
//   household_without_head    a household whose registrations include no head;
//   household_multiple_heads  a household with two or more heads;
//   dangling_lead_officer     a case led by a police number that is no personnel record;
//   dangling_involved         a case involving an id number that is no registration;
//   unknown_owner             a record owned by a unit the registry does not hold, or a retired
//   one.
// Cancelled registrations are left out of the person and household checks: cancelling is how a
// duplicate is resolved.
//
// Memory is bounded whatever the number of records: the units are held (a county has tens), and
// every other check writes index entries to a SortedScratch and reads them back grouped, as an
// external sort would. A group larger than kMaxGroupRecords is reported with its first records.
//
// Scope: only problems that involve at least one record owned by a unit of `scope` are reported;
// references are still resolved against every record given. The dangling_* checks need every
// record of the county (a station holds only its scope), and unknown_owner needs the registry (a
// station holds no unit records), so a caller turns them off at a station.
//
// Not thread-safe. Order of use: Add every live record (any table, any order), then Finish once.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "sync/admin/sorted_scratch.h"
#include "sync/base/status.h"
#include "sync/records/record.h"
#include "sync/storage/replica.h"  // RecordRef

namespace stationsync {

inline constexpr std::string_view kDuplicatePerson = "duplicate_person";
inline constexpr std::string_view kHouseholdWithoutHead = "household_without_head";
inline constexpr std::string_view kHouseholdMultipleHeads = "household_multiple_heads";
inline constexpr std::string_view kDanglingLeadOfficer = "dangling_lead_officer";
inline constexpr std::string_view kDanglingInvolved = "dangling_involved";
inline constexpr std::string_view kUnknownOwner = "unknown_owner";
inline constexpr std::string_view kDomainProblemKinds[] = {
    kDuplicatePerson,     kHouseholdWithoutHead, kHouseholdMultipleHeads,
    kDanglingLeadOfficer, kDanglingInvolved,     kUnknownOwner};

// At most this many records are listed in one problem (the detail gives the full count).
inline constexpr size_t kMaxGroupRecords = 1000;

struct DomainProblem {
  std::string kind;  // one of kDomainProblemKinds
  std::vector<RecordRef> records;
  std::string detail;  // one sentence for a person
};

struct DomainCheckOptions {
  std::set<std::string> scope;  // owners whose problems are reported; empty: every owner
  bool references = true;       // the dangling_* checks: only where every record is held
  bool owners = true;           // the unknown_owner check: only where the registry is held
};

class DomainCheck {
 public:
  using Emit = std::function<void(const DomainProblem&)>;

  // `units`: every live unit record the node holds. `emit` is called once per problem found,
  // during Add (unknown_owner) and Finish (the rest).
  DomainCheck(SortedScratch& scratch, const std::vector<Record>& units, DomainCheckOptions options,
              Emit emit);

  // A live record; kInternal if the scratch store fails.
  Status Add(const Record& record);
  // The checks that need every record: one ordered pass over the scratch store.
  Status Finish();

  size_t records() const { return records_; }

 private:
  struct Entry {
    std::vector<std::string> parts;  // the key's parts after the group's
    bool in_scope = false;
    std::string payload;
  };

  bool InScope(const Record& record) const;
  Status Put(const std::vector<std::string_view>& parts, bool in_scope, std::string_view payload);
  void CheckOwner(const Record& record);
  void JudgeGroup(const std::vector<std::string>& group, const std::vector<Entry>& entries,
                  size_t total);
  void JudgePerson(const std::vector<std::string>& group, const std::vector<Entry>& entries,
                   size_t total);
  void JudgeHousehold(const std::string& household, const std::vector<Entry>& entries,
                      size_t total);
  void JudgeReferences(std::string_view kind, const std::string& target,
                       const std::vector<Entry>& entries);

  SortedScratch& scratch_;
  std::map<std::string, std::string> unit_status_;  // code -> status ("active" when unset)
  DomainCheckOptions options_;
  Emit emit_;
  size_t records_ = 0;
};

}  // namespace stationsync
