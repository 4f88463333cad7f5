// See verify_runner.h.
#include "daemon/verify_runner.h"

#include <algorithm>
#include <chrono>
#include <future>
#include <set>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "daemon/http/node_state.h"
#include "sync/admin/verify_answer.h"
#include "sync/admin/verify_sources.h"
#include "sync/codec/sync_codec.h"
#include "sync/storage/replica_keys.h"

namespace stationsync {

namespace {

// The most changes of the station's own that may wait for the hub during a verify: they are
// read at every step to tell them from differences.
constexpr size_t kLocalInFlightMax = 100000;

constexpr char kRepairActor[] = "syncctl verify --repair";

// The station paces its queries below the hub's limit (hub_session.cc: 240 a minute): a burst
// of 60, then 2 a second, so at most 180 in any minute.
constexpr double kQueryBurst = 60;
constexpr double kQueriesPerMs = 2.0 / 1000;

size_t WireBytes(SyncBody body) {
  return EncodeSyncMessage(SyncMessage{0, std::move(body)}).size();
}

}  // namespace

struct VerifyRunner::Job {
  enum class Phase { kWalk, kFetch, kRecheck };
  uint64_t token = 0;
  VerifyRequest request;
  uint64_t started_ms = 0;
  Phase phase = Phase::kWalk;
  std::unique_ptr<ReplicaTreeSource> tree;
  std::unique_ptr<VerifyWalk> walk;
  VerifyReport report;
  std::vector<RecordRef> to_fetch;
  size_t fetched = 0;                // of to_fetch, asked for
  std::vector<RecordRef> sent_keys;  // the fetch awaiting its reply
  uint64_t next_request = 1;
  uint64_t awaiting = 0;  // the request id of the query in flight (0: none)
  uint64_t deadline_ms = 0;
  double tokens = kQueryBurst;      // queries that may be sent now
  uint64_t refilled_ms = 0;         // when tokens was last topped up
  std::optional<VerifyQuery> held;  // waiting for a token (awaiting is set already)
  VerifyQuery last_sent;            // resent if the link drops while it waits for its reply
  uint64_t unlinked_since_ms = 0;   // the link is down since (0: it is up)
  // The station's side of a step (reading its records: a deep walk reads every one) runs on a
  // thread of its own, so that the loop keeps the link alive; nothing else touches the walk
  // until it is done.
  std::future<Status> local;
  std::set<std::pair<Table, std::string>> local_in_flight;
};

VerifyRunner::VerifyRunner(Replica& replica, const StationSession& session, Send send,
                           Complete complete)
    : replica_(replica),
      session_(session),
      send_(std::move(send)),
      complete_(std::move(complete)) {}

VerifyRunner::~VerifyRunner() = default;

void VerifyRunner::Start(uint64_t token, const VerifyRequest& request, uint64_t /*now_ms*/) {
  if (job_) {
    complete_(token, Unavailable("a verify is already running at this station; retry once it "
                                 "is done"));
    return;
  }
  if (!session_.streaming()) {
    complete_(token, Unavailable("not linked to the hub (or still offering it every record): "
                                 "verify compares with the hub over the link; retry when linked"));
    return;
  }
  job_ = std::make_unique<Job>();
  job_->token = token;
  job_->request = request;
  job_->started_ms = SteadyNowMs();  // the time of a deep verify's first read counts too
  job_->report.repair = request.repair;
  RunLocal([this] { return StartWalk(); });
}

void VerifyRunner::RunLocal(std::function<Status()> work) {
  try {
    job_->local = std::async(std::launch::async, std::move(work));
  } catch (const std::system_error& e) {  // no thread to be had
    Finish(Unavailable(std::string("no thread for the verify: ") + e.what()));
  }
}

Status VerifyRunner::StartWalk() {
  if (job_->request.deep) {
    auto tree = RecomputedTree::Build(replica_);
    if (!tree.ok()) return tree.status();
    job_->tree = std::move(tree).value();
  } else {
    job_->tree = std::make_unique<StoredTree>(replica_);
  }
  job_->walk = std::make_unique<VerifyWalk>(
      *job_->tree, replica_.Scope(),
      [this](Table table, const std::string& id) { return LocalInFlight(table, id); });
  return Status::Ok();
}

bool VerifyRunner::LocalInFlight(Table table, const std::string& id) {
  return job_->local_in_flight.contains({table, id});
}

void VerifyRunner::SendQuery(VerifyQuery query, uint64_t now_ms) {
  query.request = job_->next_request++;
  job_->awaiting = query.request;
  job_->held = std::move(query);
  SendHeld(now_ms);
}

void VerifyRunner::SendHeld(uint64_t now_ms) {
  if (job_->refilled_ms == 0) job_->refilled_ms = now_ms;
  job_->tokens = std::min(
      kQueryBurst, job_->tokens + static_cast<double>(now_ms - job_->refilled_ms) * kQueriesPerMs);
  job_->refilled_ms = now_ms;
  if (job_->tokens < 1) return;  // Tick sends it
  job_->tokens -= 1;
  job_->deadline_ms = now_ms + kVerifyStepTimeoutMs;
  job_->report.bytes_exchanged += WireBytes(*job_->held);
  send_(*job_->held);
  job_->last_sent = std::move(*job_->held);
  job_->held.reset();
}

void VerifyRunner::Advance(uint64_t now_ms) {
  job_->awaiting = 0;
  if (job_->phase != Job::Phase::kFetch) {
    if (auto query = job_->walk->Next()) return SendQuery(std::move(*query), now_ms);
    if (job_->phase == Job::Phase::kRecheck) {
      job_->report.remaining = job_->walk->differences().size();
      return Finish(job_->report);
    }
    job_->report.differences = job_->walk->differences();
    job_->report.truncated = job_->walk->truncated();
    job_->report.records = job_->walk->records();
    if (!job_->request.repair || job_->report.differences.empty()) return Finish(job_->report);
    for (const auto& difference : job_->report.differences) {
      job_->to_fetch.push_back({difference.table, difference.id});
    }
    job_->phase = Job::Phase::kFetch;
  }
  if (job_->fetched < job_->to_fetch.size()) {
    const size_t end = std::min(job_->to_fetch.size(), job_->fetched + kVerifyKeysMax);
    VerifyQuery fetch;
    fetch.what = VerifyWhat::kFetch;
    fetch.keys.assign(job_->to_fetch.begin() + static_cast<std::ptrdiff_t>(job_->fetched),
                      job_->to_fetch.begin() + static_cast<std::ptrdiff_t>(end));
    job_->fetched = end;
    job_->sent_keys = fetch.keys;
    return SendQuery(std::move(fetch), now_ms);
  }
  // Every difference is repaired (or still syncing): a deep repair mended records behind the kept
  // sums and indexes, so they are rebuilt; then the replica is verified again.
  if (job_->request.deep) {
    if (Status rebuilt = replica_.RebuildDerived(); !rebuilt.ok()) return Finish(rebuilt);
  }
  job_->phase = Job::Phase::kRecheck;
  RunLocal([this] { return StartWalk(); });
}

void VerifyRunner::OnReply(const VerifyReply& reply, uint64_t now_ms) {
  if (!job_ || job_->awaiting == 0 || reply.request != job_->awaiting || job_->held) return;
  job_->report.bytes_exchanged += WireBytes(reply);
  // What the station wrote and the hub has not acknowledged, as of this reply: the link is
  // ordered, so an acknowledgement the hub sent after this reply has not been taken into
  // account yet, and the record still counts as in flight (never the other way round).
  auto pending = replica_.ChangeHeadsAfter(session_.up_acked(), kLocalInFlightMax + 1);
  if (!pending.ok()) return Finish(pending.status());
  if (pending->size() > kLocalInFlightMax) {
    return Finish(Unavailable(fmt::format(
        "more than {} of this station's changes wait for the hub; verify once they are synced",
        kLocalInFlightMax)));
  }
  job_->local_in_flight.clear();
  for (const Change& change : *pending) {
    job_->local_in_flight.insert({change.delta.table, change.delta.id});
  }
  // The walk reads the station's records on a thread of its own while the loop goes on writing
  // (an app's writes, the hub's changes): it reads them as of now, with what is in flight now.
  job_->tree->ReadAsOf(replica_.TakeReadPoint());
  if (job_->phase == Job::Phase::kFetch) {
    if (!reply.error.empty()) return Finish(Unavailable("the hub: " + reply.error));
    if (Status repaired = Repair(reply); !repaired.ok()) return Finish(repaired);
    Advance(now_ms);
  } else {
    job_->awaiting = 0;
    RunLocal([this, reply] { return job_->walk->OnReply(reply); });
  }
}

Status VerifyRunner::Repair(const VerifyReply& reply) {
  if (reply.records.size() != job_->sent_keys.size()) {
    return Invalid(fmt::format("the hub answered {} records for {} asked", reply.records.size(),
                               job_->sent_keys.size()));
  }
  std::vector<std::pair<std::string, std::optional<Record>>> states;
  for (size_t i = 0; i < reply.records.size(); ++i) {
    const RecordRef& key = job_->sent_keys[i];
    if (reply.records[i].in_flight || LocalInFlight(key.table, key.id)) continue;  // syncing
    states.emplace_back(RecordKey(key.table, key.id), reply.records[i].record);
  }
  if (states.empty()) return Status::Ok();
  SS_RETURN_IF_ERROR(replica_.Repair(states, kRepairActor));
  job_->report.repaired += states.size();
  spdlog::info("verify: repaired {} records to the hub's state", states.size());
  return Status::Ok();
}

void VerifyRunner::Tick(uint64_t now_ms) {
  if (!job_) return;
  if (job_->local.valid()) {
    if (job_->local.wait_for(std::chrono::seconds(0)) != std::future_status::ready) return;
    if (Status done = job_->local.get(); !done.ok()) return Finish(done);
    return Advance(now_ms);
  }
  // A link that drops (a repair's rebuild can hold the loop for seconds) is waited for, up to a
  // step's timeout; the query it lost is sent again.
  if (!session_.streaming()) {
    if (job_->unlinked_since_ms == 0) job_->unlinked_since_ms = now_ms;
    if (now_ms - job_->unlinked_since_ms > kVerifyStepTimeoutMs) {
      Finish(Unavailable("the link to the hub dropped during the verify; retry when linked"));
    }
    return;
  }
  if (job_->unlinked_since_ms != 0) {
    job_->unlinked_since_ms = 0;
    if (job_->awaiting != 0 && !job_->held) job_->held = job_->last_sent;
  }
  if (job_->held) return SendHeld(now_ms);
  if (job_->awaiting != 0 && now_ms > job_->deadline_ms) {
    Finish(Unavailable("the hub did not answer a verify query in time"));
  }
}

void VerifyRunner::Finish(const Result<VerifyReport>& result) {
  std::unique_ptr<Job> job = std::move(job_);
  if (result.ok()) {
    VerifyReport report = *result;
    report.ms = SteadyNowMs() - job->started_ms;
    spdlog::info("verify: {} records, {} differences, {} bytes exchanged, {} ms", report.records,
                 report.differences.size(), report.bytes_exchanged, report.ms);
    complete_(job->token, report);
  } else {
    spdlog::warn("verify: {}", result.status().ToString());
    complete_(job->token, result);
  }
}

}  // namespace stationsync
