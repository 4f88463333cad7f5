// See verify_answer.h.
#include "sync/admin/verify_answer.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "sync/admin/verify_sources.h"
#include "sync/storage/replica_keys.h"

namespace stationsync {

namespace {

bool InScope(const std::vector<std::string>& scope, const std::string& owner) {
  return std::binary_search(scope.begin(), scope.end(), owner);
}

// Checks the query's shape against the budgets and the scope; "" when it may be answered.
std::string WhyRefused(const VerifyQuery& query, const std::vector<std::string>& scope) {
  if (query.what == VerifyWhat::kFetch) {
    if (query.keys.size() > kVerifyKeysMax) {
      return fmt::format("a fetch of {} records (at most {} a query)", query.keys.size(),
                         kVerifyKeysMax);
    }
    return "";
  }
  if (query.nodes.size() > kVerifyNodesMax) {
    return fmt::format("a query about {} nodes (at most {})", query.nodes.size(), kVerifyNodesMax);
  }
  for (const TreeNode& node : query.nodes) {
    if (!IsValidTreeNode(node)) return "a query about no node of the verify tree";
    if (!InScope(scope, node.owner)) {
      return fmt::format("a query about unit {}, outside the station's scope", node.owner);
    }
    if (query.what == VerifyWhat::kChildren && node.level >= kTreeLeafLevel) {
      return "the children of a leaf";
    }
    if (query.what == VerifyWhat::kEntries && node.level != kTreeLeafLevel) {
      return "the records of a node that is no leaf";
    }
  }
  return "";
}

}  // namespace

VerifyReply AnswerVerifyQuery(const Replica& replica, const VerifyQuery& query,
                              const std::vector<std::string>& scope,
                              const std::vector<RecordRef>& in_flight, uint64_t record_reads_max) {
  VerifyReply reply;
  reply.request = query.request;
  reply.error = WhyRefused(query, scope);
  if (!reply.error.empty()) return reply;
  const auto failed = [&query](const Status& status) {
    return VerifyReply{query.request, status.message(), {}, {}, {}, {}, false};
  };
  if (query.what == VerifyWhat::kChildren || query.what == VerifyWhat::kEntries) {
    uint64_t reads = 0;  // the records under the level-12 node above each node asked about
    for (const TreeNode& node : query.nodes) {
      if (node.level + kTreeFanoutBits < kTreeLeafLevel) continue;  // kept sums only
      auto above = replica.TreeNodeSum(
          TreeNodeOf(node.owner, node.table, node.prefix, kTreeLeafLevel - kTreeFanoutBits));
      if (!above.ok()) return failed(above.status());
      reads += above->records;
    }
    if (reads > record_reads_max) {
      reply.error = fmt::format("answering would read {} records (at most {} a query)", reads,
                                record_reads_max);
      reply.over_budget = true;
      return reply;
    }
  }
  StoredTree tree(replica);
  switch (query.what) {
    case VerifyWhat::kSums:
      for (const TreeNode& node : query.nodes) {
        auto sum = tree.Sum(node);
        if (!sum.ok()) return failed(sum.status());
        reply.sums.push_back(SumOf(*sum));
      }
      break;
    case VerifyWhat::kChildren:
      for (const TreeNode& node : query.nodes) {
        auto children = tree.Children(node);
        if (!children.ok()) return failed(children.status());
        for (const auto& child : *children) reply.sums.push_back(SumOf(child));
      }
      break;
    case VerifyWhat::kEntries: {
      auto leaves = tree.Entries(query.nodes);
      if (!leaves.ok()) return failed(leaves.status());
      size_t total = 0;
      for (const auto& leaf : *leaves) total += leaf.size();
      if (total > kVerifyEntriesMax) {
        reply.error = fmt::format("{} records under the leaves asked (at most {} a reply)", total,
                                  kVerifyEntriesMax);
        return reply;
      }
      reply.leaves = std::move(leaves).value();
      std::set<std::pair<Table, uint16_t>> asked;
      for (const TreeNode& node : query.nodes) asked.insert({node.table, node.prefix});
      for (const RecordRef& ref : in_flight) {  // any owner: a transfer moves a record's leaf
        if (asked.contains({ref.table, TreeSlot(RecordKey(ref.table, ref.id))})) {
          reply.in_flight.push_back(ref);
        }
      }
      break;
    }
    case VerifyWhat::kFetch: {
      std::set<std::pair<Table, std::string>> moving;
      for (const RecordRef& ref : in_flight) moving.insert({ref.table, ref.id});
      for (const RecordRef& key : query.keys) {
        auto record = replica.Get(key.table, key.id);
        if (!record.ok()) return failed(record.status());
        FetchedRecord fetched;
        if (*record && InScope(scope, (*record)->owner)) fetched.record = std::move(**record);
        fetched.in_flight = moving.contains({key.table, key.id});
        reply.records.push_back(std::move(fetched));
      }
      break;
    }
  }
  return reply;
}

}  // namespace stationsync
