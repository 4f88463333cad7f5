// Key layout of the replica's RocksDB column families. Pure functions.
//
//   records  "<table>/<id>"                        -> Record (store.capnp)
//   log      seq (8 bytes big-endian)              -> Change
//   history  "<table>/<id>" 0x00 hlc (8 bytes BE) node  -> HistoryEntry (oldest first)
//            "<table>/<id>" 0x01                   -> seq (8 bytes BE): the log entry that names
//                this record for its delta (replica.h, invariant 7); after the record's entries
//   index    'o' owner 0x00 "<table>/<id>"         -> ""   every record, tombstones included
//            'h' household 0x00 "<table>/<id>"     -> ""   live registrations
//            'i' id_number 0x00 "<table>/<id>"     -> ""   live personnel (their id_number) and
//                cases (each id number in `involved`): who names a citizen (not the registration,
//                whose own key is the id number: a key per record for nothing it would answer)
//            'v' owner 0x00 table slot(2 bytes BE) "<table>/<id>" -> ""   every record: the
//                verify tree's leaves (verify_tree.h), tombstones included
//            'n' owner 0x00 table level prefix(2 bytes BE) -> DigestBucket: the verify tree's
//                node sums at levels 0-12, kept by merge operands (never Put by IndexKeys)
//   meta     name                                  -> value (see replica_internal.h)
//   conflicts "<table>/<id>" 0x00 Conflict::Key()  -> Conflict (open conflicts, by record)
//
// Ids and codes never contain '/' or 0x00 (validate.h), so prefixes are unambiguous and a
// record's history entries sort by the time of the write (its HLC stamp), wherever it was made.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sync/records/record.h"
#include "sync/storage/verify_tree.h"

namespace stationsync {

std::string RecordKey(Table table, std::string_view id);
std::string TablePrefix(Table table);  // "<table>/"
struct RecordKeyParts {
  Table table;
  std::string id;
};
std::optional<RecordKeyParts> ParseRecordKey(std::string_view key);
// Whether RecordKey(a_table, a_id) sorts before RecordKey(b_table, b_id), without building them.
bool RecordKeyLess(Table a_table, std::string_view a_id, Table b_table, std::string_view b_id);

std::string SeqKey(uint64_t seq);
std::optional<uint64_t> ParseSeqKey(std::string_view key);

std::string HistoryPrefix(std::string_view record_key);
std::string HistoryKey(std::string_view record_key, const Stamp& at);
// Where the history family keeps the sequence number of the log entry naming the record (not
// under HistoryPrefix: a scan of the record's entries never meets it).
std::string LoggedWholeKey(std::string_view record_key);

std::string ConflictPrefix(std::string_view record_key);
std::string ConflictKey(std::string_view record_key, std::string_view conflict_id);

inline constexpr char kOwnerIndex = 'o';
inline constexpr char kHouseholdIndex = 'h';
inline constexpr char kIdNumberIndex = 'i';
std::string IndexPrefix(char kind, std::string_view value);
// The record key an index key points at.
std::string_view IndexTarget(std::string_view index_key);
// Every index key a stored record should have.
std::vector<std::string> IndexKeys(const Record& record);

inline constexpr char kTreeIndex = 'v';
inline constexpr char kTreeNodeSum = 'n';
// The first key of the tree index under `node` (its records sort after it, in slot order), and
// the key just past them.
std::string TreeIndexStart(const TreeNode& node);
std::string TreeIndexLimit(const TreeNode& node);
// The record key a tree index key points at ("" if the key is not one).
std::string_view TreeIndexTarget(std::string_view index_key);
// Where a node's maintained sum is kept (levels below the leaves).
std::string TreeNodeKey(const TreeNode& node);

}  // namespace stationsync
