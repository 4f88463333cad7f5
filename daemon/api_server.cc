#include "daemon/api_server.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "sync/capnp_io.h"
#include "sync/conflict_resolution.h"
#include "sync/transport.h"
#include "sync/validate.h"
#include "sync/write_scope.h"

namespace stationsync {
namespace {

bool IsWrite(ApiKind kind) {
  return kind == ApiKind::kPut || kind == ApiKind::kDelete || kind == ApiKind::kPutBatch ||
         kind == ApiKind::kResolveConflict;
}

ApiResponse ResponseTo(const ApiRequest& request, Status status = Status::Ok()) {
  ApiResponse response;
  response.id = request.id;
  response.kind = request.kind;
  response.status = std::move(status);
  return response;
}

}  // namespace

ApiServer::ApiServer(zmq::context_t& context, std::string endpoint, Replica& replica,
                     std::string role, std::function<SyncStatus()> sync_status)
    : endpoint_(std::move(endpoint)),
      replica_(replica),
      role_(std::move(role)),
      sync_status_(std::move(sync_status)),
      socket_(context, zmq::socket_type::router) {}

Status ApiServer::Bind() {
  socket_.set(zmq::sockopt::linger, 0);
  socket_.set(zmq::sockopt::router_mandatory, 1);
  socket_.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(kMessageBytesMax));
  return Attach(socket_, endpoint_, /*bind=*/true, "API endpoint");
}

bool ApiServer::ServeReady() {
  const uint64_t log_end = replica_.last_seq();
  ServeTurn();
  return replica_.last_seq() != log_end;
}

void ApiServer::ServeTurn() {
  std::vector<Pending> writes;
  for (size_t n = 0; n < kDrainRequestsMax; ++n) {
    std::vector<zmq::message_t> frames;
    zmq::message_t frame;
    if (!socket_.recv(frame, zmq::recv_flags::dontwait)) break;
    frames.push_back(std::move(frame));
    while (frames.back().more()) {
      zmq::message_t next;
      if (!socket_.recv(next, zmq::recv_flags::dontwait)) break;
      frames.push_back(std::move(next));
    }
    if (frames.size() != 2) {
      spdlog::warn("api: dropped a message of {} frames (expected 2)", frames.size());
      continue;
    }
    auto request = DecodeRequest(frames[1].to_string_view());
    if (!request.ok()) {
      spdlog::warn("api: {}", request.status().ToString());
      ApiResponse response;
      response.status = request.status();
      Reply(frames[0], response);
      continue;
    }
    if (IsWrite(request->kind)) {
      writes.push_back({std::move(frames[0]), std::move(request).value()});
      continue;
    }
    FlushWrites(writes);  // a read sees every write that arrived before it
    Reply(frames[0], HandleRead(*request));
  }
  FlushWrites(writes);
}

void ApiServer::FlushWrites(std::vector<Pending>& writes) {
  if (writes.empty()) return;
  std::vector<WriteRequest> batch;
  std::vector<size_t> batch_of;  // writes[i] -> index in batch, or SIZE_MAX when refused early
  std::vector<ApiResponse> responses;
  for (const auto& pending : writes) {
    responses.push_back(ResponseTo(pending.request));
    size_t failed_op = SIZE_MAX;
    auto write = ToWrite(pending.request, failed_op);
    if (!write.ok()) {
      ApiResponse& response = responses.back();
      response.status = write.status();
      if (response.kind == ApiKind::kPutBatch && failed_op != SIZE_MAX) {
        response.errors.push_back({static_cast<uint32_t>(failed_op), write.status().message()});
      }
      batch_of.push_back(SIZE_MAX);
      continue;
    }
    batch_of.push_back(batch.size());
    batch.push_back(std::move(write).value());
  }
  const std::vector<WriteOutcome> outcomes = replica_.Write(batch);
  for (size_t i = 0; i < writes.size(); ++i) {
    ApiResponse& response = responses[i];
    if (batch_of[i] != SIZE_MAX) {
      const WriteOutcome& outcome = outcomes[batch_of[i]];
      response.status = outcome.status;
      if (outcome.status.ok() && response.kind == ApiKind::kPutBatch) {
        response.batch = outcome.records;
      } else if (outcome.status.ok()) {
        response.record = outcome.records.front();
      } else if (response.kind == ApiKind::kPutBatch) {
        response.errors.push_back(
            {static_cast<uint32_t>(outcome.failed_op), outcome.status.message()});
      }
    }
    Reply(writes[i].routing_id, response);
  }
  writes.clear();
}

