#include "daemon/api_server.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "sync/capnp_io.h"
#include "sync/validate.h"

namespace stationsync {
namespace {

bool IsWrite(ApiKind kind) {
  return kind == ApiKind::kPut || kind == ApiKind::kDelete || kind == ApiKind::kPutBatch;
}

ApiResponse ResponseTo(const ApiRequest& request, Status status = Status::Ok()) {
  ApiResponse response;
  response.id = request.id;
  response.kind = request.kind;
  response.status = std::move(status);
  return response;
}

// The write a request asks for, or why it cannot be made.
Result<WriteRequest> ToWrite(const ApiRequest& request) {
  if (!IsCode(request.actor)) {
    return Invalid(
        "a write needs an actor (1 to 40 letters, digits, '-' or '_'): pass --actor "
        "or set SYNCD_ACTOR");
  }
  WriteRequest write{request.actor, {}};
  if (request.kind == ApiKind::kPutBatch) {
    if (request.batch.size() > kBatchItemsMax) {
      return Invalid(fmt::format("a batch holds at most {} records", kBatchItemsMax));
    }
    for (const auto& patch : request.batch) write.ops.push_back({false, patch});
  } else {
    write.ops.push_back({request.kind == ApiKind::kDelete, request.patch});
  }
  return write;
}

}  // namespace

ApiServer::ApiServer(zmq::context_t& context, std::string endpoint, Replica& replica,
                     std::string role)
    : endpoint_(std::move(endpoint)),
      replica_(replica),
      role_(std::move(role)),
      socket_(context, zmq::socket_type::router) {}

Status ApiServer::Bind() {
  try {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.set(zmq::sockopt::router_mandatory, 1);
    socket_.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(kMessageBytesMax));
    socket_.bind(endpoint_);
  } catch (const zmq::error_t& e) {
    if (e.num() == EINVAL || e.num() == EPROTONOSUPPORT) {
      return Invalid(fmt::format("API endpoint {}: {}", endpoint_, e.what()));
    }
    return Unavailable(fmt::format("cannot listen on API endpoint {}: {}", endpoint_, e.what()));
  }
  return Status::Ok();
}

void ApiServer::Run(const std::atomic<bool>& stop) {
  while (!stop.load()) {
    try {
      zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
      if (zmq::poll(&item, 1, std::chrono::milliseconds(kPollIntervalMs)) > 0) ServeTurn();
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) spdlog::error("api: {}", e.what());
    }
  }
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
    auto write = ToWrite(pending.request);
    if (!write.ok()) {
      responses.back().status = write.status();
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
    case ApiKind::kStatus:
      response.node_status = {role_,
                              replica_.unit(),
                              replica_.node(),
                              replica_.record_count(),
                              replica_.last_seq(),  // no hub link yet: every change is pending
                              false,
                              replica_.last_seq()};
      break;
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
