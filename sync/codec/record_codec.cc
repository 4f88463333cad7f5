#include "sync/codec/record_codec.h"

#include <algorithm>

#include <capnp/message.h>

#include "sync/codec/capnp_io.h"

namespace stationsync {

void WriteStamp(const Stamp& stamp, schema::Stamp::Builder out) {
  out.setHlc(stamp.hlc);
  out.setNode(stamp.node);
}

Stamp ReadStamp(schema::Stamp::Reader in) {
  return {in.getHlc(), in.getNode().cStr()};
}

void WriteValue(const Value& value, schema::Value::Builder out) {
  if (const auto* text = std::get_if<std::string>(&value)) {
    out.setText(*text);
  } else if (const auto* list = std::get_if<std::vector<std::string>>(&value)) {
    auto items = out.initList(static_cast<unsigned>(list->size()));
    for (unsigned i = 0; i < list->size(); ++i) items.set(i, (*list)[i]);
  } else {
    out.setNull();
  }
}

Value ReadValue(schema::Value::Reader in) {
  switch (in.which()) {
    case schema::Value::TEXT:
      return std::string(in.getText().cStr());
    case schema::Value::LIST: {
      std::vector<std::string> list;
      for (auto item : in.getList()) list.emplace_back(item.cStr());
      return list;
    }
    case schema::Value::NULL_:
      break;
  }
  return std::monostate{};
}

void WriteElements(const std::vector<Element>& elements,
                   capnp::List<schema::Element>::Builder out) {
  for (unsigned i = 0; i < elements.size(); ++i) {
    out[i].setText(elements[i].text);
    WriteStamp(elements[i].stamp, out[i].initStamp());
    out[i].setActor(elements[i].actor);
  }
}

std::vector<Element> ReadElements(capnp::List<schema::Element>::Reader in) {
  std::vector<Element> elements;
  elements.reserve(in.size());
  for (auto element : in) {
    elements.push_back(
        {element.getText().cStr(), ReadStamp(element.getStamp()), element.getActor().cStr()});
  }
  return elements;
}

namespace {

bool HasPolicyState(const FieldState& state) {
  return !state.elements.empty() || !state.removed.empty() || state.epoch != 0;
}

// Only fields with policy state are listed, and none at all leaves the list null.
void WritePolicies(const Record& record, schema::Record::Builder out) {
  const auto count = static_cast<unsigned>(
      std::count_if(record.fields.begin(), record.fields.end(),
                    [](const auto& field) { return HasPolicyState(field.second); }));
  if (count == 0) return;
  auto policies = out.initPolicies(count);
  unsigned i = 0;
  for (const auto& [name, state] : record.fields) {
    if (!HasPolicyState(state)) continue;
    auto policy = policies[i++];
    policy.setName(name);
    WriteElements(state.elements,
                  policy.initElements(static_cast<unsigned>(state.elements.size())));
    WriteElements(state.removed, policy.initRemoved(static_cast<unsigned>(state.removed.size())));
    policy.setEpoch(state.epoch);
  }
}

Status ReadPolicies(schema::Record::Reader in, Record& record) {
  for (auto policy : in.getPolicies()) {
    const auto it = record.fields.find(policy.getName().cStr());
    if (it == record.fields.end()) {
      return Invalid(std::string("record has policy state for no field ") +
                     policy.getName().cStr());
    }
    if (HasPolicyState(it->second)) {
      return Invalid(std::string("record repeats policy state of ") + policy.getName().cStr());
    }
    it->second.elements = ReadElements(policy.getElements());
    it->second.removed = ReadElements(policy.getRemoved());
    it->second.epoch = policy.getEpoch();
  }
  return Status::Ok();
}

}  // namespace

void WriteRecord(const Record& record, schema::Record::Builder out) {
  out.setTable(static_cast<schema::Table>(record.table));
  out.setId(record.id);
  out.setOwner(record.owner);
  WriteStamp(record.owner_stamp, out.initOwnerStamp());
  out.setDeleted(record.deleted);
  WriteStamp(record.deleted_stamp, out.initDeletedStamp());
  auto fields = out.initFields(static_cast<unsigned>(record.fields.size()));
  unsigned i = 0;
  for (const auto& [name, state] : record.fields) {
    auto field = fields[i++];
    field.setName(name);
    WriteValue(state.value, field.initValue());
    WriteStamp(state.stamp, field.initStamp());
    field.setActor(state.actor);
  }
  WritePolicies(record, out);
  WriteStamp(record.updated, out.initUpdated());
  out.setActor(record.actor);
  auto seen = out.initSeen(static_cast<unsigned>(record.seen.size()));
  i = 0;
  for (const auto& [node, hlc] : record.seen) {
    seen[i].setNode(node);
    seen[i++].setHlc(hlc);
  }
}

Result<Record> ReadRecord(schema::Record::Reader in) {
  const auto table = static_cast<uint16_t>(in.getTable());
  if (table > static_cast<uint16_t>(Table::kRegistration)) {
    return Invalid("record has unknown table number " + std::to_string(table));
  }
  Record record;
  record.table = static_cast<Table>(table);
  record.id = in.getId().cStr();
  record.owner = in.getOwner().cStr();
  record.owner_stamp = ReadStamp(in.getOwnerStamp());
  record.deleted = in.getDeleted();
  record.deleted_stamp = ReadStamp(in.getDeletedStamp());
  for (auto field : in.getFields()) {
    FieldState state{ReadValue(field.getValue()), ReadStamp(field.getStamp()),
                     field.getActor().cStr()};
    const bool inserted = record.fields.emplace(field.getName().cStr(), std::move(state)).second;
    if (!inserted) return Invalid(std::string("record repeats field ") + field.getName().cStr());
  }
  SS_RETURN_IF_ERROR(ReadPolicies(in, record));
  record.updated = ReadStamp(in.getUpdated());
  record.actor = in.getActor().cStr();
  for (auto entry : in.getSeen()) {
    if (!record.seen.emplace(entry.getNode().cStr(), entry.getHlc()).second) {
      return Invalid(std::string("record repeats version vector node ") + entry.getNode().cStr());
    }
  }
  return record;
}

void WriteFieldChanges(const std::vector<FieldChange>& changes,
                       capnp::List<schema::FieldChange>::Builder out) {
  for (unsigned i = 0; i < changes.size(); ++i) {
    out[i].setName(changes[i].name);
    WriteValue(changes[i].old_value, out[i].initOld());
    WriteValue(changes[i].new_value, out[i].initNew());
    WriteElements(changes[i].added,
                  out[i].initAdded(static_cast<unsigned>(changes[i].added.size())));
  }
}

std::vector<FieldChange> ReadFieldChanges(capnp::List<schema::FieldChange>::Reader in) {
  std::vector<FieldChange> changes;
  for (auto change : in) {
    changes.push_back({change.getName().cStr(), ReadValue(change.getOld()),
                       ReadValue(change.getNew()), ReadElements(change.getAdded())});
  }
  return changes;
}

void WriteHistoryEntry(const HistoryEntry& entry, schema::HistoryEntry::Builder out) {
  WriteStamp(entry.at, out.initAt());
  out.setActor(entry.actor);
  WriteFieldChanges(entry.changes, out.initChanges(static_cast<unsigned>(entry.changes.size())));
}

HistoryEntry ReadHistoryEntry(schema::HistoryEntry::Reader in) {
  return {ReadStamp(in.getAt()), in.getActor().cStr(), ReadFieldChanges(in.getChanges())};
}

std::string EncodeRecord(const Record& record) {
  capnp::MallocMessageBuilder message;
  WriteRecord(record, message.initRoot<schema::Record>());
  return MessageBytes(message);
}

void WriteRecords(const std::vector<Record>& records, capnp::List<schema::Record>::Builder out) {
  for (unsigned i = 0; i < records.size(); ++i) WriteRecord(records[i], out[i]);
}

Result<std::vector<Record>> ReadRecords(capnp::List<schema::Record>::Reader in) {
  std::vector<Record> records;
  records.reserve(in.size());
  for (auto item : in) {
    auto record = ReadRecord(item);
    if (!record.ok()) return record.status();
    records.push_back(std::move(record).value());
  }
  return records;
}

Result<Table> ReadTable(schema::Table table) {
  const auto number = static_cast<uint16_t>(table);
  if (number > static_cast<uint16_t>(Table::kRegistration)) {
    return Invalid("unknown table number " + std::to_string(number));
  }
  return static_cast<Table>(number);
}

void WriteTexts(const std::vector<std::string>& texts, capnp::List<capnp::Text>::Builder out) {
  for (unsigned i = 0; i < out.size(); ++i) out.set(i, texts[i]);
}

std::vector<std::string> ReadTexts(capnp::List<capnp::Text>::Reader in) {
  std::vector<std::string> texts;
  for (auto text : in) texts.emplace_back(text.cStr());
  return texts;
}

Result<Record> DecodeRecord(std::string_view bytes) {
  return DecodeMessage<schema::Record>("record", bytes, ReadRecord);
}

Status CheckStoredRecord(std::string_view bytes) {
  return DecodeGuarded("record", [bytes] {
    AlignedMessage message(bytes);
    message.Root<schema::Record>().totalSize();  // visits every pointer, checking each
    return Status::Ok();
  });
}

Status CopyStoredRecord(std::string_view bytes, capnp::List<schema::Record>::Builder out,
                        unsigned index) {
  return DecodeGuarded("record", [&] {
    AlignedMessage message(bytes);
    // "With caveats": a struct larger than the list's element size would be cut to fit; both
    // sides are this build's schema.Record, so nothing is.
    out.setWithCaveats(index, message.Root<schema::Record>());
    return Status::Ok();
  });
}

std::string EncodeChange(const Change& change) {
  capnp::MallocMessageBuilder message;
  auto out = message.initRoot<schema::Change>();
  out.setSeq(change.seq);
  WriteRecord(change.delta, out.initDelta());
  out.setOrigin(change.origin);
  WriteTexts(change.owners, out.initOwners(static_cast<unsigned>(change.owners.size())));
  out.setEcho(change.echo);
  return MessageBytes(message);
}

Result<Change> DecodeChange(std::string_view bytes) {
  return DecodeMessage<schema::Change>("change", bytes, [](schema::Change::Reader in) {
    auto delta = ReadRecord(in.getDelta());
    if (!delta.ok()) return Result<Change>(delta.status());
    return Result<Change>(Change{in.getSeq(), std::move(delta).value(), in.getOrigin(),
                                 ReadTexts(in.getOwners()), in.getEcho()});
  });
}

std::string EncodeChangeNamingRecord(const Change& change) {
  capnp::MallocMessageBuilder message;
  auto out = message.initRoot<schema::Change>();
  out.setSeq(change.seq);
  auto delta = out.initDelta();
  delta.setTable(static_cast<schema::Table>(change.delta.table));
  delta.setId(change.delta.id);
  delta.setOwner(change.delta.owner);
  WriteStamp(change.delta.updated, delta.initUpdated());
  out.setOrigin(change.origin);
  WriteTexts(change.owners, out.initOwners(static_cast<unsigned>(change.owners.size())));
  out.setEcho(change.echo);
  out.setNamesRecord(true);
  return MessageBytes(message);
}

Result<StoredChange> DecodeStoredChange(std::string_view bytes) {
  return DecodeMessage<schema::Change>("change", bytes, [](schema::Change::Reader in) {
    auto delta = ReadRecord(in.getDelta());
    if (!delta.ok()) return Result<StoredChange>(delta.status());
    return Result<StoredChange>(
        StoredChange{Change{in.getSeq(), std::move(delta).value(), in.getOrigin(),
                            ReadTexts(in.getOwners()), in.getEcho()},
                     in.getNamesRecord()});
  });
}

Result<Change> DecodeChangeHead(std::string_view bytes) {
  return DecodeMessage<schema::Change>("change", bytes, [](schema::Change::Reader in) {
    auto delta = in.getDelta();
    auto table = ReadTable(delta.getTable());
    if (!table.ok()) return Result<Change>(table.status());
    Change head;
    head.seq = in.getSeq();
    head.delta.table = *table;
    head.delta.id = delta.getId().cStr();
    head.delta.owner = delta.getOwner().cStr();
    head.origin = in.getOrigin().cStr();
    head.owners = ReadTexts(in.getOwners());
    head.echo = in.getEcho();
    return Result<Change>(std::move(head));
  });
}

std::string EncodeHistoryEntry(const HistoryEntry& entry) {
  capnp::MallocMessageBuilder message;
  WriteHistoryEntry(entry, message.initRoot<schema::HistoryEntry>());
  return MessageBytes(message);
}

Result<HistoryEntry> DecodeHistoryEntry(std::string_view bytes) {
  return DecodeMessage<schema::HistoryEntry>(
      "history entry", bytes,
      [](schema::HistoryEntry::Reader in) { return Result<HistoryEntry>(ReadHistoryEntry(in)); });
}

namespace {

void WriteSide(const ConflictSide& side, schema::ConflictSide::Builder out) {
  WriteValue(side.value, out.initValue());
  WriteStamp(side.stamp, out.initStamp());
  out.setActor(side.actor);
}

ConflictSide ReadSide(schema::ConflictSide::Reader in) {
  return {ReadValue(in.getValue()), ReadStamp(in.getStamp()), in.getActor().cStr()};
}

}  // namespace

std::string EncodeConflict(const Conflict& conflict) {
  capnp::MallocMessageBuilder message;
  auto out = message.initRoot<schema::Conflict>();
  out.setTable(static_cast<schema::Table>(conflict.table));
  out.setId(conflict.id);
  out.setField(conflict.field);
  WriteSide(conflict.kept, out.initKept());
  WriteSide(conflict.lost, out.initLost());
  return MessageBytes(message);
}

Result<Conflict> DecodeConflict(std::string_view bytes) {
  return DecodeMessage<schema::Conflict>("conflict", bytes, [](schema::Conflict::Reader in) {
    const auto table = static_cast<uint16_t>(in.getTable());
    if (table > static_cast<uint16_t>(Table::kRegistration)) {
      return Result<Conflict>(Invalid("conflict has unknown table number"));
    }
    return Result<Conflict>(Conflict{static_cast<Table>(table), in.getId().cStr(),
                                     in.getField().cStr(), ReadSide(in.getKept()),
                                     ReadSide(in.getLost())});
  });
}

}  // namespace stationsync