Result<WriteRequest> ApiServer::ToWrite(const ApiRequest& request, size_t& failed_op) const {
  if (!IsCode(request.actor)) {
    return Invalid(
        "a write needs an actor (1 to 40 letters, digits, '-' or '_'): pass --actor "
        "or set SYNCD_ACTOR");
  }
  WriteRequest write{request.actor, {}};
  switch (request.kind) {
    case ApiKind::kPutBatch:
      if (request.batch.size() > kBatchItemsMax) {
        return Invalid(fmt::format("a batch holds at most {} records", kBatchItemsMax));
      }
      for (const auto& patch : request.batch) write.ops.push_back({false, patch});
      break;
    case ApiKind::kResolveConflict: {
      // Reads the conflicts before the group's earlier writes are committed: one of them may
      // close this conflict, and then the resolution is still an ordinary, valid write.
      auto open = replica_.OpenConflicts();
      if (!open.ok()) return open.status();
      auto conflict = FindConflict(*open, request.resolve.id);
      if (!conflict.ok()) return conflict.status();
      auto op = ResolutionOp(*conflict, request.resolve);
      if (!op.ok()) return op.status();
      write.ops.push_back(std::move(op).value());
      break;
    }
    default:
      write.ops.push_back({request.kind == ApiKind::kDelete, request.patch});
  }
  if (!is_hub()) SS_RETURN_IF_ERROR(CheckStationWrite(replica_, write, &failed_op));
  return write;
}

Result<NodeStatus> ApiServer::CurrentStatus() const {
  auto conflicts = replica_.OpenConflicts();  // a full scan; conflicts are few
  if (!conflicts.ok()) return conflicts.status();
  NodeStatus status;
  status.role = role_;
  status.unit = replica_.unit();
  status.node = replica_.node();
  status.records = replica_.record_count();
  status.last_seq = replica_.last_seq();
  status.conflicts_open = conflicts->size();
  if (sync_status_) {
    SyncStatus sync = sync_status_();
    status.hub_connected = sync.hub_connected;
    status.lag_records = sync.lag_records;
    status.pending_up = sync.pending_up;
    status.stations = std::move(sync.stations);
  } else {
    status.pending_up = replica_.last_seq();  // no hub link: every local change is pending
  }
  return status;
}

ApiResponse ApiServer::HandleRead(const ApiRequest& request) {
  ApiResponse response = ResponseTo(request);
  switch (request.kind) {
    case ApiKind::kPing:
      break;
    case ApiKind::kGet: {
      auto record = replica_.Get(request.patch.table, request.patch.id);
      if (!record.ok()) {
        response.status = record.status();
      } else if (!*record || (*record)->deleted) {
        response.status = NotFound(
            fmt::format("{} {} does not exist", TableName(request.patch.table), request.patch.id));
      } else {
        response.record = std::move(**record);
      }
      break;
    }
    case ApiKind::kList: {
      auto page = replica_.List(request.list);
      if (page.ok()) {
        response.page = std::move(page).value();
      } else {
        response.status = page.status();
      }
      break;
    }
    case ApiKind::kHistory: {
      auto history = replica_.History(request.patch.table, request.patch.id);
      if (!history.ok()) {
        response.status = history.status();
      } else if (history->empty()) {
        response.status = NotFound(
            fmt::format("{} {} has no history", TableName(request.patch.table), request.patch.id));
      } else {
        response.history = std::move(history).value();
      }
      break;
    }
    case ApiKind::kStatus: {
      auto status = CurrentStatus();
      if (status.ok()) {
        response.node_status = std::move(status).value();
      } else {
        response.status = status.status();
      }
      break;
    }
    case ApiKind::kConflicts: {
      auto conflicts = replica_.OpenConflicts();
      if (conflicts.ok()) {
        response.conflicts = std::move(conflicts).value();
      } else {
        response.status = conflicts.status();
      }
      break;
    }
    default:
      response.status = Internal("not a read");
  }
  return response;
}

void ApiServer::Reply(zmq::message_t& routing_id, const ApiResponse& response) {
  const std::string bytes = EncodeResponse(response);
  try {
    zmq::message_t id;
    id.copy(routing_id);
    if (!socket_.send(id, zmq::send_flags::sndmore | zmq::send_flags::dontwait) ||
        !socket_.send(zmq::buffer(bytes), zmq::send_flags::dontwait)) {
      spdlog::warn("api: a client's queue is full; dropped its answer");
    }
  } catch (const zmq::error_t& e) {
    // EHOSTUNREACH: the client went away before its answer; nothing to do.
    spdlog::debug("api: answer not delivered: {}", e.what());
  }
}

}  // namespace stationsync
