// See hub_session.h.
#include "sync/protocol/hub_session.h"

#include <algorithm>
#include <iterator>
#include <set>

#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "sync/admin/person_merge.h"
#include "sync/admin/verify_answer.h"
#include "sync/base/json_log.h"
#include "sync/base/log_guard.h"
#include "sync/records/clock_bound.h"
#include "sync/storage/replica_keys.h"

namespace stationsync {

namespace {

constexpr size_t kScanBudget = 8192;  // log entries read per Scan, so a tick stays short
// Verify: queries answered per station a minute (a walk of ten differences takes six), and the
// most changes in flight to a station that its verify queries are answered with.
constexpr uint32_t kVerifyQueriesPerMinute = 240;  // the station paces itself below it
constexpr size_t kVerifyInFlightMax = 100000;

std::string DownNote(const std::string& unit) {
  return "down/" + unit;
}

}  // namespace

HubSession::HubSession(Replica& replica, std::string unit, SessionOptions options,
                       SnapshotSlots* slots, LogHeads* heads)
    : replica_(replica),
      unit_(std::move(unit)),
      options_(options),
      slots_(slots),
      heads_(heads),
      scope_{unit_} {
  down_acked_ = down_sent_ = scanned_ =
      std::min(replica_.Note(DownNote(unit_)), replica_.last_seq());
  // Snapshot ids start from the wall clock, so a restarted hub's snapshots are numbered above
  // its previous run's: a page of the old run still on its way then reads as an abandoned
  // snapshot's, and its acknowledgement never completes the new one (sim seed 235220: with ids
  // from 1 in both runs, a stale last page as of log position 8 completed the new snapshot as of
  // 9, and the hub streamed from 9 to a station holding 8, for ever).
  snapshot_id_ = static_cast<uint64_t>(std::max<int64_t>(replica_.WallMs(), 0)) << 16;
}

bool HubSession::InScope(const std::string& owner) const {
  return std::binary_search(scope_.begin(), scope_.end(), owner);
}

bool HubSession::ForStation(const Change& change) const {
  // owners[0] is the owner the change left; entries logged before owners were kept name one.
  const std::vector<std::string> owners =
      change.owners.empty() ? std::vector<std::string>{change.delta.owner} : change.owners;
  if (std::none_of(owners.begin(), owners.end(),
                   [this](const std::string& owner) { return InScope(owner); })) {
    return false;
  }
  // The station's own change comes back only if the record changed hands around it: written
  // concurrently with a transfer (the station must evict it, or it evicted the record and took
  // it back without this write), or created anew at the station after it had left (the station
  // must get the hub's whole state).
  return change.origin != unit_ || owners.size() > 1 || change.echo;
}

bool HubSession::MayWrite(const Record& change) const {
  if (change.table == Table::kUnit) return false;
  // A station moves no record out of its scope (transfers are made at the hub).
  if (!change.owner_stamp.IsZero() && !HeldWhenWritten(change.owner, change.seen)) return false;
  auto held = replica_.Get(change.table, change.id);
  if (!held.ok()) return false;
  if (!*held) return HeldWhenWritten(change.owner, change.seen);
  if (HeldWhenWritten((*held)->owner, change.seen)) return true;
  // Transferred out of the scope by a write the station had not seen when it wrote (it was
  // offline): its write was acknowledged there, so it is kept and goes to the new owner. Only a
  // record the scope once held qualifies: a station cannot reach a record it never had by
  // claiming it missed a transfer.
  return HeldWhenWritten(change.owner, change.seen) &&
         !Includes(change.seen, (*held)->owner_stamp) &&
         OnceHeld(change.table, change.id, change.seen);
}

bool HubSession::HeldWhenWritten(const std::string& owner, const VersionVector& seen) const {
  if (InScope(owner)) return true;
  // A write made offline after the station's group changed at the hub (an unmerge, or a merge
  // into another group): acknowledged at the station under the scope it still held, so it is
  // kept and goes to the record's owners; the station evicts the record when it takes its new
  // scope. As with transfers, a station can claim to have missed a change of its scope, but
  // only for units its scope really held once (the registry's history at the hub).
  if (earlier_scopes_seq_ != replica_.last_seq()) {
    auto spells = GroupHistory(replica_, unit_);
    if (!spells.ok()) {
      spdlog::error("reading the registry's history for {}: {}", unit_, spells.status().ToString());
      return false;
    }
    earlier_scopes_ = std::move(*spells);
    earlier_scopes_seq_ = replica_.last_seq();
  }
  return std::any_of(earlier_scopes_.begin(), earlier_scopes_.end(), [&](const GroupSpell& spell) {
    return !spell.until.IsZero() && !Includes(seen, spell.until) &&
           std::binary_search(spell.members.begin(), spell.members.end(), owner);
  });
}

bool HubSession::OnceHeld(Table table, const std::string& id, const VersionVector& seen) const {
  auto history = replica_.History(table, id);  // a rare path: a write racing a transfer
  if (!history.ok()) return false;
  for (const HistoryEntry& entry : *history) {
    for (const FieldChange& change : entry.changes) {
      if (change.name != "owner") continue;
      for (const Value* owner : {&change.old_value, &change.new_value}) {
        const auto* text = std::get_if<std::string>(owner);
        if (text != nullptr && HeldWhenWritten(*text, seen)) return true;
      }
    }
  }
  return false;
}

void HubSession::SetScope(std::vector<std::string> scope, uint64_t now_ms,
                          std::vector<Outgoing>& out) {
  if (scope == scope_) return;
  spdlog::info("station {}: scope {} -> {}", unit_, fmt::join(scope_, ","), fmt::join(scope, ","));
  scope_ = std::move(scope);
  if (!connected_) return;  // it gets a snapshot of its new scope when it says hello
  Rescope(now_ms);
  Pump(now_ms, out);
}

void HubSession::Rescope(uint64_t now_ms) {
  if (!partial_snapshots_ || (snapshotting_ && !snapshot_partial_)) {
    StartSnapshot(now_ms);
  } else if (snapshotting_) {
    // Its cursor has not moved since the running snapshot began, but its scope may have: that
    // snapshot's last page may be on its way or applied already (it evicts what lies outside its
    // scope). The owners it holds either way are those of both (sim seeds 441943, 445435: a
    // merge, or an unmerge, undone at once, and the new snapshot covered nothing).
    std::vector<std::string> held;
    std::set_intersection(station_scope_.begin(), station_scope_.end(), snapshot_scope_.begin(),
                          snapshot_scope_.end(), std::back_inserter(held));
    station_scope_ = std::move(held);
    StartSnapshot(now_ms, /*partial=*/true);
  } else {
    rescope_pending_ = true;  // Pump starts it once the stream in flight is acknowledged
  }
}

void HubSession::StartSnapshot(uint64_t now_ms, bool partial) {
  // A partial snapshot is as of the station's cursor: it holds its old scope up to there (the
  // stream stopped there), and the records of the owners it lacks are read later, so they are
  // at least as new; the stream then resends whatever changed after it.
  const uint64_t end = partial ? down_acked_ : replica_.last_seq();
  snapshotting_ = true;
  snapshot_partial_ = partial;
  rescope_pending_ = false;
  snapshot_scope_ = scope_;
  snapshot_owners_.clear();
  if (partial) {
    std::set_difference(scope_.begin(), scope_.end(), station_scope_.begin(), station_scope_.end(),
                        std::back_inserter(snapshot_owners_));
  } else {
    snapshot_owners_ = scope_;
  }
  ++snapshot_id_;
  snapshot_at_ = end;
  snapshot_up_covered_ = replica_.Peer(unit_).cursor;
  auto stamp = replica_.LogStamp(end);
  snapshot_stamp_ = stamp.ok() ? *stamp : Stamp{};
  page_starts_ = {PageStart{}};
  next_page_ = acked_pages_ = 0;
  sent_last_page_ = false;
  snapshot_left_ = 0;
  for (const auto& owner : snapshot_owners_) snapshot_left_ += replica_.CountOwned(owner);
  snapshot_total_ = snapshot_left_;
  snapshot_started_ms_ = now_ms;
  down_acked_ = down_sent_ = scanned_ = snapshot_at_;
  in_flight_.clear();
  scope_entries_.clear();
  reported_lag_ = UINT64_MAX;
  progress_ms_ = now_ms;
}

void HubSession::Scan() {
  size_t budget = kScanBudget;
  while (budget > 0 && scanned_ < replica_.last_seq()) {
    const size_t max = std::min<size_t>(budget, 1024);
    auto changes =
        heads_ != nullptr ? heads_->After(scanned_, max) : replica_.ChangeHeadsAfter(scanned_, max);
    if (!changes.ok()) {
      spdlog::error("reading the log for {}: {}", unit_, changes.status().ToString());
      return;
    }
    if (changes->empty()) return;
    for (const Change& change : *changes) {
      if (ForStation(change))
        scope_entries_.push_back({change.seq, change.delta.table, change.delta.id});
    }
    scanned_ = changes->back().seq;
    budget -= std::min(budget, changes->size());
  }
}

uint64_t HubSession::Lag() const {
  // A snapshot in progress counts as lag until the station has stored its last page.
  return scope_entries_.size() + (snapshotting_ ? std::max<uint64_t>(1, snapshot_left_) : 0);
}

StationLink HubSession::Report(uint64_t now_ms) const {
  StationLink link;
  link.unit = unit_;
  link.last_verify = last_verify_;
  link.connected = connected_;
  link.never_seen = !ever_connected_;
  link.last_seen_ms = ever_connected_ ? now_ms - std::min(now_ms, last_heard_ms_) : 0;
  link.lag_records = Lag();
  link.pending_up = pending_up_;
  link.up_total = up_total_;
  link.down_total = down_total_;
  link.rejected_total = rejected_total_;
  link.scope = scope_;
  link.refused_total = refused_total_;
  link.last_refusal = last_refusal_;
  link.rejected_out_of_scope_total = rejected_out_of_scope_total_;
  link.rejected_invalid_total = rejected_invalid_total_;
  link.lag_ms = LagMs(now_ms);
  link.snapshotting = snapshotting_;
  link.snapshot_records_total = snapshotting_ ? snapshot_total_ : 0;
  link.snapshot_records_left = snapshotting_ ? snapshot_left_ : 0;
  return link;
}

uint64_t HubSession::LagMs(uint64_t now_ms) const {
  uint64_t lag_ms = 0;
  if (snapshotting_) lag_ms = now_ms - std::min(now_ms, snapshot_started_ms_);
  if (scope_entries_.empty()) return lag_ms;
  auto stamp = replica_.LogStamp(scope_entries_.front().seq);
  if (!stamp.ok()) return lag_ms;  // a read error shows in the log elsewhere; lag is advisory
  const int64_t age_ms = replica_.WallMs() - Hlc::PhysicalMs(stamp->hlc);
  return std::max(lag_ms, static_cast<uint64_t>(std::max<int64_t>(0, age_ms)));
}

void HubSession::Send(SyncBody body, uint64_t now_ms, std::vector<Outgoing>& out) {
  out.push_back({peer_, {link_, std::move(body)}});
  last_sent_ms_ = now_ms;
}

void HubSession::Disconnect(const std::string& reason, uint64_t now_ms,
                            std::vector<Outgoing>& out) {
  if (!connected_) return;
  Send(Refusal{reason}, now_ms, out);
  LinkDown();
}

void HubSession::LinkDown() {
  connected_ = false;
  in_flight_.clear();
  ReleaseSlot();
}

bool HubSession::HoldSlot(uint64_t now_ms) {
  if (holds_slot_ || slots_ == nullptr) return true;
  if (now_ms < slot_retry_ms_ || !slots_->TryTake()) return false;
  holds_slot_ = true;
  slot_progress_ms_ = now_ms;
  return true;
}

void HubSession::ReleaseSlot() {
  if (!holds_slot_) return;
  holds_slot_ = false;
  slots_->Give();
}

void HubSession::CountRefusal(const std::string& reason) {
  ++refused_total_;
  last_refusal_ = reason;
}

void HubSession::OnHello(const std::string& peer, const std::string& key,
                         const SyncMessage& message, uint64_t now_ms, std::vector<Outgoing>& out) {
  const Hello& hello = std::get<Hello>(message.body);
  peer_ = peer;
  key_ = key;
  link_ = message.link;
  connected_ = ever_connected_ = true;
  last_heard_ms_ = now_ms;
  station_node_ = hello.node;
  partial_snapshots_ = hello.partial_snapshots;
  station_scope_ = hello.scope;
  std::sort(station_scope_.begin(), station_scope_.end());
  station_scope_.erase(std::unique(station_scope_.begin(), station_scope_.end()),
                       station_scope_.end());

  // The up cursor counts within the station store's epoch: a new epoch starts it over.
  PeerPosition up = replica_.Peer(unit_);
  if (up.epoch != hello.epoch) {
    up = PeerPosition{hello.epoch, 0, {}};
    if (stationsync::Status s = replica_.SetPeer(unit_, up); !s.ok()) {
      spdlog::error("station {}: {}", unit_, s.ToString());
      LinkDown();
      return;
    }
  }
  pending_up_ = hello.last_seq > up.cursor ? hello.last_seq - up.cursor : 0;

  // The down cursor is valid only within this store's history.
  const uint64_t end = replica_.last_seq();
  bool valid = hello.hub_epoch == replica_.epoch() && hello.down_cursor <= end;
  if (valid && hello.down_cursor > 0) {
    auto stamp = replica_.LogStamp(hello.down_cursor);
    valid = stamp.ok() && *stamp == hello.down_stamp;
  }
  const bool offer = !hello.hub_epoch.empty() && !valid;
  const bool rescope = station_scope_ != scope_;
  const bool whole =
      !valid || hello.down_cursor == 0 || end - hello.down_cursor > options_.far_behind;
  const bool snapshot = whole || rescope;
  const bool partial = snapshot && !whole && partial_snapshots_;

  in_flight_.clear();
  scope_entries_.clear();
  offer_next_page_ = 0;
  reported_lag_ = UINT64_MAX;
  snapshotting_ = snapshot_partial_ = rescope_pending_ = false;
  if (!snapshot) ReleaseSlot();                             // a snapshot restarting keeps its slot
  down_acked_ = down_sent_ = scanned_ = hello.down_cursor;  // a partial snapshot's position
  if (snapshot) StartSnapshot(now_ms, partial);
  LogEvent(spdlog::level::info, "station_linked",
           {{"station", unit_},
            {"station_last_seq", hello.last_seq},
            {"up_cursor", up.cursor},
            {"down_cursor", hello.down_cursor},
            {"last_seq", end},
            {"snapshot", snapshot},
            {"offer", offer}},
           "station {} linked: its log {} (we hold {}), its cursor {} in our log of {}{}{}{}",
           unit_, hello.last_seq, up.cursor, hello.down_cursor, end,
           !snapshot ? ""
           : partial ? fmt::format(": sending a snapshot of {}", fmt::join(snapshot_owners_, ","))
                     : ": sending a snapshot",
           rescope ? fmt::format(" of its scope {}", fmt::join(scope_, ",")) : "",
           offer ? ", asking it to offer all" : "");
  Send(Welcome{replica_.epoch(), up.cursor, up.stamp, snapshot, offer, options_.window,
               replica_.WallMs()},
       now_ms, out);
  Scan();
  Pump(now_ms, out);
}

void HubSession::Receive(const SyncMessage& message, uint64_t now_ms, std::vector<Outgoing>& out) {
  if (!connected_ || message.link != link_) return;
  last_heard_ms_ = now_ms;
  if (const auto* up = std::get_if<Up>(&message.body)) {
    OnUp(*up, now_ms, out);
  } else if (const auto* ack = std::get_if<DownAck>(&message.body)) {
    OnDownAck(*ack, now_ms, out);
  } else if (const auto* heartbeat = std::get_if<Heartbeat>(&message.body)) {
    pending_up_ = heartbeat->pending_up;
    if (heartbeat->goodbye) {
      LogEvent(spdlog::level::info, "station_link_down",
               {{"station", unit_}, {"reason", "goodbye"}}, "station {} is stopping: link down",
               unit_);
      LinkDown();
    }
  } else if (const auto* lookup = std::get_if<Lookup>(&message.body)) {
    OnLookup(*lookup, now_ms, out);
  } else if (const auto* verify = std::get_if<VerifyQuery>(&message.body)) {
    OnVerify(*verify, now_ms, out);
  } else if (const auto* result = std::get_if<VerifyResult>(&message.body)) {
    OnVerifyResult(*result);
  }
}

bool HubSession::OrderVerify(uint64_t request, const VerifyRequest& verify, uint64_t now_ms,
                             std::vector<Outgoing>& out) {
  if (!connected_) return false;
  verify_orders_[request] = verify.deep;
  Send(VerifyOrder{request, verify.deep, verify.repair}, now_ms, out);
  return true;
}

void HubSession::OnVerifyResult(VerifyResult result) {
  const auto order = verify_orders_.find(result.request);
  if (order == verify_orders_.end()) {  // not asked for: nothing is kept of it
    CountRefusal("a verify result the hub did not ask for");
    return;
  }
  if (result.report.differences.size() > kVerifyResultDifferencesMax) {
    result.report.differences.resize(kVerifyResultDifferencesMax);
  }
  last_verify_ = LastVerify{replica_.WallMs(),       order->second,
                            result.report.repair,    result.report.records,
                            result.difference_count, result.report.repaired,
                            result.report.remaining, result.error};
  verify_orders_.erase(order);
  LogEvent(spdlog::level::info, "verify_result",
           {{"station", unit_},
            {"differences", std::to_string(result.difference_count)},
            {"error", result.error}},
           "station {} verified its replica: {} differences{}", unit_, result.difference_count,
           result.error.empty() ? "" : " (failed: " + result.error + ")");
  verify_results_.push_back(std::move(result));
}

void HubSession::OnVerify(const VerifyQuery& query, uint64_t now_ms, std::vector<Outgoing>& out) {
  if (now_ms - verify_window_ms_ >= 60'000) {
    verify_window_ms_ = now_ms;
    verifies_in_window_ = 0;
  }
  VerifyReply reply;
  reply.request = query.request;
  if (++verifies_in_window_ > kVerifyQueriesPerMinute) {
    reply.error = fmt::format("too many verify queries: the hub answers {} a minute per station",
                              kVerifyQueriesPerMinute);
    if (verifies_in_window_ == kVerifyQueriesPerMinute + 1) {
      CountRefusal("verify queries over the rate limit");
    }
  } else if (snapshotting_) {
    reply.error = "the station is receiving a snapshot of its scope; verify once it holds it";
  } else {
    Scan();
    if (scanned_ < replica_.last_seq() || scope_entries_.size() > kVerifyInFlightMax) {
      reply.error =
          fmt::format("the station is {} or more changes behind the hub; verify once it caught up",
                      scope_entries_.size());
    } else {
      std::vector<RecordRef> in_flight;
      if (query.what == VerifyWhat::kEntries || query.what == VerifyWhat::kFetch) {
        in_flight.reserve(scope_entries_.size());
        for (const auto& entry : scope_entries_) in_flight.push_back({entry.table, entry.id});
      }
      reply = AnswerVerifyQuery(replica_, query, scope_, in_flight);
    }
  }
  Send(std::move(reply), now_ms, out);
}

void HubSession::OnLookup(const Lookup& lookup, uint64_t now_ms, std::vector<Outgoing>& out) {
  LookupReply reply{lookup.request, std::nullopt, ""};
  if (now_ms - lookup_window_ms_ >= 60'000) {
    lookup_window_ms_ = now_ms;
    lookups_in_window_ = 0;
  }
  if (++lookups_in_window_ > options_.lookups_per_minute) {
    reply.error = fmt::format("too many look-ups: the hub answers {} a minute per station",
                              options_.lookups_per_minute);
    CountRefusal("look-ups over the rate limit");
  } else if (auto record = replica_.Get(lookup.table, lookup.id); !record.ok()) {
    reply.error = record.status().message();
  } else if (*record && !(*record)->deleted) {
    reply.record = std::move(**record);
  } else if (*record && lookup.table == Table::kRegistration) {
    // A merged person: the registration it was merged into (person_merge.h), as a local get.
    auto kept = FollowMerged(replica_, lookup.id);
    if (kept.ok() && *kept) reply.record = std::move(**kept);
  }
  const std::string line =
      fmt::format("audit: station {} (actor {}) looked up {} {} outside its scope: {}", unit_,
                  lookup.actor, TableName(lookup.table), lookup.id,
                  !reply.error.empty() ? reply.error
                  : reply.record       ? "found"
                                       : "not found");
  if (lookups_in_window_ <= options_.lookups_per_minute) {
    LogEvent(spdlog::level::info, "audit_lookup",
             {{"station", unit_},
              {"actor", lookup.actor},
              {"table", TableName(lookup.table)},
              {"id", lookup.id},
              {"result", !reply.error.empty() ? reply.error
                         : reply.record       ? "found"
                                              : "not found"}},
             "{}", line);
  } else {
    PeerLog().Warn("lookup-limit", "{}", line);  // a flood is counted, not logged line by line
  }
  Send(std::move(reply), now_ms, out);
}

void HubSession::OnUp(const Up& up, uint64_t now_ms, std::vector<Outgoing>& out) {
  auto staged = StageUp(up, now_ms, out);
  if (staged) FinishUp(*staged, replica_.ApplyRemote(std::move(staged->batch)), now_ms, out);
}

std::optional<HubSession::StagedUp> HubSession::StageUp(const SyncMessage& message, uint64_t now_ms,
                                                        std::vector<Outgoing>& out) {
  if (!connected_ || message.link != link_) return std::nullopt;
  last_heard_ms_ = now_ms;
  return StageUp(std::get<Up>(message.body), now_ms, out);
}

std::optional<HubSession::StagedUp> HubSession::StageUp(const Up& up, uint64_t now_ms,
                                                        std::vector<Outgoing>& out) {
  const int64_t ahead_ms =
      StampsAheadMs(up.changes, replica_.WallMs(), replica_.max_clock_ahead_ms());
  if (ahead_ms > 0) {
    // Not applied and not acknowledged: the station keeps the changes until its clock is right.
    const std::string reason = fmt::format(
        "a change is stamped {} s ahead of the hub's clock (limit {} s): fix the station's clock",
        ahead_ms / 1000, replica_.max_clock_ahead_ms() / 1000);
    CountRefusal(reason);
    PeerLog().Warn("clock", "station {}: {}", unit_, reason);
    Send(Refusal{reason, false, ahead_ms}, now_ms, out);
    LinkDown();
    return std::nullopt;
  }
  const PeerPosition held = replica_.Peer(unit_);
  if (up.offer) {
    if (up.page != offer_next_page_ && up.page != 0) return std::nullopt;  // resent in order
  } else if (up.from != held.cursor) {
    // A duplicate (already held) is acknowledged as such; a gap asks for a resend.
    Send(UpAck{held.cursor, 0, false, up.from > held.cursor, 0}, now_ms, out);
    return std::nullopt;
  }
  // Only records of the station's scope, and (in its log stream) only its own writes, are
  // accepted.
  StagedUp staged{{}, up.offer, up.page, up.from, up.to, held.cursor, up.changes.size(), 0};
  RemoteBatch& batch = staged.batch;
  batch.peer = unit_;
  batch.log_changes = true;
  for (const Record& change : up.changes) {
    const bool in_scope = MayWrite(change);
    const bool own_write = up.offer || change.updated.node == station_node_;
    if (in_scope && own_write) {
      batch.changes.push_back(change);
    } else {
      ++staged.refused;
    }
  }
  if (!up.offer) batch.position = PeerPosition{held.epoch, up.to, up.to_stamp};
  return staged;
}

void HubSession::FinishUp(const StagedUp& staged, const Result<RemoteOutcome>& outcome,
                          uint64_t now_ms, std::vector<Outgoing>& out) {
  if (!outcome.ok()) {
    spdlog::error("storing changes from {}: {}", unit_, outcome.status().ToString());
    return;  // nothing acknowledged: the station resends
  }
  for (const auto& why : outcome->rejected) {
    PeerLog().Warn("rejected-change", "refused from {}: {}", unit_, why);
  }
  uint32_t refused = staged.refused;
  if (refused > 0) {
    PeerLog().Warn("out-of-scope", "refused {} changes from {}: out of its scope", refused, unit_);
  }
  rejected_out_of_scope_total_ += refused;
  rejected_invalid_total_ += outcome->rejected.size();
  refused += static_cast<uint32_t>(outcome->rejected.size());
  up_total_ += staged.changes;
  rejected_total_ += refused;
  if (staged.offer) {
    offer_next_page_ = staged.page + 1;
    Send(UpAck{staged.held_cursor, staged.page, true, false, refused}, now_ms, out);
  } else {
    pending_up_ -= std::min(pending_up_, staged.to - staged.from);
    Send(UpAck{staged.to, 0, false, false, refused}, now_ms, out);
  }
}

void HubSession::OnDownAck(const DownAck& ack, uint64_t now_ms, std::vector<Outgoing>& out) {
  if (ack.snapshot_ack) {
    if (!snapshotting_ || ack.snapshot_id != snapshot_id_) return;  // an earlier snapshot's
    if (ack.gap) {
      next_page_ = std::min<uint32_t>(ack.page, static_cast<uint32_t>(page_starts_.size() - 1));
      sent_last_page_ = false;
      in_flight_.clear();
    } else if (ack.page + 1 > acked_pages_ && ack.page < next_page_) {
      for (uint32_t p = acked_pages_; p <= ack.page; ++p) {
        snapshot_left_ -= std::min<uint64_t>(snapshot_left_, options_.snapshot_page_records);
      }
      acked_pages_ = ack.page + 1;
      slot_progress_ms_ = now_ms;
      while (!in_flight_.empty() && in_flight_.front() <= ack.page) in_flight_.pop_front();
      progress_ms_ = now_ms;
      if (sent_last_page_ && acked_pages_ == next_page_) {
        snapshotting_ = snapshot_partial_ = false;
        station_scope_ = snapshot_scope_;
        ReleaseSlot();
        snapshot_left_ = 0;
        down_acked_ = down_sent_ = snapshot_at_;
        in_flight_.clear();
        replica_.SetNote(DownNote(unit_), down_acked_);
        spdlog::info("station {} holds the snapshot as of {}", unit_, snapshot_at_);
      }
    }
  } else if (!snapshotting_) {
    if (ack.gap) {
      down_acked_ = std::max(down_acked_, std::min(ack.cursor, down_sent_));
      down_sent_ = down_acked_;
      in_flight_.clear();
    } else if (ack.cursor > down_acked_ && ack.cursor <= down_sent_) {
      down_acked_ = ack.cursor;
      while (!in_flight_.empty() && in_flight_.front() <= ack.cursor) in_flight_.pop_front();
      progress_ms_ = now_ms;
      replica_.SetNote(DownNote(unit_), down_acked_);
    }
    while (!scope_entries_.empty() && scope_entries_.front().seq <= down_acked_) {
      scope_entries_.pop_front();
    }
  }
  Pump(now_ms, out);
  ReportLag(now_ms, out);
}

void HubSession::ReportLag(uint64_t now_ms, std::vector<Outgoing>& out) {
  if (connected_ && Lag() != reported_lag_) {
    reported_lag_ = Lag();
    Send(Heartbeat{0, reported_lag_}, now_ms, out);
  }
}

void HubSession::Tick(uint64_t now_ms, std::vector<Outgoing>& out) {
  if (!connected_) {
    Scan();  // keeps the lag of an absent station current (Pump scans for a linked one)
    return;
  }
  if (now_ms - last_heard_ms_ >= options_.silence_ms) {
    LogEvent(spdlog::level::warn, "station_link_down",
             {{"station", unit_}, {"reason", "silence"}, {"silent_ms", now_ms - last_heard_ms_}},
             "station {} silent for {} ms: link down", unit_, now_ms - last_heard_ms_);
    LinkDown();
    return;
  }
  if (snapshotting_ && holds_slot_ && slots_ != nullptr &&
      now_ms - slot_progress_ms_ >= options_.silence_ms) {
    // Stalled: the slot goes to a waiting station; the pages not acknowledged are sent again
    // once this one gets a slot back.
    spdlog::warn("station {} acknowledged no snapshot page for {} ms: its slot goes to another",
                 unit_, now_ms - slot_progress_ms_);
    ReleaseSlot();
    slot_retry_ms_ = now_ms + options_.silence_ms;
    next_page_ = acked_pages_;
    sent_last_page_ = false;
    in_flight_.clear();
  }
  if (!in_flight_.empty() && now_ms - progress_ms_ >= options_.resend_ms) {
    if (snapshotting_) {
      next_page_ = acked_pages_;
      sent_last_page_ = false;
    } else {
      down_sent_ = down_acked_;
    }
    in_flight_.clear();
  }
  Pump(now_ms, out);
  ReportLag(now_ms, out);
  if (now_ms - last_sent_ms_ >= options_.heartbeat_ms) Send(Heartbeat{0, Lag()}, now_ms, out);
}

void HubSession::Pump(uint64_t now_ms, std::vector<Outgoing>& out) {
  if (!connected_) return;
  if (rescope_pending_ && in_flight_.empty()) StartSnapshot(now_ms, /*partial=*/true);
  Scan();
  if (snapshotting_) {
    SendSnapshotPages(now_ms, out);
  } else {
    SendStream(now_ms, out);
  }
}

void HubSession::SendSnapshotPages(uint64_t now_ms, std::vector<Outgoing>& out) {
  if (!sent_last_page_ && !HoldSlot(now_ms)) return;  // linked, heartbeating, waiting
  while (in_flight_.size() < options_.window && !sent_last_page_) {
    // A page lists one owner's records; the owners follow each other in code order.
    const PageStart start = page_starts_[next_page_];
    Page page;
    if (start.owner < snapshot_owners_.size()) {
      ListQuery query;
      query.owner = snapshot_owners_[start.owner];
      query.after = start.after;
      query.limit = options_.snapshot_page_records;
      query.include_deleted = true;
      query.stored = true;  // passed through as stored: the station decodes and checks each
      auto listed = replica_.List(query);
      if (!listed.ok()) {
        spdlog::error("reading the snapshot for {}: {}", unit_, listed.status().ToString());
        return;
      }
      page = std::move(listed).value();
    }
    const PageStart next =
        page.next.empty() ? PageStart{start.owner + 1, ""} : PageStart{start.owner, page.next};
    Down down;
    down.snapshot = true;
    down.snapshot_id = snapshot_id_;
    down.page = next_page_;
    down.last = next.owner >= snapshot_owners_.size();
    down.hub_epoch = replica_.epoch();
    down.partial = snapshot_partial_;
    if (down.last) {
      down.to = snapshot_at_;
      down.to_stamp = snapshot_stamp_;
      down.scope = snapshot_scope_;
      down.up_covered = snapshot_up_covered_;
      if (snapshot_partial_) down.covered = snapshot_owners_;
    }
    down.stored_records = std::move(page.stored);
    down_total_ += down.stored_records.size();
    if (page_starts_.size() == next_page_ + 1u) page_starts_.push_back(next);
    if (in_flight_.empty()) progress_ms_ = now_ms;
    in_flight_.push_back(next_page_);
    ++next_page_;
    sent_last_page_ = down.last;
    Send(std::move(down), now_ms, out);
  }
}

void HubSession::SendStream(uint64_t now_ms, std::vector<Outgoing>& out) {
  if (rescope_pending_) return;  // the partial snapshot waits for what is in flight
  while (in_flight_.size() < options_.window && down_sent_ < scanned_) {
    auto first =
        std::upper_bound(scope_entries_.begin(), scope_entries_.end(), down_sent_,
                         [](uint64_t seq, const ScopeEntry& entry) { return seq < entry.seq; });
    const size_t available = static_cast<size_t>(scope_entries_.end() - first);
    if (available == 0 &&
        (!in_flight_.empty() || now_ms - last_empty_down_ms_ < options_.heartbeat_ms)) {
      return;  // only entries of other scopes: move the station's cursor now and then
    }
    const size_t take = std::min(available, options_.batch_records);
    Down down;
    down.from = down_sent_;
    const auto end = first + static_cast<std::ptrdiff_t>(take);
    down.to = take < available ? (end - 1)->seq : scanned_;
    down.hub_epoch = replica_.epoch();
    down.snapshot_id = snapshot_id_;
    auto stamp = replica_.LogStamp(down.to);
    if (!stamp.ok()) {
      spdlog::error("reading the log for {}: {}", unit_, stamp.status().ToString());
      return;
    }
    down.to_stamp = *stamp;
    std::set<std::string> keys;
    for (auto it = first; it != end; ++it) {
      if (!keys.insert(RecordKey(it->table, it->id)).second) continue;
      auto record = replica_.Get(it->table, it->id);
      if (!record.ok() || !*record) continue;
      if (InScope((*record)->owner)) {
        down.records.push_back(std::move(**record));
      } else {
        down.evict.push_back({it->table, it->id});  // it left the scope: a transfer
      }
    }
    if (take == 0) last_empty_down_ms_ = now_ms;
    down_total_ += down.records.size();
    if (in_flight_.empty()) progress_ms_ = now_ms;
    in_flight_.push_back(down.to);
    down_sent_ = down.to;
    Send(std::move(down), now_ms, out);
  }
}

}  // namespace stationsync
