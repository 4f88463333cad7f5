#include "sync/transport/api_client.h"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "sync/codec/capnp_io.h"

namespace stationsync {

ApiClient::ApiClient(std::string endpoint, std::chrono::milliseconds timeout, std::string actor)
    : endpoint_(std::move(endpoint)),
      timeout_(timeout),
      actor_(std::move(actor)),
      own_context_(std::make_unique<zmq::context_t>(1)),
      context_(own_context_.get()) {}

ApiClient::ApiClient(zmq::context_t& context, std::string endpoint,
                     std::chrono::milliseconds timeout, std::string actor)
    : endpoint_(std::move(endpoint)),
      timeout_(timeout),
      actor_(std::move(actor)),
      context_(&context) {}

Status ApiClient::Reconnect() {
  // A fresh socket per call after a timeout, so a late answer to an old request is never read
  // as the answer to a new one.
  const std::string ipc = "ipc://";
  if (endpoint_.rfind(ipc, 0) == 0 && !std::filesystem::exists(endpoint_.substr(ipc.size()))) {
    return Unavailable(fmt::format("no syncd is listening at {} (is it running?)", endpoint_));
  }
  try {
    socket_ = std::make_unique<zmq::socket_t>(*context_, zmq::socket_type::dealer);
    socket_->set(zmq::sockopt::linger, 0);
    socket_->set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(kMessageBytesMax) * 4);
    socket_->connect(endpoint_);
  } catch (const zmq::error_t& e) {
    socket_.reset();
    return Invalid(fmt::format("cannot connect to {}: {}", endpoint_, e.what()));
  }
  return Status::Ok();
}

Result<ApiResponse> ApiClient::Call(ApiRequest request) {
  const auto cancelled = [this] {
    socket_.reset();
    return Unavailable(fmt::format("the call to {} was cancelled: syncd is stopping", endpoint_));
  };
  if (cancel_ != nullptr && cancel_->load()) return cancelled();
  if (!socket_) SS_RETURN_IF_ERROR(Reconnect());
  request.id = next_id_++;
  if (request.actor.empty()) request.actor = actor_;
  const std::string bytes = EncodeRequest(request);
  const uint64_t id = request.id;
  const ApiKind kind = request.kind;
  request = {};  // a batch's thousand records are freed while the daemon works, not after
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  try {
    socket_->send(zmq::buffer(bytes), zmq::send_flags::none);
    while (true) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        socket_.reset();
        return Unavailable(fmt::format("syncd at {} did not answer within {} s", endpoint_,
                                       static_cast<double>(timeout_.count()) / 1000.0));
      }
      zmq::pollitem_t item{socket_->handle(), 0, ZMQ_POLLIN, 0};
      const auto slice =
          cancel_ == nullptr ? left : std::min(left, std::chrono::milliseconds(kCancelCheckMs));
      if (zmq::poll(&item, 1, slice) == 0) {
        if (cancel_ != nullptr && cancel_->load()) return cancelled();
        continue;  // the deadline is checked above
      }
      zmq::message_t reply;
      if (!socket_->recv(reply, zmq::recv_flags::none)) continue;
      auto response = DecodeResponse(reply.to_string_view());
      if (!response.ok()) return Internal("unreadable answer: " + response.status().message());
      if (response->id != id) continue;  // a stale answer
      response->kind = kind;
      return response;
    }
  } catch (const zmq::error_t& e) {
    socket_.reset();
    return Unavailable(fmt::format("talking to syncd at {}: {}", endpoint_, e.what()));
  }
}

namespace {

// The response's own status when the call went through but the daemon said no.
template <typename T, typename F>
Result<T> Unwrap(Result<ApiResponse> response, F take) {
  if (!response.ok()) return response.status();
  if (!response->status.ok()) return response->status;
  return take(*response);
}

// The record of an answer that must carry one; a daemon that leaves it out is a bug, not a crash.
Result<Record> TakeRecord(ApiResponse& response) {
  if (!response.record) return Internal("the daemon's answer has no record");
  return std::move(*response.record);
}

// TakeRecord, also noting (if asked) which id a redirected answer was asked for.
auto TakeRecordNoting(std::string* redirected_from) {
  return [redirected_from](ApiResponse& r) {
    if (redirected_from != nullptr) *redirected_from = r.redirected_from;
    return TakeRecord(r);
  };
}

ApiRequest KeyRequest(ApiKind kind, Table table, const std::string& id) {
  ApiRequest request;
  request.kind = kind;
  request.patch.table = table;
  request.patch.id = id;
  return request;
}

}  // namespace

Status ApiClient::Ping() {
  ApiRequest request;
  request.kind = ApiKind::kPing;
  auto response = Call(request);
  if (!response.ok()) return response.status();
  return response->status;
}

Result<Record> ApiClient::Put(const RecordPatch& patch) {
  ApiRequest request;
  request.kind = ApiKind::kPut;
  request.patch = patch;
  return Unwrap<Record>(Call(std::move(request)), TakeRecord);
}

Result<Record> ApiClient::Get(Table table, const std::string& id, std::string* redirected_from) {
  return Unwrap<Record>(Call(KeyRequest(ApiKind::kGet, table, id)),
                        TakeRecordNoting(redirected_from));
}

