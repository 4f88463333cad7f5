#include "daemon/api_server.h"

#include <algorithm>
#include <chrono>
#include <system_error>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include "daemon/node_status.h"
#include "sync/admin/person_merge.h"
#include "sync/codec/capnp_io.h"
#include "sync/protocol/registry.h"
#include "sync/protocol/regroup.h"
#include "sync/protocol/write_scope.h"
#include "sync/records/validate.h"
#include "sync/storage/conflict_resolution.h"
#include "sync/transport/transport.h"

namespace stationsync {
namespace {

bool IsWrite(ApiKind kind) {
  return kind == ApiKind::kPut || kind == ApiKind::kDelete || kind == ApiKind::kPutBatch ||
         kind == ApiKind::kResolveConflict;
}

// Writes that change the registry or an owner: planned and committed on their own.
bool IsRegroup(ApiKind kind) {
  return kind == ApiKind::kMerge || kind == ApiKind::kUnmerge || kind == ApiKind::kTransfer;
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

ApiServer::~ApiServer() {
  cancel_backup_.store(true);
  if (backup_) backup_->done.wait();
}

Status ApiServer::Bind() {
  socket_.set(zmq::sockopt::linger, 0);
  socket_.set(zmq::sockopt::router_mandatory, 1);
  socket_.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(kMessageBytesMax));
  // syncd is single-threaded while it binds, so the umask BindLocal sets affects nothing else.
  return BindLocal(socket_, endpoint_, "API endpoint");
}

Status ApiServer::BindInProcess(const std::string& endpoint) {
  if (!endpoint.starts_with("inproc://")) {
    return Invalid(fmt::format("{} is not an inproc:// endpoint", endpoint));
  }
  return Attach(socket_, endpoint, /*bind=*/true, "in-process API endpoint");
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
    FlushWrites(writes);  // a read (or a regroup's plan) sees every write that arrived before it
    if (IsRegroup(request->kind)) {
      writes.push_back({std::move(frames[0]), std::move(request).value()});
      FlushWrites(writes);
    } else if (request->kind == ApiKind::kPersonMerge || request->kind == ApiKind::kPersonUnmerge) {
      Reply(frames[0], HandlePersonMerge(*request));
    } else if (request->kind == ApiKind::kGetRemote && !is_hub()) {
      StartLookup(frames[0], *request);
    } else if (request->kind == ApiKind::kBackup) {
      StartBackupCopy(frames[0], *request);
    } else if (request->kind == ApiKind::kVerify) {
      StartVerify(frames[0], *request);
    } else {
      Reply(frames[0], HandleRead(*request));
    }
  }
  FlushWrites(writes);
}

void ApiServer::FlushWrites(std::vector<Pending>& writes) {
  if (writes.empty()) return;
  std::vector<WriteRequest> batch;
  std::vector<size_t> batch_of;  // writes[i] -> index in batch, or SIZE_MAX when refused early
  std::vector<ApiResponse> responses;
  for (auto& pending : writes) {
    responses.push_back(ResponseTo(pending.request));
    size_t failed_op = SIZE_MAX;
    auto write = IsRegroup(pending.request.kind)
                     ? ToRegroup(pending.request)
                     : ToWrite(pending.request, failed_op, responses.back().redirected_from);
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
    // Only a batch may be answered without its records: every other write answers with one.
    batch.back().answer_records =
        !(pending.request.kind == ApiKind::kPutBatch && pending.request.without_records);
  }
  std::vector<WriteOutcome> outcomes;
  if (!batch.empty()) {
    const auto started = std::chrono::steady_clock::now();
    outcomes = replica_.Write(batch);
    write_latency_.Observe(
        static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                  std::chrono::steady_clock::now() - started)
                                  .count()));
  }
  for (size_t i = 0; i < writes.size(); ++i) {
    ApiResponse& response = responses[i];
    if (batch_of[i] != SIZE_MAX) {
      WriteOutcome& outcome = outcomes[batch_of[i]];
      response.status = outcome.status;
      if (outcome.status.ok() &&
          (response.kind == ApiKind::kPutBatch || response.kind == ApiKind::kMerge)) {
        response.batch = std::move(outcome.records);  // empty when asked without records
      } else if (outcome.status.ok()) {
        response.record = std::move(outcome.records.front());
      } else if (response.kind == ApiKind::kPutBatch) {
        response.errors.push_back(
            {static_cast<uint32_t>(outcome.failed_op), outcome.status.message()});
      }
    }
    Reply(writes[i].routing_id, response);
  }
  writes.clear();
}

