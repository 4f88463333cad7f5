// Record, Change and HistoryEntry to and from their Cap'n Proto form (schema/store.capnp).
//
// Write* fill a builder; Read* copy a reader into plain structs and must run inside
// DecodeGuarded (capnp_io.h), since a malformed reader throws. Encode*/Decode* are the byte-level
// wrappers used by the replica. Decoding checks structure only; callers validate content.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "schema/store.capnp.h"
#include "sync/base/status.h"
#include "sync/records/merge.h"
#include "sync/records/record.h"

namespace stationsync {

void WriteStamp(const Stamp& stamp, schema::Stamp::Builder out);
Stamp ReadStamp(schema::Stamp::Reader in);
void WriteValue(const Value& value, schema::Value::Builder out);
Value ReadValue(schema::Value::Reader in);
void WriteElements(const std::vector<Element>& elements, capnp::List<schema::Element>::Builder out);
std::vector<Element> ReadElements(capnp::List<schema::Element>::Reader in);
void WriteRecord(const Record& record, schema::Record::Builder out);
Result<Record> ReadRecord(schema::Record::Reader in);
void WriteRecords(const std::vector<Record>& records, capnp::List<schema::Record>::Builder out);
Result<std::vector<Record>> ReadRecords(capnp::List<schema::Record>::Reader in);
// kInvalid for a table number this version does not know.
Result<Table> ReadTable(schema::Table table);
void WriteTexts(const std::vector<std::string>& texts, capnp::List<capnp::Text>::Builder out);
std::vector<std::string> ReadTexts(capnp::List<capnp::Text>::Reader in);
void WriteFieldChanges(const std::vector<FieldChange>& changes,
                       capnp::List<schema::FieldChange>::Builder out);  // out sized to fit
std::vector<FieldChange> ReadFieldChanges(capnp::List<schema::FieldChange>::Reader in);
void WriteHistoryEntry(const HistoryEntry& entry, schema::HistoryEntry::Builder out);
HistoryEntry ReadHistoryEntry(schema::HistoryEntry::Reader in);

std::string EncodeRecord(const Record& record);
Result<Record> DecodeRecord(std::string_view bytes);
// A record as the replica stores it (EncodeRecord's bytes), passed on without being decoded into
// a Record: the hub sends its stored records through to a snapshot page. CheckStoredRecord reads
// the whole message once, with the decoding limits, and allocates nothing per field;
// CopyStoredRecord copies it as it is into element `index` of `out`. Both kInvalid naming what is
// wrong when the bytes are not a readable record message.
Status CheckStoredRecord(std::string_view bytes);
Status CopyStoredRecord(std::string_view bytes, capnp::List<schema::Record>::Builder out,
                        unsigned index);
std::string EncodeChange(const Change& change);
Result<Change> DecodeChange(std::string_view bytes);
// A log entry as the replica stores it (sync/storage/replica.h, invariant 7). An entry whose
// delta is, whole, the record its change left names that record instead of copying it: its delta
// holds only the table, id, owner and updated stamp, and `names_record` says that the reader
// takes the rest from the record.
struct StoredChange {
  Change change;
  bool names_record = false;
};
std::string EncodeChangeNamingRecord(const Change& change);
Result<StoredChange> DecodeStoredChange(std::string_view bytes);
// Only what routing a change needs: seq, origin, owners, and the delta's table, id and owner (its
// fields and stamps are left empty). A fraction of DecodeChange's cost: nothing is copied but
// those.
Result<Change> DecodeChangeHead(std::string_view bytes);
std::string EncodeConflict(const Conflict& conflict);
Result<Conflict> DecodeConflict(std::string_view bytes);
std::string EncodeHistoryEntry(const HistoryEntry& entry);
Result<HistoryEntry> DecodeHistoryEntry(std::string_view bytes);

}  // namespace stationsync