Result<Record> ApiClient::Delete(Table table, const std::string& id) {
  return Unwrap<Record>(Call(KeyRequest(ApiKind::kDelete, table, id)), TakeRecord);
}

Result<Page> ApiClient::List(const ListQuery& query) {
  ApiRequest request;
  request.kind = ApiKind::kList;
  request.list = query;
  return Unwrap<Page>(Call(std::move(request)), [](ApiResponse& r) { return std::move(r.page); });
}

Result<std::vector<HistoryEntry>> ApiClient::History(Table table, const std::string& id) {
  return Unwrap<std::vector<HistoryEntry>>(Call(KeyRequest(ApiKind::kHistory, table, id)),
                                           [](ApiResponse& r) { return std::move(r.history); });
}

Result<std::vector<Record>> ApiClient::PutBatch(std::vector<RecordPatch> batch,
                                                std::vector<BatchError>* errors) {
  ApiRequest request;
  request.kind = ApiKind::kPutBatch;
  request.batch = std::move(batch);
  auto response = Call(std::move(request));
  if (response.ok() && errors != nullptr) *errors = response->errors;
  return Unwrap<std::vector<Record>>(std::move(response),
                                     [](ApiResponse& r) { return std::move(r.batch); });
}

Status ApiClient::PutBatchWithoutRecords(std::vector<RecordPatch> batch,
                                         std::vector<BatchError>* errors) {
  ApiRequest request;
  request.kind = ApiKind::kPutBatch;
  request.batch = std::move(batch);
  request.without_records = true;
  auto response = Call(std::move(request));
  if (response.ok() && errors != nullptr) *errors = response->errors;
  if (!response.ok()) return response.status();
  return response->status;
}

Result<NodeStatus> ApiClient::GetStatus() {
  ApiRequest request;
  request.kind = ApiKind::kStatus;
  return Unwrap<NodeStatus>(Call(std::move(request)), [](ApiResponse& r) { return r.node_status; });
}

Result<std::vector<Conflict>> ApiClient::Conflicts() {
  ApiRequest request;
  request.kind = ApiKind::kConflicts;
  return Unwrap<std::vector<Conflict>>(Call(std::move(request)),
                                       [](ApiResponse& r) { return std::move(r.conflicts); });
}

Result<Record> ApiClient::ResolveConflict(const ConflictChoice& choice) {
  ApiRequest request;
  request.kind = ApiKind::kResolveConflict;
  request.resolve = choice;
  return Unwrap<Record>(Call(std::move(request)), TakeRecord);
}

Result<ScopeDigest> ApiClient::Digest(const std::string& scope_code) {
  ApiRequest request;
  request.kind = ApiKind::kDigest;
  request.code = scope_code;
  return Unwrap<ScopeDigest>(Call(std::move(request)),
                             [](ApiResponse& r) { return std::move(r.digest); });
}

Result<std::vector<Record>> ApiClient::Merge(const MergeRequest& merge) {
  ApiRequest request;
  request.kind = ApiKind::kMerge;
  request.merge = merge;
  return Unwrap<std::vector<Record>>(Call(std::move(request)),
                                     [](ApiResponse& r) { return std::move(r.batch); });
}

Result<Record> ApiClient::Unmerge(const std::string& code) {
  ApiRequest request;
  request.kind = ApiKind::kUnmerge;
  request.code = code;
  return Unwrap<Record>(Call(std::move(request)), TakeRecord);
}

Result<Record> ApiClient::Transfer(const TransferRequest& transfer) {
  ApiRequest request;
  request.kind = ApiKind::kTransfer;
  request.transfer = transfer;
  return Unwrap<Record>(Call(std::move(request)), TakeRecord);
}

Result<BackupReport> ApiClient::Backup(const std::string& dir) {
  ApiRequest request;
  request.kind = ApiKind::kBackup;
  request.path = dir;
  return Unwrap<BackupReport>(Call(std::move(request)),
                              [](ApiResponse& r) { return std::move(r.backup); });
}

Result<VerifyReport> ApiClient::Verify(const VerifyRequest& verify) {
  ApiRequest request;
  request.kind = ApiKind::kVerify;
  request.verify = verify;
  return Unwrap<VerifyReport>(Call(std::move(request)),
                              [](ApiResponse& r) { return std::move(r.verify); });
}

Result<PersonMergeReport> ApiClient::PersonMerge(const PersonMergeRequest& person) {
  ApiRequest request;
  request.kind = ApiKind::kPersonMerge;
  request.person = person;
  return Unwrap<PersonMergeReport>(Call(std::move(request)),
                                   [](ApiResponse& r) { return std::move(r.person_merge); });
}

Result<PersonMergeReport> ApiClient::PersonUnmerge(const PersonMergeRequest& person) {
  ApiRequest request;
  request.kind = ApiKind::kPersonUnmerge;
  request.person = person;
  return Unwrap<PersonMergeReport>(Call(std::move(request)),
                                   [](ApiResponse& r) { return std::move(r.person_merge); });
}

Result<Record> ApiClient::GetRemote(Table table, const std::string& id,
                                    std::string* redirected_from) {
  return Unwrap<Record>(Call(KeyRequest(ApiKind::kGetRemote, table, id)),
                        TakeRecordNoting(redirected_from));
}

}  // namespace stationsync