Result<WriteRequest> ApiServer::ToWrite(ApiRequest& request, size_t& failed_op,
                                        std::string& redirected_from) const {
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
      write.ops.reserve(request.batch.size());
      for (auto& patch : request.batch) write.ops.push_back({false, std::move(patch)});
      break;
    case ApiKind::kResolveConflict: {
      // Reads the conflicts before the group's earlier writes are committed: one of them may
      // close this conflict, and then the resolution is still an ordinary, valid write.
      auto open = replica_.OpenConflicts();
      if (!open.ok()) return open.status();
      auto conflict = FindConflict(*open, request.resolve.id);
      if (!conflict.ok()) return conflict.status();
      auto op = ResolutionOp(*conflict, request.resolve, *open);
      if (!op.ok()) return op.status();
      write.ops.push_back(std::move(op).value());
      break;
    }
    default:
      write.ops.push_back({request.kind == ApiKind::kDelete, std::move(request.patch)});
  }
  SS_RETURN_IF_ERROR(RedirectMergedPersons(write, failed_op, redirected_from));
  if (!is_hub()) SS_RETURN_IF_ERROR(CheckStationWrite(replica_, write, &failed_op));
  return write;
}

Status ApiServer::RedirectMergedPersons(WriteRequest& write, size_t& failed_op,
                                        std::string& redirected_from) const {
  for (size_t i = 0; i < write.ops.size(); ++i) {
    WriteOp& op = write.ops[i];
    failed_op = i;
    if (op.patch.table == Table::kCase && !op.remove) {
      SS_RETURN_IF_ERROR(RedirectMergedInvolved(replica_, op.patch));
    }
    if (op.patch.table != Table::kRegistration) continue;
    if (op.patch.fields.contains("merged_into")) {
      return Invalid(fmt::format(
          "registration {}: merged_into is set by `syncctl person merge` only", op.patch.id));
    }
    if (op.remove) continue;  // deleting a merged registration deletes nothing more
    auto kept = FollowMerged(replica_, op.patch.id);
    if (!kept.ok()) {
      return Refused(fmt::format("{}: write to it at the hub", kept.status().message()));
    }
    if (!*kept) continue;
    redirected_from = op.patch.id;
    op.patch.id = (*kept)->id;
  }
  failed_op = SIZE_MAX;
  return Status::Ok();
}

ApiResponse ApiServer::HandlePersonMerge(const ApiRequest& request) {
  ApiResponse response = ResponseTo(request);
  if (!is_hub()) {
    response.status = Refused("person merges and unmerges are made at the hub");
    return response;
  }
  if (!IsCode(request.actor)) {
    response.status = Invalid(
        "a write needs an actor (1 to 40 letters, digits, '-' or '_'): pass --actor "
        "or set SYNCD_ACTOR");
    return response;
  }
  auto plan =
      request.kind == ApiKind::kPersonMerge
          ? PlanPersonMerge(replica_, request.person.keep, request.person.duplicate, request.actor)
          : PlanPersonUnmerge(replica_, request.person.duplicate, request.actor);
  if (!plan.ok()) {
    response.status = plan.status();
    return response;
  }
  response.person_merge = {plan->keep, plan->duplicate, request.person.dry_run, plan->edits};
  if (request.person.dry_run) return response;
  const auto outcomes = replica_.Write({plan->write});
  response.status = outcomes.front().status;
  if (response.status.ok()) {
    spdlog::info("{} by {}: {} into {}, {} records changed",
                 request.kind == ApiKind::kPersonMerge ? "person merge" : "person unmerge",
                 request.actor, plan->duplicate, plan->keep, plan->edits.size());
  }
  return response;
}

