// See verify_walk.h.
#include "sync/admin/verify_walk.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

namespace stationsync {

VerifyWalk::VerifyWalk(TreeSource& local, const std::vector<std::string>& scope,
                       std::function<bool(Table, const std::string&)> local_in_flight,
                       VerifyWalkOptions options)
    : local_(local),
      local_in_flight_(std::move(local_in_flight)),
      options_(options),
      leaves_per_query_(options.leaves_per_query) {
  for (const auto& owner : scope) {
    for (Table table : kAllTables) roots_.push_back(TreeNode{owner, table, 0, 0});
  }
}

namespace {

// Whether answering about the node makes the hub read records (verify_answer.h).
bool ReadsRecords(const TreeNode& node) {
  return node.level + kTreeFanoutBits >= kTreeLeafLevel;
}

// Up to `max` nodes from the front, all alike in whether they make the hub read records.
std::vector<TreeNode> Take(std::deque<TreeNode>& from, size_t max) {
  std::vector<TreeNode> taken;
  while (!from.empty() && taken.size() < max &&
         (taken.empty() || ReadsRecords(from.front()) == ReadsRecords(taken.front()))) {
    taken.push_back(std::move(from.front()));
    from.pop_front();
  }
  return taken;
}

}  // namespace

std::optional<VerifyQuery> VerifyWalk::Next() {
  if (failed_ || truncated_) return std::nullopt;
  VerifyQuery query;
  if (!roots_.empty()) {
    query.what = VerifyWhat::kSums;
    query.nodes = Take(roots_, options_.nodes_per_query);
  } else if (!inner_.empty()) {
    query.what = VerifyWhat::kChildren;
    query.nodes =
        Take(inner_, ReadsRecords(inner_.front()) ? leaves_per_query_ : options_.nodes_per_query);
  } else if (!leaves_.empty()) {
    query.what = VerifyWhat::kEntries;
    query.nodes = Take(leaves_, leaves_per_query_);
  } else {
    return std::nullopt;
  }
  sent_ = query;
  return query;
}

Status VerifyWalk::OnReply(const VerifyReply& reply) {
  if (!sent_) return Invalid("a verify reply to no query");
  if (reply.over_budget && sent_->nodes.size() > 1) {  // ask again, about half as many at once
    auto& queue = sent_->what == VerifyWhat::kEntries ? leaves_ : inner_;
    queue.insert(queue.begin(), sent_->nodes.begin(), sent_->nodes.end());
    leaves_per_query_ = std::max<size_t>(1, sent_->nodes.size() / 2);
    sent_.reset();
    return Status::Ok();
  }
  Status status = reply.error.empty() ? Status::Ok() : Unavailable("the hub: " + reply.error);
  if (status.ok()) {
    switch (sent_->what) {
      case VerifyWhat::kSums:
        status = CompareSums(reply);
        break;
      case VerifyWhat::kChildren:
        status = CompareChildren(reply);
        break;
      case VerifyWhat::kEntries:
        status = CompareEntries(reply);
        break;
      case VerifyWhat::kFetch:
        status = Internal("the walk sends no fetch");
        break;
    }
  }
  sent_.reset();
  if (!status.ok()) failed_ = true;
  return status;
}

void VerifyWalk::Descend(const TreeNode& node) {
  (node.level == kTreeLeafLevel ? leaves_ : inner_).push_back(node);
}

Status VerifyWalk::CompareSums(const VerifyReply& reply) {
  if (reply.sums.size() != sent_->nodes.size()) {
    return Invalid(fmt::format("the hub answered {} sums for {} nodes", reply.sums.size(),
                               sent_->nodes.size()));
  }
  for (size_t i = 0; i < sent_->nodes.size(); ++i) {
    auto mine = local_.Sum(sent_->nodes[i]);
    if (!mine.ok()) return mine.status();
    records_ += mine->records;
    if (SumOf(*mine) != reply.sums[i]) Descend(sent_->nodes[i]);
  }
  return Status::Ok();
}

Status VerifyWalk::CompareChildren(const VerifyReply& reply) {
  if (reply.sums.size() != sent_->nodes.size() * kTreeFanout) {
    return Invalid(fmt::format("the hub answered {} sums for the children of {} nodes",
                               reply.sums.size(), sent_->nodes.size()));
  }
  for (size_t i = 0; i < sent_->nodes.size(); ++i) {
    auto mine = local_.Children(sent_->nodes[i]);
    if (!mine.ok()) return mine.status();
    for (size_t c = 0; c < kTreeFanout; ++c) {
      if (SumOf((*mine)[c]) != reply.sums[i * kTreeFanout + c]) {
        Descend(TreeChild(sent_->nodes[i], c));
      }
    }
  }
  return Status::Ok();
}

Status VerifyWalk::CompareEntries(const VerifyReply& reply) {
  if (reply.leaves.size() != sent_->nodes.size()) {
    return Invalid(fmt::format("the hub answered {} leaves for {} asked", reply.leaves.size(),
                               sent_->nodes.size()));
  }
  auto mine = local_.Entries(sent_->nodes);
  if (!mine.ok()) return mine.status();
  std::set<std::pair<Table, std::string>> hub_in_flight;
  for (const auto& ref : reply.in_flight) hub_in_flight.insert({ref.table, ref.id});
  for (size_t i = 0; i < sent_->nodes.size(); ++i) {
    const Table table = sent_->nodes[i].table;
    const auto& station = (*mine)[i];
    const auto& hub = reply.leaves[i];
    size_t s = 0;
    size_t h = 0;
    while (s < station.size() || h < hub.size()) {
      const TreeEntry* at_station = nullptr;
      const TreeEntry* at_hub = nullptr;
      if (h == hub.size() || (s < station.size() && station[s].id < hub[h].id)) {
        at_station = &station[s++];
      } else if (s == station.size() || hub[h].id < station[s].id) {
        at_hub = &hub[h++];
      } else {
        at_station = &station[s++];
        at_hub = &hub[h++];
        if (at_station->fingerprint == at_hub->fingerprint) continue;
      }
      const std::string& id = at_station != nullptr ? at_station->id : at_hub->id;
      if (hub_in_flight.contains({table, id}) || local_in_flight_(table, id)) continue;
      differences_.push_back(VerifyDifference{
          table, id,
          at_station != nullptr ? std::optional<std::string>(at_station->version) : std::nullopt,
          at_hub != nullptr ? std::optional<std::string>(at_hub->version) : std::nullopt});
      if (differences_.size() >= options_.max_differences) {
        truncated_ = true;
        return Status::Ok();
      }
    }
  }
  return Status::Ok();
}

}  // namespace stationsync
