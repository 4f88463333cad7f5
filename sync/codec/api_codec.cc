#include "sync/codec/api_codec.h"

#include <capnp/message.h>

#include "schema/api.capnp.h"
#include "sync/codec/capnp_io.h"
#include "sync/codec/record_codec.h"

namespace stationsync {
namespace {

void WritePut(const RecordPatch& patch, schema::Put::Builder out) {
  out.setTable(static_cast<schema::Table>(patch.table));
  out.setId(patch.id);
  out.setOwner(patch.owner);
  auto fields = out.initFields(static_cast<unsigned>(patch.fields.size()));
  unsigned i = 0;
  for (const auto& [name, value] : patch.fields) {
    fields[i].setName(name);
    WriteValue(value, fields[i].initValue());
    ++i;
  }
}

Result<RecordPatch> ReadPut(schema::Put::Reader in) {
  auto table = ReadTable(in.getTable());
  if (!table.ok()) return table.status();
  RecordPatch patch{*table, in.getId().cStr(), in.getOwner().cStr(), {}};
  for (auto field : in.getFields()) {
    if (!patch.fields.emplace(field.getName().cStr(), ReadValue(field.getValue())).second) {
      return Invalid(std::string("put repeats field ") + field.getName().cStr());
    }
  }
  return patch;
}

void WriteKey(const RecordPatch& patch, schema::Key::Builder out) {
  out.setTable(static_cast<schema::Table>(patch.table));
  out.setId(patch.id);
}

Result<RecordPatch> ReadKey(schema::Key::Reader in) {
  auto table = ReadTable(in.getTable());
  if (!table.ok()) return table.status();
  return RecordPatch{*table, in.getId().cStr(), {}, {}};
}

void WriteChoice(const ConflictChoice& choice, schema::ResolveConflict::Builder out) {
  out.setId(choice.id);
  switch (choice.take) {
    case ConflictChoice::Take::kKept:
      out.setTakeKept();
      break;
    case ConflictChoice::Take::kLost:
      out.setTakeLost();
      break;
    case ConflictChoice::Take::kValue:
      WriteValue(choice.value, out.initValue());
      break;
  }
}

Result<ConflictChoice> ReadChoice(schema::ResolveConflict::Reader in) {
  ConflictChoice choice;
  choice.id = in.getId().cStr();
  switch (in.which()) {
    case schema::ResolveConflict::TAKE_KEPT:
      choice.take = ConflictChoice::Take::kKept;
      return choice;
    case schema::ResolveConflict::TAKE_LOST:
      choice.take = ConflictChoice::Take::kLost;
      return choice;
    case schema::ResolveConflict::VALUE:
      choice.take = ConflictChoice::Take::kValue;
      choice.value = ReadValue(in.getValue());
      return choice;
  }
  return Invalid("resolveConflict: unknown choice");
}

void WriteConflictSide(const ConflictSide& side, schema::ConflictSide::Builder out) {
  WriteValue(side.value, out.initValue());
  WriteStamp(side.stamp, out.initStamp());
  out.setActor(side.actor);
}

ConflictSide ReadConflictSide(schema::ConflictSide::Reader in) {
  return {ReadValue(in.getValue()), ReadStamp(in.getStamp()), in.getActor().cStr()};
}

void WriteConflict(const Conflict& conflict, schema::Conflict::Builder out) {
  out.setTable(static_cast<schema::Table>(conflict.table));
  out.setId(conflict.id);
  out.setField(conflict.field);
  WriteConflictSide(conflict.kept, out.initKept());
  WriteConflictSide(conflict.lost, out.initLost());
}

Result<Conflict> ReadConflict(schema::Conflict::Reader in) {
  auto table = ReadTable(in.getTable());
  if (!table.ok()) return table.status();
  return Conflict{*table, in.getId().cStr(), in.getField().cStr(), ReadConflictSide(in.getKept()),
                  ReadConflictSide(in.getLost())};
}

void WriteNodeStatus(const NodeStatus& status, schema::NodeStatus::Builder out) {
  out.setRole(status.role);
  out.setUnit(status.unit);
  out.setNode(status.node);
  out.setRecords(status.records);
  out.setPendingUp(status.pending_up);
  out.setHubConnected(status.hub_connected);
  out.setLastSeq(status.last_seq);
  out.setApiVersion(schema::API_VERSION);
  out.setLagRecords(status.lag_records);
  out.setConflictsOpen(status.conflicts_open);
  auto stations = out.initStations(static_cast<unsigned>(status.stations.size()));
  for (unsigned i = 0; i < status.stations.size(); ++i) {
    const StationLink& link = status.stations[i];
    auto station = stations[i];
    station.setUnit(link.unit);
    station.setConnected(link.connected);
    station.setLastSeenMs(link.last_seen_ms);
    station.setLagRecords(link.lag_records);
    station.setPendingUp(link.pending_up);
    station.setUpTotal(link.up_total);
    station.setDownTotal(link.down_total);
    station.setRejectedTotal(link.rejected_total);
    station.setNeverSeen(link.never_seen);
    WriteTexts(link.scope, station.initScope(static_cast<unsigned>(link.scope.size())));
    station.setKey(link.key);
    station.setRefusedTotal(link.refused_total);
    station.setLastRefusal(link.last_refusal);
    station.setHasLastVerify(link.last_verify.has_value());
    if (link.last_verify) {
      const LastVerify& v = *link.last_verify;
      auto last = station.initLastVerify();
      last.setAtMs(v.at_ms);
      last.setDeep(v.deep);
      last.setRepair(v.repair);
      last.setRecords(v.records);
      last.setDifferences(v.differences);
      last.setRepaired(v.repaired);
      last.setRemaining(v.remaining);
      last.setError(v.error);
    }
  }
  WriteTexts(status.scope, out.initScope(static_cast<unsigned>(status.scope.size())));
  out.setPublicKey(status.public_key);
  out.setHubRefusal(status.hub_refusal);
  out.setClockAheadMs(status.clock_ahead_ms);
  out.setRefusedUnknownKeyTotal(status.refused_unknown_key_total);
  out.setRefusedHandshakeTotal(status.refused_handshake_total);
  out.setLastHandshakeRefusal(status.last_handshake_refusal);
}

NodeStatus ReadNodeStatus(schema::NodeStatus::Reader in) {
  NodeStatus status;
  status.role = in.getRole().cStr();
  status.unit = in.getUnit().cStr();
  status.node = in.getNode().cStr();
  status.records = in.getRecords();
  status.pending_up = in.getPendingUp();
  status.hub_connected = in.getHubConnected();
  status.last_seq = in.getLastSeq();
  status.lag_records = in.getLagRecords();
  status.conflicts_open = in.getConflictsOpen();
  for (auto station : in.getStations()) {
    StationLink link;
    link.unit = station.getUnit().cStr();
    link.connected = station.getConnected();
    link.last_seen_ms = station.getLastSeenMs();
    link.lag_records = station.getLagRecords();
    link.pending_up = station.getPendingUp();
    link.up_total = station.getUpTotal();
    link.down_total = station.getDownTotal();
    link.rejected_total = station.getRejectedTotal();
    link.never_seen = station.getNeverSeen();
    link.scope = ReadTexts(station.getScope());
    link.key = station.getKey().cStr();
    link.refused_total = station.getRefusedTotal();
    link.last_refusal = station.getLastRefusal().cStr();
    if (station.getHasLastVerify()) {
      auto v = station.getLastVerify();
      link.last_verify =
          LastVerify{v.getAtMs(),        v.getDeep(),     v.getRepair(),    v.getRecords(),
                     v.getDifferences(), v.getRepaired(), v.getRemaining(), v.getError().cStr()};
    }
    status.stations.push_back(std::move(link));
  }
  status.scope = ReadTexts(in.getScope());
  status.public_key = in.getPublicKey().cStr();
  status.hub_refusal = in.getHubRefusal().cStr();
  status.clock_ahead_ms = in.getClockAheadMs();
  status.refused_unknown_key_total = in.getRefusedUnknownKeyTotal();
  status.refused_handshake_total = in.getRefusedHandshakeTotal();
  status.last_handshake_refusal = in.getLastHandshakeRefusal().cStr();
  return status;
}

void WriteDigest(const ScopeDigest& digest, schema::ScopeDigest::Builder out) {
  WriteTexts(digest.scope, out.initScope(static_cast<unsigned>(digest.scope.size())));
  out.setRecords(digest.records);
  out.setRoot(digest.root);
}

ScopeDigest ReadDigest(schema::ScopeDigest::Reader in) {
  ScopeDigest digest;
  digest.scope = ReadTexts(in.getScope());
  digest.records = in.getRecords();
  digest.root = in.getRoot().cStr();
  return digest;
}

void WriteBackupReport(const BackupReport& report, schema::BackupReport::Builder out) {
  out.setPath(report.path);
  out.setFiles(report.files);
  out.setBytes(report.bytes);
  out.setLogPosition(report.log_position);
  out.setKeyPair(report.key_pair);
}

BackupReport ReadBackupReport(schema::BackupReport::Reader in) {
  return {in.getPath().cStr(), in.getFiles(), in.getBytes(), in.getLogPosition(), in.getKeyPair()};
}

void WriteVerifyReport(const VerifyReport& report, schema::VerifyReport::Builder out) {
  auto differences = out.initDifferences(static_cast<unsigned>(report.differences.size()));
  for (unsigned i = 0; i < differences.size(); ++i) {
    const VerifyDifference& d = report.differences[i];
    differences[i].setTable(static_cast<schema::Table>(d.table));
    differences[i].setId(d.id);
    differences[i].setHasStation(d.station.has_value());
    differences[i].setStation(d.station.value_or(""));
    differences[i].setHasHub(d.hub.has_value());
    differences[i].setHub(d.hub.value_or(""));
  }
  out.setRecords(report.records);
  out.setBytesExchanged(report.bytes_exchanged);
  out.setMs(report.ms);
  out.setTruncated(report.truncated);
  out.setRepair(report.repair);
  out.setRepaired(report.repaired);
  out.setRemaining(report.remaining);
}

Result<VerifyReport> ReadVerifyReport(schema::VerifyReport::Reader in) {
  VerifyReport report;
  for (auto d : in.getDifferences()) {
    auto table = ReadTable(d.getTable());
    if (!table.ok()) return table.status();
    report.differences.push_back(
        {*table, d.getId().cStr(),
         d.getHasStation() ? std::optional<std::string>(d.getStation().cStr()) : std::nullopt,
         d.getHasHub() ? std::optional<std::string>(d.getHub().cStr()) : std::nullopt});
  }
  report.records = in.getRecords();
  report.bytes_exchanged = in.getBytesExchanged();
  report.ms = in.getMs();
  report.truncated = in.getTruncated();
  report.repair = in.getRepair();
  report.repaired = in.getRepaired();
  report.remaining = in.getRemaining();
  return report;
}

Status ReadRequestBody(schema::Request::Reader in, ApiRequest& out) {
  Result<RecordPatch> patch = RecordPatch{};
  switch (in.which()) {
    case schema::Request::PING:
      out.kind = ApiKind::kPing;
      return Status::Ok();
    case schema::Request::STATUS:
      out.kind = ApiKind::kStatus;
      return Status::Ok();
    case schema::Request::CONFLICTS:
      out.kind = ApiKind::kConflicts;
      return Status::Ok();
    case schema::Request::RESOLVE_CONFLICT: {
      out.kind = ApiKind::kResolveConflict;
      auto choice = ReadChoice(in.getResolveConflict());
      if (!choice.ok()) return choice.status();
      out.resolve = std::move(choice).value();
      return Status::Ok();
    }
    case schema::Request::DIGEST:
      out.kind = ApiKind::kDigest;
      out.code = in.getDigest().cStr();
      return Status::Ok();
    case schema::Request::MERGE: {
      out.kind = ApiKind::kMerge;
      auto merge = in.getMerge();
      out.merge.into = merge.getInto().cStr();
      for (auto member : merge.getMembers()) out.merge.members.push_back(member.cStr());
      out.merge.as_suboffice = merge.getAsSuboffice();
      return Status::Ok();
    }
    case schema::Request::UNMERGE:
      out.kind = ApiKind::kUnmerge;
      out.code = in.getUnmerge().cStr();
      return Status::Ok();
    case schema::Request::TRANSFER: {
      out.kind = ApiKind::kTransfer;
      auto transfer = in.getTransfer();
      auto table = ReadTable(transfer.getTable());
      if (!table.ok()) return table.status();
      out.transfer = {*table, transfer.getId().cStr(), transfer.getTo().cStr()};
      return Status::Ok();
    }
    case schema::Request::BACKUP:
      out.kind = ApiKind::kBackup;
      out.path = in.getBackup().cStr();
      return Status::Ok();
    case schema::Request::VERIFY:
      out.kind = ApiKind::kVerify;
      out.verify = {in.getVerify().getDeep(), in.getVerify().getRepair(),
                    in.getVerify().getStation().cStr()};
      return Status::Ok();
    case schema::Request::PERSON_MERGE:
    case schema::Request::PERSON_UNMERGE: {
      const bool merge = in.which() == schema::Request::PERSON_MERGE;
      out.kind = merge ? ApiKind::kPersonMerge : ApiKind::kPersonUnmerge;
      auto person = merge ? in.getPersonMerge() : in.getPersonUnmerge();
      out.person = {person.getKeep().cStr(), person.getDuplicate().cStr(), person.getDryRun()};
      return Status::Ok();
    }
    case schema::Request::GET_REMOTE:
      out.kind = ApiKind::kGetRemote;
      patch = ReadKey(in.getGetRemote());
      break;
    case schema::Request::PUT:
      out.kind = ApiKind::kPut;
      patch = ReadPut(in.getPut());
      break;
    case schema::Request::GET:
      out.kind = ApiKind::kGet;
      patch = ReadKey(in.getGet());
      break;
    case schema::Request::DEL:
      out.kind = ApiKind::kDelete;
      patch = ReadKey(in.getDel());
      break;
    case schema::Request::HISTORY:
      out.kind = ApiKind::kHistory;
      patch = ReadKey(in.getHistory());
      break;
    case schema::Request::LIST: {
      out.kind = ApiKind::kList;
      auto list = in.getList();
      if (list.getHasTable()) {
        auto table = ReadTable(list.getTable());
        if (!table.ok()) return table.status();
        out.list.table = *table;
      }
      out.list.owner = list.getOwner().cStr();
      out.list.household = list.getHousehold().cStr();
      // A cursor is a store key, which may hold 0x00 (index keys do): all its bytes, not cStr().
      out.list.after = std::string(list.getAfter().begin(), list.getAfter().size());
      out.list.limit = list.getLimit();
      return Status::Ok();
    }
    case schema::Request::PUT_BATCH:
      out.kind = ApiKind::kPutBatch;
      for (auto item : in.getPutBatch()) {
        auto read = ReadPut(item);
        if (!read.ok()) return read.status();
        out.batch.push_back(std::move(read).value());
      }
      return Status::Ok();
    default:
      return Invalid("unknown request kind " + std::to_string(static_cast<int>(in.which())));
  }
  if (!patch.ok()) return patch.status();
  out.patch = std::move(patch).value();
  return Status::Ok();
}

void WritePersonMergeReport(const PersonMergeReport& report,
                            schema::PersonMergeReport::Builder out) {
  out.setKeep(report.keep);
  out.setDuplicate(report.duplicate);
  out.setDryRun(report.dry_run);
  auto edits = out.initEdits(static_cast<unsigned>(report.edits.size()));
  for (unsigned i = 0; i < report.edits.size(); ++i) {
    const RecordEdit& edit = report.edits[i];
    edits[i].setTable(static_cast<schema::Table>(edit.table));
    edits[i].setId(edit.id);
    WriteFieldChanges(edit.changes,
                      edits[i].initChanges(static_cast<unsigned>(edit.changes.size())));
  }
}

Result<PersonMergeReport> ReadPersonMergeReport(schema::PersonMergeReport::Reader in) {
  PersonMergeReport report{in.getKeep().cStr(), in.getDuplicate().cStr(), in.getDryRun(), {}};
  for (auto edit : in.getEdits()) {
    auto table = ReadTable(edit.getTable());
    if (!table.ok()) return table.status();
    report.edits.push_back({*table, edit.getId().cStr(), ReadFieldChanges(edit.getChanges())});
  }
  return report;
}

Status ReadResponseBody(schema::Response::Reader in, ApiResponse& out) {
  switch (in.which()) {
    case schema::Response::NONE:
      return Status::Ok();
    case schema::Response::RECORD: {
      auto record = ReadRecord(in.getRecord());
      if (!record.ok()) return record.status();
      out.record = std::move(record).value();
      return Status::Ok();
    }
    case schema::Response::PAGE:
      for (auto item : in.getPage().getRecords()) {
        auto record = ReadRecord(item);
        if (!record.ok()) return record.status();
        out.page.records.push_back(std::move(record).value());
      }
      out.page.next = std::string(in.getPage().getNext().begin(), in.getPage().getNext().size());
      return Status::Ok();
    case schema::Response::HISTORY:
      for (auto entry : in.getHistory()) out.history.push_back(ReadHistoryEntry(entry));
      return Status::Ok();
    case schema::Response::STATUS:
      out.node_status = ReadNodeStatus(in.getStatus());
      return Status::Ok();
    case schema::Response::BATCH:
      for (auto item : in.getBatch()) {
        auto record = ReadRecord(item);
        if (!record.ok()) return record.status();
        out.batch.push_back(std::move(record).value());
      }
      return Status::Ok();
    case schema::Response::ERRORS:
      for (auto error : in.getErrors()) {
        out.errors.push_back({error.getIndex(), error.getMessage().cStr()});
      }
      return Status::Ok();
    case schema::Response::CONFLICTS:
      for (auto item : in.getConflicts()) {
        auto conflict = ReadConflict(item);
        if (!conflict.ok()) return conflict.status();
        out.conflicts.push_back(std::move(conflict).value());
      }
      return Status::Ok();
    case schema::Response::DIGEST:
      out.digest = ReadDigest(in.getDigest());
      return Status::Ok();
    case schema::Response::BACKUP:
      out.backup = ReadBackupReport(in.getBackup());
      return Status::Ok();
    case schema::Response::VERIFY: {
      auto report = ReadVerifyReport(in.getVerify());
      if (!report.ok()) return report.status();
      out.verify = std::move(report).value();
      return Status::Ok();
    }
    case schema::Response::PERSON_MERGE: {
      auto report = ReadPersonMergeReport(in.getPersonMerge());
      if (!report.ok()) return report.status();
      out.person_merge = std::move(report).value();
      return Status::Ok();
    }
  }
  return Invalid("unknown response kind");
}

}  // namespace

std::string EncodeRequest(const ApiRequest& request) {
  capnp::MallocMessageBuilder message;
  auto out = message.initRoot<schema::Request>();
  out.setId(request.id);
  out.setActor(request.actor);
  out.setWithoutRecords(request.without_records);
  switch (request.kind) {
    case ApiKind::kPing:
      out.setPing();
      break;
    case ApiKind::kStatus:
      out.setStatus();
      break;
    case ApiKind::kConflicts:
      out.setConflicts();
      break;
    case ApiKind::kResolveConflict:
      WriteChoice(request.resolve, out.initResolveConflict());
      break;
    case ApiKind::kPut:
      WritePut(request.patch, out.initPut());
      break;
    case ApiKind::kGet:
      WriteKey(request.patch, out.initGet());
      break;
    case ApiKind::kGetRemote:
      WriteKey(request.patch, out.initGetRemote());
      break;
    case ApiKind::kDigest:
      out.setDigest(request.code);
      break;
    case ApiKind::kUnmerge:
      out.setUnmerge(request.code);
      break;
    case ApiKind::kBackup:
      out.setBackup(request.path);
      break;
    case ApiKind::kPersonMerge:
    case ApiKind::kPersonUnmerge: {
      auto person =
          request.kind == ApiKind::kPersonMerge ? out.initPersonMerge() : out.initPersonUnmerge();
      person.setKeep(request.person.keep);
      person.setDuplicate(request.person.duplicate);
      person.setDryRun(request.person.dry_run);
      break;
    }
    case ApiKind::kVerify: {
      auto verify = out.initVerify();
      verify.setDeep(request.verify.deep);
      verify.setRepair(request.verify.repair);
      verify.setStation(request.verify.station);
      break;
    }
    case ApiKind::kMerge: {
      auto merge = out.initMerge();
      merge.setInto(request.merge.into);
      auto members = merge.initMembers(static_cast<unsigned>(request.merge.members.size()));
      for (unsigned i = 0; i < request.merge.members.size(); ++i) {
        members.set(i, request.merge.members[i]);
      }
      merge.setAsSuboffice(request.merge.as_suboffice);
      break;
    }
    case ApiKind::kTransfer: {
      auto transfer = out.initTransfer();
      transfer.setTable(static_cast<schema::Table>(request.transfer.table));
      transfer.setId(request.transfer.id);
      transfer.setTo(request.transfer.to);
      break;
    }
    case ApiKind::kDelete:
      WriteKey(request.patch, out.initDel());
      break;
    case ApiKind::kHistory:
      WriteKey(request.patch, out.initHistory());
      break;
    case ApiKind::kList: {
      auto list = out.initList();
      list.setHasTable(request.list.table.has_value());
      if (request.list.table) list.setTable(static_cast<schema::Table>(*request.list.table));
      list.setOwner(request.list.owner);
      list.setHousehold(request.list.household);
      // All the cursor's bytes (it may hold 0x00), not up to the first 0x00.
      list.setAfter(capnp::Text::Reader(request.list.after.data(), request.list.after.size()));
      list.setLimit(static_cast<uint32_t>(request.list.limit));
      break;
    }
    case ApiKind::kPutBatch: {
      auto batch = out.initPutBatch(static_cast<unsigned>(request.batch.size()));
      for (unsigned i = 0; i < request.batch.size(); ++i) WritePut(request.batch[i], batch[i]);
      break;
    }
  }
  return MessageBytes(message);
}

Result<ApiRequest> DecodeRequest(std::string_view bytes) {
  ApiRequest request;
  Status status = DecodeGuarded("request", [&] {
    AlignedMessage message(bytes);
    auto in = message.Root<schema::Request>();
    request.id = in.getId();
    request.actor = in.getActor().cStr();
    request.without_records = in.getWithoutRecords();
    return ReadRequestBody(in, request);
  });
  if (!status.ok()) return status;
  return request;
}

std::string EncodeResponse(const ApiResponse& response) {
  capnp::MallocMessageBuilder message;
  auto out = message.initRoot<schema::Response>();
  out.setId(response.id);
  out.setCode(static_cast<schema::Code>(response.status.code()));
  out.setMessage(response.status.message());
  out.setRedirectedFrom(response.redirected_from);
  switch (response.kind) {
    case ApiKind::kPut:
    case ApiKind::kGet:
    case ApiKind::kGetRemote:
    case ApiKind::kDelete:
    case ApiKind::kResolveConflict:
    case ApiKind::kUnmerge:
    case ApiKind::kTransfer:
      if (response.record) WriteRecord(*response.record, out.initRecord());
      break;
    case ApiKind::kDigest:
      if (response.status.ok()) WriteDigest(response.digest, out.initDigest());
      break;
    case ApiKind::kBackup:
      if (response.status.ok()) WriteBackupReport(response.backup, out.initBackup());
      break;
    case ApiKind::kVerify:
      if (response.status.ok()) WriteVerifyReport(response.verify, out.initVerify());
      break;
    case ApiKind::kPersonMerge:
    case ApiKind::kPersonUnmerge:
      if (response.status.ok()) {
        WritePersonMergeReport(response.person_merge, out.initPersonMerge());
      }
      break;
    case ApiKind::kMerge:
      if (response.status.ok()) {
        auto batch = out.initBatch(static_cast<unsigned>(response.batch.size()));
        for (unsigned i = 0; i < response.batch.size(); ++i) {
          WriteRecord(response.batch[i], batch[i]);
        }
      }
      break;
    case ApiKind::kList: {
      auto page = out.initPage();
      auto records = page.initRecords(static_cast<unsigned>(response.page.records.size()));
      for (unsigned i = 0; i < response.page.records.size(); ++i) {
        WriteRecord(response.page.records[i], records[i]);
      }
      page.setNext(capnp::Text::Reader(response.page.next.data(), response.page.next.size()));
      break;
    }
    case ApiKind::kHistory: {
      auto entries = out.initHistory(static_cast<unsigned>(response.history.size()));
      for (unsigned i = 0; i < response.history.size(); ++i) {
        WriteHistoryEntry(response.history[i], entries[i]);
      }
      break;
    }
    case ApiKind::kStatus:
      WriteNodeStatus(response.node_status, out.initStatus());
      break;
    case ApiKind::kConflicts: {
      auto conflicts = out.initConflicts(static_cast<unsigned>(response.conflicts.size()));
      for (unsigned i = 0; i < response.conflicts.size(); ++i) {
        WriteConflict(response.conflicts[i], conflicts[i]);
      }
      break;
    }
    case ApiKind::kPutBatch:
      if (!response.errors.empty()) {
        auto errors = out.initErrors(static_cast<unsigned>(response.errors.size()));
        for (unsigned i = 0; i < response.errors.size(); ++i) {
          errors[i].setIndex(response.errors[i].index);
          errors[i].setMessage(response.errors[i].message);
        }
      } else {
        auto batch = out.initBatch(static_cast<unsigned>(response.batch.size()));
        for (unsigned i = 0; i < response.batch.size(); ++i) {
          WriteRecord(response.batch[i], batch[i]);
        }
      }
      break;
    case ApiKind::kPing:
      break;
  }
  return MessageBytes(message);
}

Result<ApiResponse> DecodeResponse(std::string_view bytes) {
  ApiResponse response;
  Status status = DecodeGuarded("response", [&] {
    AlignedMessage message(bytes);
    auto in = message.Root<schema::Response>();
    response.id = in.getId();
    const auto code = static_cast<int>(in.getCode());
    if (code > static_cast<int>(Code::kInternal)) return Invalid("unknown response code");
    if (code != 0) response.status = Status(static_cast<Code>(code), in.getMessage().cStr());
    response.redirected_from = in.getRedirectedFrom().cStr();
    return ReadResponseBody(in, response);
  });
  if (!status.ok()) return status;
  return response;
}

}  // namespace stationsync