Result<WriteRequest> ApiServer::ToRegroup(const ApiRequest& request) const {
  if (!is_hub()) {
    return Refused(request.kind == ApiKind::kTransfer ? "transfers are made at the hub"
                                                      : "merges and unmerges are made at the hub");
  }
  if (!IsCode(request.actor)) {
    return Invalid(
        "a write needs an actor (1 to 40 letters, digits, '-' or '_'): pass --actor "
        "or set SYNCD_ACTOR");
  }
  switch (request.kind) {
    case ApiKind::kMerge:
      if (request.merge.members.size() > kBatchItemsMax) {
        return Invalid(fmt::format("a merge names at most {} units", kBatchItemsMax));
      }
      return PlanMerge(replica_, request.merge.into, request.merge.members,
                       request.merge.as_suboffice, request.actor);
    case ApiKind::kUnmerge:
      return PlanUnmerge(replica_, request.code, request.actor);
    case ApiKind::kTransfer:
      return PlanTransfer(replica_, request.transfer.table, request.transfer.id,
                          request.transfer.to, request.actor);
    default:
      return Internal("not a regroup");
  }
}

Result<ScopeDigest> ApiServer::DigestOf(const std::string& code) const {
  if (is_hub()) {
    if (code.empty()) return Invalid("the hub holds every scope: name one with --scope CODE");
    auto unit = replica_.Get(Table::kUnit, code);
    if (!unit.ok()) return unit.status();
    if (!*unit || (*unit)->deleted) {
      return NotFound(fmt::format("unit {} is not in the registry", code));
    }
    auto group = GroupOf(replica_, code);
    if (!group.ok()) return group.status();
    return replica_.Digest(*group);
  }
  std::vector<std::string> scope = replica_.Scope();
  if (scope.empty()) scope.push_back(replica_.unit());
  if (!code.empty() && std::find(scope.begin(), scope.end(), code) == scope.end()) {
    return Refused(fmt::format(
        "unit {} is not in this station's scope (it holds {}): ask the hub for its digest", code,
        fmt::join(scope, ", ")));
  }
  return replica_.Digest(scope);
}

void ApiServer::SetLookupStarter(LookupStarter start) {
  start_lookup_ = std::move(start);
}

void ApiServer::StartLookup(zmq::message_t& routing_id, const ApiRequest& request) {
  if (!start_lookup_) {
    Reply(routing_id, ResponseTo(request, Unavailable("no hub link configured: this station "
                                                      "cannot ask the hub for records")));
    return;
  }
  if (lookups_.size() >= kLookupsInFlightMax) {
    Reply(routing_id,
          ResponseTo(request, Unavailable(fmt::format(
                                  "{} look-ups are already waiting for the hub; retry later",
                                  lookups_.size()))));
    return;
  }
  const uint64_t token = next_lookup_++;
  PendingLookup& lookup = lookups_[token];
  lookup.routing_id.copy(routing_id);
  lookup.request_id = request.id;
  lookup.table = request.patch.table;
  lookup.id = request.patch.id;
  // The starter may answer at once (CompleteLookup erases the entry): nothing of `lookup` is
  // used after this call.
  start_lookup_(token, request.patch.table, request.patch.id, request.actor);
}

void ApiServer::StartVerify(zmq::message_t& routing_id, const ApiRequest& request) {
  if (!start_verify_) {
    Reply(routing_id,
          ResponseTo(request, Invalid(is_hub() ? "verify runs at a station: it compares the "
                                                 "station's replica with the hub's view of it"
                                               : "no hub link configured: nothing to verify "
                                                 "against")));
    return;
  }
  const uint64_t token = next_lookup_++;
  PendingVerify& verify = verifies_[token];
  verify.routing_id.copy(routing_id);
  verify.request_id = request.id;
  start_verify_(token, request.verify);  // may call CompleteVerify at once
}

void ApiServer::CompleteVerify(uint64_t token, const Result<VerifyReport>& result) {
  const auto it = verifies_.find(token);
  if (it == verifies_.end()) return;
  PendingVerify verify = std::move(it->second);
  verifies_.erase(it);
  ApiResponse response;
  response.id = verify.request_id;
  response.kind = ApiKind::kVerify;
  if (result.ok()) {
    response.verify = *result;
  } else {
    response.status = result.status();
  }
  Reply(verify.routing_id, response);
}

