#include "sync/api_codec.h"

#include <capnp/message.h>

#include "schema/api.capnp.h"
#include "sync/capnp_io.h"
#include "sync/record_codec.h"

namespace stationsync {
namespace {

constexpr uint16_t kTableCount = 4;

Result<Table> ReadTable(schema::Table table) {
  const auto number = static_cast<uint16_t>(table);
  if (number >= kTableCount) return Invalid("unknown table number " + std::to_string(number));
  return static_cast<Table>(number);
}

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

Status ReadRequestBody(schema::Request::Reader in, ApiRequest& out) {
  Result<RecordPatch> patch = RecordPatch{};
  switch (in.which()) {
    case schema::Request::PING:
      out.kind = ApiKind::kPing;
      return Status::Ok();
    case schema::Request::STATUS:
      out.kind = ApiKind::kStatus;
      return Status::Ok();
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
      out.list.after = list.getAfter().cStr();
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
      out.page.next = in.getPage().getNext().cStr();
      return Status::Ok();
    case schema::Response::HISTORY:
      for (auto entry : in.getHistory()) out.history.push_back(ReadHistoryEntry(entry));
      return Status::Ok();
    case schema::Response::STATUS: {
      auto s = in.getStatus();
      out.node_status = {s.getRole().cStr(), s.getUnit().cStr(), s.getNode().cStr(),
                         s.getRecords(),     s.getPendingUp(),   s.getHubConnected(),
                         s.getLastSeq()};
      return Status::Ok();
    }
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
  }
  return Invalid("unknown response kind");
}

}  // namespace

std::string EncodeRequest(const ApiRequest& request) {
  capnp::MallocMessageBuilder message;
  auto out = message.initRoot<schema::Request>();
  out.setId(request.id);
  out.setActor(request.actor);
  switch (request.kind) {
    case ApiKind::kPing:
      out.setPing();
      break;
    case ApiKind::kStatus:
      out.setStatus();
      break;
    case ApiKind::kPut:
      WritePut(request.patch, out.initPut());
      break;
    case ApiKind::kGet:
      WriteKey(request.patch, out.initGet());
      break;
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
      list.setAfter(request.list.after);
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
  switch (response.kind) {
    case ApiKind::kPut:
    case ApiKind::kGet:
    case ApiKind::kDelete:
      if (response.record) WriteRecord(*response.record, out.initRecord());
      break;
    case ApiKind::kList: {
      auto page = out.initPage();
      auto records = page.initRecords(static_cast<unsigned>(response.page.records.size()));
      for (unsigned i = 0; i < response.page.records.size(); ++i) {
        WriteRecord(response.page.records[i], records[i]);
      }
      page.setNext(response.page.next);
      break;
    }
    case ApiKind::kHistory: {
      auto entries = out.initHistory(static_cast<unsigned>(response.history.size()));
      for (unsigned i = 0; i < response.history.size(); ++i) {
        WriteHistoryEntry(response.history[i], entries[i]);
      }
      break;
    }
    case ApiKind::kStatus: {
      auto s = out.initStatus();
      const NodeStatus& n = response.node_status;
      s.setRole(n.role);
      s.setUnit(n.unit);
      s.setNode(n.node);
      s.setRecords(n.records);
      s.setPendingUp(n.pending_up);
      s.setHubConnected(n.hub_connected);
      s.setLastSeq(n.last_seq);
      s.setApiVersion(schema::API_VERSION);
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
    return ReadResponseBody(in, response);
  });
  if (!status.ok()) return status;
  return response;
}

}  // namespace stationsync
