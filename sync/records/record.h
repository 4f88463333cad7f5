// Records in memory: the plain structs that the replica, the merge rules and the codecs share.
//
// Invariants of a Record:
//  1. `fields` is keyed by JSON field name; every value carries the stamp of the write that set it
//     (a cleared field keeps a null value and its stamp, so a later merge cannot resurrect it).
//  2. `updated` is the greatest stamp among owner_stamp, deleted_stamp and the field stamps.
//  4. `seen` includes every stamp in the record.
//  3. A stored record has passed ValidateRecord (validate.h).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "sync/base/status.h"

namespace stationsync {

enum class Table : uint8_t { kUnit = 0, kPersonnel = 1, kCase = 2, kRegistration = 3 };
inline constexpr Table kAllTables[] = {Table::kUnit, Table::kPersonnel, Table::kCase,
                                       Table::kRegistration};

std::string_view TableName(Table table);
Result<Table> ParseTable(std::string_view name);

// A hybrid logical clock reading (see hlc.h) and the node that made it. Totally ordered.
struct Stamp {
  uint64_t hlc = 0;
  std::string node;

  bool IsZero() const { return hlc == 0 && node.empty(); }
  auto operator<=>(const Stamp&) const = default;
  bool operator==(const Stamp&) const = default;
};

// A field value: null (cleared), text, or a list of text.
using Value = std::variant<std::monostate, std::string, std::vector<std::string>>;

inline bool IsNull(const Value& v) {
  return std::holds_alternative<std::monostate>(v);
}

// One element of a `set` field, or one appended piece of an `append` field (merge_policy.h),
// with the write that added it: its "dot", and who made it.
struct Element {
  std::string text;
  Stamp stamp;
  std::string actor;
  bool operator==(const Element&) const = default;
};

struct FieldState {
  Value value;        // for a set or append field, derived from `elements` (merge_policy.h)
  Stamp stamp;        // the write that set the value (for set and append: the latest write)
  std::string actor;  // who made that write
  // Set and append fields: every element with its dot, sorted by (stamp, text). Empty in states
  // stored before policies existed; merge_policy.h reads those as one write of the whole value.
  std::vector<Element> elements{};
  // Set fields: each node's latest removal of each element ever removed (the removing write's
  // stamp), sorted by (text, node). Only to find additions concurrent with a removal
  // (merge_policy.h).
  std::vector<Element> removed{};
  // Lifecycle fields: how many reopens (writes going back a stage) this value is after.
  uint32_t epoch = 0;
  bool operator==(const FieldState&) const = default;
};

// A version vector: for each node, the HLC reading of its newest write that a record state
// includes. A node's readings only grow, and (per record) its writes are delivered in order, so
// a state includes a write (node, hlc) exactly when seen[node] >= hlc.
using VersionVector = std::map<std::string, uint64_t>;

inline bool Includes(const VersionVector& seen, const Stamp& write) {
  const auto it = seen.find(write.node);
  return it != seen.end() && it->second >= write.hlc;
}

struct Record {
  Table table = Table::kUnit;
  std::string id;
  std::string owner;
  Stamp owner_stamp;
  bool deleted = false;
  Stamp deleted_stamp;
  std::map<std::string, FieldState> fields;
  Stamp updated;
  std::string actor;
  VersionVector seen;  // every write this state includes, its own among them

  bool operator==(const Record&) const = default;

  // The value of a field, or nullptr when absent or null.
  const std::string* Text(std::string_view name) const;
  // The value of a list field, or nullptr when absent or null.
  const std::vector<std::string>* List(std::string_view name) const;
};

// What a writer supplies: set these fields (null clears one), leave the others as they are.
struct RecordPatch {
  Table table = Table::kUnit;
  std::string id;
  std::string owner;  // empty: keep the current owner, or the node's unit on create
  std::map<std::string, Value> fields;
  // Set fields: elements to take out of the value the record holds when the write is planned
  // (an empty list rewrites that value as it is). Made by a conflict resolution inside the
  // daemon, so that it cannot undo an addition committed just before it; not carried by the API.
  std::map<std::string, std::vector<std::string>> removals{};
  bool operator==(const RecordPatch&) const = default;
};

struct FieldChange {
  std::string name;  // a field name, or "owner" / "deleted" for those record attributes
  Value old_value;
  Value new_value;
  std::vector<Element> added{};  // set and append fields: the elements it added, with their authors
  bool operator==(const FieldChange&) const = default;
};

// One entry of a record's history: who changed which fields, where (node) and when.
struct HistoryEntry {
  Stamp at;
  std::string actor;
  std::vector<FieldChange> changes;
  bool operator==(const HistoryEntry&) const = default;
};

// One entry of the local change log: the part of a record that one write changed.
struct Change {
  uint64_t seq = 0;
  Record delta;
  std::string origin;  // the node that delivered it: the writer, or (at the hub) the station
  // The record's owner after the change, and before it if different (a transfer touches two
  // scopes). Empty in entries written before owners were kept: then delta.owner stands for it.
  std::vector<std::string> owners;
  // At the hub: a station's write that had not seen the record's latest transfer. The station
  // may have evicted the record since (and taken it back from the hub without this write), so
  // the change goes back to it as to any other station of its scope.
  bool echo = false;
  bool operator==(const Change&) const = default;
};

// A stamp as tools print it: the HLC reading in hex, then the node.
std::string StampString(const Stamp& stamp);
// The opaque version string of a record as tools print it: the StampString of its newest write.
std::string VersionString(const Record& record);

// What differs between two states of a record, as history lists it: the fields, and "owner" and
// "deleted" (as the texts "true" / "false") when they differ. `before` nullopt: every field set.
std::vector<FieldChange> ChangesBetween(const std::optional<Record>& before, const Record& after);

}  // namespace stationsync