void ApiServer::StartBackupCopy(zmq::message_t& routing_id, const ApiRequest& request) {
  if (backup_) {
    Reply(routing_id,
          ResponseTo(request,
                     Unavailable(fmt::format("a backup to {} is in progress; retry once it is done",
                                             backup_->path))));
    return;
  }
  auto job = StartBackup(replica_, backup_source_, request.path);
  if (!job.ok()) {
    Reply(routing_id, ResponseTo(request, job.status()));
    return;
  }
  PendingBackup pending;
  pending.routing_id.copy(routing_id);
  pending.request_id = request.id;
  pending.path = job->target.string();
  try {
    pending.done = std::async(std::launch::async,
                              [this, copy = *job] { return FinishBackup(copy, cancel_backup_); });
  } catch (const std::system_error& e) {  // no thread to be had: nothing copied yet
    AbandonBackup(*job);
    Reply(routing_id,
          ResponseTo(request, Unavailable(std::string("no thread for the copy: ") + e.what())));
    return;
  }
  backup_ = std::move(pending);
}

void ApiServer::FinishBackups() {
  if (!backup_ || backup_->done.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
    return;
  }
  Result<BackupReport> report = backup_->done.get();
  ApiResponse response;
  response.id = backup_->request_id;
  response.kind = ApiKind::kBackup;
  if (report.ok()) {
    response.backup = std::move(report).value();
  } else {
    response.status = report.status();
  }
  Reply(backup_->routing_id, response);
  backup_.reset();
}

void ApiServer::CompleteLookup(uint64_t token, const Result<std::optional<Record>>& result) {
  const auto it = lookups_.find(token);
  if (it == lookups_.end()) {
    spdlog::debug("api: look-up {} answered twice or never started; ignored", token);
    return;
  }
  PendingLookup lookup = std::move(it->second);
  lookups_.erase(it);
  ApiResponse response;
  response.id = lookup.request_id;
  response.kind = ApiKind::kGetRemote;
  if (!result.ok()) {
    response.status = result.status();
  } else if (!*result || (*result)->deleted) {
    response.status = NotFound(
        fmt::format("{} {} does not exist at the hub", TableName(lookup.table), lookup.id));
  } else if ((*result)->table != lookup.table) {
    response.status =
        Internal(fmt::format("the hub answered a look-up of {} {} with a {} record",
                             TableName(lookup.table), lookup.id, TableName((*result)->table)));
  } else {
    response.record = **result;
    // The hub answers for a merged person with the registration it was merged into.
    auto asked = NormalizeId(lookup.table, lookup.id);
    if (asked.ok() && *asked != response.record->id) response.redirected_from = *asked;
  }
  Reply(lookup.routing_id, response);
}

Result<NodeStatus> ApiServer::CurrentStatus() const {
  return MakeNodeStatus(replica_, role_,
                        sync_status_ ? std::optional<SyncStatus>(sync_status_()) : std::nullopt);
}

ApiResponse ApiServer::HandleRead(const ApiRequest& request) {
  ApiResponse response = ResponseTo(request);
  switch (request.kind) {
    case ApiKind::kPing:
      break;
    case ApiKind::kDigest: {
      auto digest = DigestOf(request.code);
      if (digest.ok()) {
        response.digest = std::move(digest).value();
      } else {
        response.status = digest.status();
      }
      break;
    }
    case ApiKind::kGet:
    case ApiKind::kGetRemote: {  // at the hub, a remote look-up is a local one
      auto record = replica_.Get(request.patch.table, request.patch.id);
      if (record.ok() && *record && (*record)->deleted &&
          request.patch.table == Table::kRegistration) {
        auto kept = FollowMerged(replica_, request.patch.id);
        if (!kept.ok()) {
          response.status = kept.status();
          break;
        }
        if (*kept) {
          response.redirected_from = (*record)->id;
          record = std::move(kept);
        }
      }
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
