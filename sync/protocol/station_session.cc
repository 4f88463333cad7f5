// See station_session.h.
#include "sync/protocol/station_session.h"

#include <algorithm>
#include <utility>

#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "sync/base/json_log.h"
#include "sync/codec/sync_codec.h"
#include "sync/records/clock_bound.h"
#include "sync/storage/replica_keys.h"

namespace stationsync {

namespace {

constexpr char kOfferPendingNote[] = "offer_pending";  // set until the hub stored our offer
constexpr char kHubAckedNote[] = "hub_acked";          // for pending_up while offline

}  // namespace

StationSession::StationSession(Replica& replica, SessionOptions options)
    : replica_(replica), options_(options) {
  up_acked_ = std::min(replica_.Note(kHubAckedNote), replica_.last_seq());
  offering_ = replica_.Note(kOfferPendingNote) != 0;
}

uint64_t StationSession::PendingUp() const {
  const uint64_t last = replica_.last_seq();
  return last > up_acked_ ? last - up_acked_ : 0;
}

SyncStatus StationSession::Report() const {
  SyncStatus status;
  status.hub_connected = linked();
  status.lag_records = lag_records_;
  status.pending_up = PendingUp() + (offering_ ? 1 : 0);  // an offer in progress is pending
  status.hub_refusal = refusal_;
  status.clock_ahead_ms = clock_ahead_ms_;
  return status;
}

Hello StationSession::MakeHello() const {
  const PeerPosition hub = replica_.Peer(kHubPeer);
  Hello hello;
  hello.unit = replica_.unit();
  hello.node = replica_.node();
  hello.epoch = replica_.epoch();
  hello.last_seq = replica_.last_seq();
  hello.hub_epoch = hub.epoch;
  hello.down_cursor = hub.cursor;
  hello.down_stamp = hub.stamp;
  hello.scope = replica_.Scope();
  hello.clock_ms = replica_.WallMs();
  hello.partial_snapshots = true;
  return hello;
}

void StationSession::Send(SyncBody body, uint64_t now_ms, StationStep& step) {
  step.out.push_back({link_, std::move(body)});
  last_sent_ms_ = now_ms;
}

void StationSession::StartLink(uint64_t now_ms, StationStep& step) {
  // Unique across restarts as long as the clock does not run backwards by a whole link's life.
  link_ = (now_ms << 12) | (++links_started_ & 0xfff);
  state_ = State::kHelloSent;
  last_heard_ms_ = now_ms;
  step.new_link = true;
  step.out.clear();
  Send(MakeHello(), now_ms, step);
}

void StationSession::DropLink(uint64_t now_ms, uint64_t retry_after_ms) {
  state_ = State::kIdle;
  next_attempt_ms_ = now_ms + retry_after_ms;
  up_in_flight_.clear();
}

StationStep StationSession::Goodbye(uint64_t now_ms) {
  StationStep step;
  if (state_ == State::kLinked) Send(Heartbeat{PendingUp(), 0, /*goodbye=*/true}, now_ms, step);
  DropLink(now_ms, 0);
  return step;
}

StationStep StationSession::Tick(uint64_t now_ms) {
  StationStep step;
  const uint64_t backoff =
      std::min(options_.retry_max_ms, options_.retry_min_ms << std::min<uint32_t>(attempts_, 16));
  switch (state_) {
    case State::kIdle:
      if (now_ms >= next_attempt_ms_) {
        ++attempts_;
        StartLink(now_ms, step);
      }
      return step;
    case State::kHelloSent:
      if (now_ms - last_heard_ms_ >= std::min(options_.silence_ms, backoff + options_.retry_min_ms))
        DropLink(now_ms, 0);  // no answer: try again, later each time (attempts_ grows)
      return step;
    case State::kLinked:
      break;
  }
  if (now_ms - last_heard_ms_ >= options_.silence_ms) {
    LogEvent(spdlog::level::warn, "hub_link_down", {{"silent_ms", now_ms - last_heard_ms_}},
             "hub silent for {} ms: reconnecting", now_ms - last_heard_ms_);
    DropLink(now_ms, 0);
    return step;
  }
  if (!up_in_flight_.empty() && now_ms - up_progress_ms_ >= options_.resend_ms) {
    up_sent_ = up_acked_;  // resend what the hub has not acknowledged
    up_in_flight_.clear();
    if (offering_) {
      offer_next_page_ = offer_acked_pages_;
      offer_sent_last_ = false;
    }
  }
  StationStep pumped = Pump(now_ms);
  step.out = std::move(pumped.out);
  if (now_ms - last_sent_ms_ >= options_.heartbeat_ms) {
    Send(Heartbeat{PendingUp(), 0}, now_ms, step);
  }
  return step;
}

StationStep StationSession::Pump(uint64_t now_ms) {
  StationStep step;
  if (state_ != State::kLinked) return step;
  if (offering_) {
    SendOffer(now_ms, step);
  } else {
    SendUp(now_ms, step);
  }
  return step;
}

void StationSession::SendUp(uint64_t now_ms, StationStep& step) {
  while (up_in_flight_.size() < window_ && up_sent_ < replica_.last_seq()) {
    auto changes = replica_.ChangesAfter(up_sent_, options_.batch_records);
    if (!changes.ok()) {
      spdlog::error("reading the log for the hub: {}", changes.status().ToString());
      return;
    }
    if (changes->empty()) return;
    Up up;
    up.from = up_sent_;
    up.to = changes->back().seq;
    up.to_stamp = changes->back().delta.updated;
    for (auto& change : *changes) up.changes.push_back(std::move(change.delta));
    if (up_in_flight_.empty()) up_progress_ms_ = now_ms;
    up_in_flight_.push_back(up.to);
    up_sent_ = up.to;
    Send(std::move(up), now_ms, step);
  }
}

void StationSession::SendOffer(uint64_t now_ms, StationStep& step) {
  while (up_in_flight_.size() < window_ && !offer_sent_last_) {
    if (offer_page_starts_.size() <= offer_next_page_) return;  // start not known yet
    ListQuery query;
    query.after = offer_page_starts_[offer_next_page_];
    query.limit = options_.batch_records;
    query.include_deleted = true;
    auto page = replica_.List(query);
    if (!page.ok()) {
      spdlog::error("reading records to offer: {}", page.status().ToString());
      return;
    }
    Up up;
    up.offer = true;
    up.page = offer_next_page_;
    up.last = page->next.empty();
    up.changes = std::move(page->records);
    if (offer_page_starts_.size() == offer_next_page_ + 1) offer_page_starts_.push_back(page->next);
    if (up_in_flight_.empty()) up_progress_ms_ = now_ms;
    up_in_flight_.push_back(offer_next_page_);
    ++offer_next_page_;
    offer_sent_last_ = up.last;
    Send(std::move(up), now_ms, step);
  }
}

StationStep StationSession::Receive(SyncMessage message, uint64_t now_ms) {
  StationStep step;
  if (message.link != link_ || state_ == State::kIdle) return step;  // an older connection's
  last_heard_ms_ = now_ms;
  if (const auto* welcome = std::get_if<Welcome>(&message.body)) {
    if (state_ == State::kHelloSent) OnWelcome(*welcome, now_ms, step);
  } else if (const auto* refused = std::get_if<Refusal>(&message.body)) {
    if (refused->hello_again) {
      spdlog::info("the hub has no session for our link (it restarted?): saying hello again");
      StartLink(now_ms, step);
      return step;
    }
    if (refused->reason != refusal_)
      spdlog::error("the hub refused this station: {}", refused->reason);
    refusal_ = refused->reason;
    if (refused->clock_ahead_ms != 0) clock_ahead_ms_ = refused->clock_ahead_ms;
    DropLink(now_ms, options_.retry_max_ms);
  } else if (state_ != State::kLinked) {
    return step;
  } else if (const auto* ack = std::get_if<UpAck>(&message.body)) {
    OnUpAck(*ack, now_ms, step);
  } else if (auto* down = std::get_if<Down>(&message.body)) {
    OnDown(*down, now_ms, step);
  } else if (const auto* heartbeat = std::get_if<Heartbeat>(&message.body)) {
    OnHeartbeat(*heartbeat);
  } else if (auto* reply = std::get_if<LookupReply>(&message.body)) {
    lookup_replies_.push_back(*reply);
  } else if (auto* verify = std::get_if<VerifyReply>(&message.body)) {
    verify_replies_.push_back(std::move(*verify));
  } else if (const auto* order = std::get_if<VerifyOrder>(&message.body)) {
    if (verify_orders_.size() < 16) verify_orders_.push_back(*order);  // the runner refuses more
  }
  return step;
}

StationStep StationSession::StartLookup(uint64_t request, Table table, const std::string& id,
                                        const std::string& actor, uint64_t now_ms) {
  StationStep step;
  if (linked()) Send(Lookup{request, table, id, actor}, now_ms, step);
  return step;
}

std::vector<LookupReply> StationSession::TakeLookupReplies() {
  return std::exchange(lookup_replies_, {});
}

StationStep StationSession::StartVerify(const VerifyQuery& query, uint64_t now_ms) {
  StationStep step;
  if (linked()) Send(query, now_ms, step);
  return step;
}

std::vector<VerifyReply> StationSession::TakeVerifyReplies() {
  return std::exchange(verify_replies_, {});
}

std::vector<VerifyOrder> StationSession::TakeVerifyOrders() {
  return std::exchange(verify_orders_, {});
}

StationStep StationSession::SendVerifyResult(const VerifyResult& result, uint64_t now_ms) {
  StationStep step;
  if (linked()) Send(result, now_ms, step);
  return step;
}

void StationSession::OnWelcome(const Welcome& welcome, uint64_t now_ms, StationStep& step) {
  if (welcome.hub_clock_ms != 0) clock_ahead_ms_ = replica_.WallMs() - welcome.hub_clock_ms;
  if (-clock_ahead_ms_ > replica_.max_clock_ahead_ms()) {
    RefuseHub(fmt::format("the hub's clock is {} s ahead of ours (limit {} s)",
                          -clock_ahead_ms_ / 1000, replica_.max_clock_ahead_ms() / 1000),
              now_ms);
    return;
  }
  // Does the hub hold more of our log than we do? Then this store is an older copy of itself.
  bool older_copy = welcome.up_cursor > replica_.last_seq();
  if (!older_copy && welcome.up_cursor > 0) {
    auto stamp = replica_.LogStamp(welcome.up_cursor);
    older_copy = !stamp.ok() || *stamp != welcome.up_stamp;
  }
  if (older_copy) {
    spdlog::warn(
        "the hub holds changes of this store that it no longer has (restored from an "
        "older copy?): starting a new epoch and offering every record");
    if (stationsync::Status s = replica_.StartNewEpoch(); !s.ok()) {
      spdlog::error("{}", s.ToString());
      DropLink(now_ms, options_.retry_max_ms);
      return;
    }
    replica_.SetNote(kOfferPendingNote, 1);
    offering_ = true;
    StartLink(now_ms, step);  // hello again, with the new epoch
    return;
  }
  state_ = State::kLinked;
  attempts_ = 0;
  refusal_.clear();
  hub_epoch_ = welcome.hub_epoch;
  window_ = std::clamp<uint32_t>(welcome.window, 1, 64);
  up_acked_ = up_sent_ = welcome.up_cursor;
  up_in_flight_.clear();
  replica_.SetNote(kHubAckedNote, up_acked_);
  if (welcome.offer && !offering_) {
    replica_.SetNote(kOfferPendingNote, 1);
    offering_ = true;
  }
  offering_this_link_ = offering_;
  if (offering_) {
    offer_page_starts_ = {""};
    offer_next_page_ = offer_acked_pages_ = 0;
    offer_sent_last_ = false;
  }
  snapshot_id_ = 0;  // snapshot ids count within a link
  snapshot_next_page_ = 0;
  snapshot_done_ = false;
  if (!welcome.snapshot) EvictAbandonedSnapshotPages();
  LogEvent(spdlog::level::info, "hub_linked",
           {{"hub_epoch", welcome.hub_epoch},
            {"up_cursor", welcome.up_cursor},
            {"last_seq", replica_.last_seq()},
            {"snapshot", welcome.snapshot},
            {"offer", offering_}},
           "linked to the hub (epoch {}): it holds our log up to {} of {}{}{}", welcome.hub_epoch,
           welcome.up_cursor, replica_.last_seq(), welcome.snapshot ? ", a snapshot follows" : "",
           offering_ ? ", offering all" : "");
  StationStep pumped = Pump(now_ms);
  for (auto& m : pumped.out) step.out.push_back(std::move(m));
}

void StationSession::EvictAbandonedSnapshotPages() {
  // Pages of a snapshot of a wider scope are stored as they arrive, and the scope only with the
  // last page. A snapshot cut short (a crash, a dropped link) is never resumed: a new link gets
  // a new snapshot if the scope is still wider, and none if the hub narrowed it back meanwhile
  // (an unmerge). In that case the pages already stored lie outside the scope we hold: no one
  // would remove them. We never wrote them (a station writes only inside its stored scope).
  RemoteBatch batch;
  batch.peer = "hub";
  batch.new_scope = replica_.Scope();
  auto outcome = replica_.ApplyRemote(std::move(batch));
  if (!outcome.ok()) {
    spdlog::error("removing an abandoned snapshot's records: {}", outcome.status().ToString());
  } else if (outcome->evicted > 0) {
    spdlog::info("removed {} records of a snapshot of a wider scope that was cut short",
                 outcome->evicted);
  }
}

void StationSession::OnUpAck(const UpAck& ack, uint64_t now_ms, StationStep& step) {
  if (ack.rejected > 0) {
    spdlog::warn("the hub refused {} of our changes (out of scope or invalid)", ack.rejected);
  }
  if (ack.offer_ack) {
    if (!offering_ || ack.page + 1 <= offer_acked_pages_) return;
    offer_acked_pages_ = ack.page + 1;
    while (!up_in_flight_.empty() && up_in_flight_.front() <= ack.page) up_in_flight_.pop_front();
    up_progress_ms_ = now_ms;
    if (offer_sent_last_ && offer_acked_pages_ == offer_next_page_) {
      offering_ = false;
      replica_.SetNote(kOfferPendingNote, 0);
      up_in_flight_.clear();
      spdlog::info("the hub stored our offer of every record ({} pages)", offer_acked_pages_);
    }
  } else if (!offering_) {
    if (ack.gap) {
      up_acked_ = std::min(ack.cursor, replica_.last_seq());
      up_sent_ = up_acked_;
      up_in_flight_.clear();
    } else if (ack.cursor > up_acked_ && ack.cursor <= up_sent_) {
      up_acked_ = ack.cursor;
      while (!up_in_flight_.empty() && up_in_flight_.front() <= ack.cursor) {
        up_in_flight_.pop_front();
      }
      up_progress_ms_ = now_ms;
    }
    replica_.SetNote(kHubAckedNote, up_acked_);
  }
  StationStep pumped = Pump(now_ms);
  for (auto& m : pumped.out) step.out.push_back(std::move(m));
  if (PendingUp() != reported_pending_) {  // let the hub's status see it promptly
    reported_pending_ = PendingUp();
    Send(Heartbeat{reported_pending_, 0}, now_ms, step);
  }
}

void StationSession::NoteLinkProblem(const std::string& problem) {
  if (problem != refusal_) spdlog::error("{}", problem);
  refusal_ = problem;
}

void StationSession::RefuseHub(const std::string& reason, uint64_t now_ms) {
  if (reason != refusal_) spdlog::error("not syncing with the hub: {}", reason);
  refusal_ = reason;
  DropLink(now_ms, options_.retry_max_ms);
}

void StationSession::OnDown(Down& down, uint64_t now_ms, StationStep& step) {
  // Handed over in one process rather than decoded from the wire: decode what the hub passed
  // through as stored. Unreadable: dropped like a malformed message, and sent again.
  if (Status decoded = TakeStoredRecords(down); !decoded.ok()) {
    spdlog::error("a page from the hub holds an unreadable record: {}", decoded.message());
    return;
  }
  // Not applied and not acknowledged: the hub sends it again once the clocks agree.
  if (const int64_t ahead_ms =
          StampsAheadMs(down.records, replica_.WallMs(), replica_.max_clock_ahead_ms());
      ahead_ms > 0) {
    RefuseHub(fmt::format("the hub sent a record stamped {} s ahead of our clock (limit {} s)",
                          ahead_ms / 1000, replica_.max_clock_ahead_ms() / 1000),
              now_ms);
    return;
  }
  const PeerPosition held = replica_.Peer(kHubPeer);
  RemoteBatch batch;
  batch.peer = kHubPeer;
  if (down.snapshot) {
    // Pages apply in order within one snapshot, and a newer snapshot (the hub starts one when
    // our scope changes) starts at its page 0. A page applied before is acknowledged again
    // and not applied: replaying a finished snapshot would rewind our cursor.
    const bool newer = down.snapshot_id > snapshot_id_;
    if (newer && down.page != 0) {
      Send(DownAck{held.cursor, 0, true, true, down.snapshot_id}, now_ms, step);
      return;
    }
    if (!newer) {
      if (down.snapshot_id < snapshot_id_) return;  // an abandoned snapshot's
      if (snapshot_done_ || down.page < snapshot_next_page_) {
        Send(DownAck{held.cursor, down.page, true, false, snapshot_id_}, now_ms, step);
        return;
      }
      if (down.page != snapshot_next_page_) {
        Send(DownAck{held.cursor, snapshot_next_page_, true, true, snapshot_id_}, now_ms, step);
        return;
      }
    }
    if (down.page == 0) snapshot_keys_.Clear();
    for (const Record& record : down.records) {
      snapshot_keys_.Add(RecordKey(record.table, record.id));
    }
    if (down.last) {
      snapshot_keys_.Seal();
      batch.position = PeerPosition{down.hub_epoch, down.to, down.to_stamp};
      // A partial snapshot is as of our own cursor, and never moves it back: if a stream batch
      // sent before it reached us first, we hold the old scope past `to`, and the owners it
      // covered were read after that batch was sent.
      if (down.partial && held.epoch == down.hub_epoch && held.cursor > down.to) {
        batch.position = held;
      }
      if (!down.scope.empty()) batch.new_scope = down.scope;  // evicting whatever lies outside
      // A hub that lost history leaves out records it lost, not records that left our scope:
      // those we keep, and offer back. A partial snapshot speaks only for the owners it covered.
      if (!offering_this_link_) {
        auto stale = StaleAfterSnapshot(
            down.partial ? down.covered : batch.new_scope.value_or(replica_.Scope()),
            down.up_covered);
        if (!stale.ok()) {
          spdlog::error("finding records the snapshot left out: {}", stale.status().ToString());
          return;  // nothing acknowledged: the hub resends the page
        }
        batch.evict = std::move(stale).value();
      }
    }
  } else {
    // Amid a snapshot's pages, a stream batch is one the hub sent before it started the snapshot
    // (it streams nothing while one is under way), delayed or resent: applying it now would
    // judge the records it carries against the scope being replaced, and could evict a record
    // a page has just brought in (sim seed 194720). The snapshot covers it; its ack is ignored.
    if (snapshot_id_ > 0 && !snapshot_done_) return;
    // Sent before the snapshot we hold (a partial one is as of our cursor, so such a batch can
    // still fit it) and delayed past it: its evictions were judged under the scope it replaced.
    if (down.snapshot_id != 0 && down.snapshot_id < snapshot_id_) return;
    if (down.hub_epoch != held.epoch || down.from != held.cursor) {
      Send(DownAck{held.cursor, 0, false, true}, now_ms, step);
      return;
    }
    batch.position = PeerPosition{down.hub_epoch, down.to, down.to_stamp};
    batch.keep_scope_only = true;
    batch.evict = down.evict;
  }
  batch.changes = std::move(down.records);  // a page's thousand records: moved, not copied
  const std::optional<PeerPosition> position = batch.position;
  auto outcome = replica_.ApplyRemote(std::move(batch));
  if (!outcome.ok()) {
    // Storage failed: acknowledge nothing; the hub resends after its timeout.
    spdlog::error("storing the hub's batch: {}", outcome.status().ToString());
    return;
  }
  for (const auto& why : outcome->rejected) spdlog::warn("refused a record from the hub: {}", why);
  if (outcome->evicted > 0) {
    spdlog::info("{} records left this station's scope and were removed here", outcome->evicted);
  }
  if (down.snapshot) {
    snapshot_id_ = down.snapshot_id;
    snapshot_next_page_ = down.page + 1;
    snapshot_done_ = down.last;
    if (down.last) {
      snapshot_keys_.Clear();  // a replayed last page is acknowledged, not applied
      spdlog::info("holding the hub's snapshot of scope {}", fmt::join(down.scope, ","));
    }
    Send(DownAck{down.last ? position->cursor : held.cursor, down.page, true, false,
                 down.snapshot_id},
         now_ms, step);
  } else {
    Send(DownAck{down.to, 0, false, false}, now_ms, step);
  }
}

Result<std::vector<RecordRef>> StationSession::StaleAfterSnapshot(
    const std::vector<std::string>& scope, uint64_t up_covered) const {
  uint64_t covered_hlc = 0;
  if (up_covered > 0) {
    auto stamp = replica_.LogStamp(up_covered);
    if (!stamp.ok()) return stamp.status();
    covered_hlc = stamp->hlc;
  }
  // Keys first (the owner index only): most of a scope is in the snapshot, and only the rest is
  // read and decoded.
  std::vector<std::string> absent;
  for (const auto& owner : scope) {
    SS_RETURN_IF_ERROR(replica_.ForEachOwnedKey(owner, [&](std::string_view key) {
      if (!snapshot_keys_.Contains(key)) absent.emplace_back(key);
    }));
  }
  std::vector<RecordRef> stale;
  for (const std::string& key : absent) {
    auto record = replica_.GetByKey(key);
    if (!record.ok()) return record.status();
    if (!*record) continue;
    const auto mine = (*record)->seen.find(replica_.node());
    if (mine != (*record)->seen.end() && mine->second > covered_hlc) continue;  // not yet up
    stale.push_back({(*record)->table, (*record)->id});
  }
  return stale;
}

void StationSession::OnHeartbeat(const Heartbeat& heartbeat) {
  lag_records_ = heartbeat.lag_records;
}

}  // namespace stationsync
