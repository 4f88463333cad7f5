// The station's side of `syncctl verify`, as pure logic: a walk down the verify tree
// (sync/storage/verify_tree.h) of the station's scope, comparing its own sums (a TreeSource) with
// the hub's, which it asks for one query at a time (VerifyQuery / VerifyReply, schema/sync.capnp).
//
//  1. sums: the root of every (owner, table) of the scope;
//  2. children: for each node whose sums differ, its 16 children's sums, down to the leaves;
//  3. entries: for each differing leaf, its records (id, fingerprint, version) on both sides.
// A record is a difference when one side lacks it or the fingerprints differ, unless a write to
// it is in flight: the station changed it and the hub has not acknowledged that yet (the
// caller's `local_in_flight`), or the hub changed it and the station has not acknowledged that
// yet (the hub lists those in each entries reply). Those converge by themselves, so they are
// never reported. A change landing between two steps can hide a difference from this walk (the
// next verify finds it), but cannot make one up: the last step compares records, not sums.
//
// Cost: each differing record costs about 5 x 16 sums (12 bytes each) plus its leaf's entries (15
// records at a million per owner and table), so ten differences in a million records exchange a
// few tens of kilobytes; equal replicas exchange one sum per (owner, table).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "sync/protocol/sync_message.h"
#include "sync/protocol/verify_report.h"
#include "sync/storage/verify_tree.h"

namespace stationsync {

struct VerifyWalkOptions {
  size_t nodes_per_query = 256;    // sums, and children above level 12 (kept sums)
  size_t leaves_per_query = 32;    // queries that make the hub read records (the children of
                                   // level-12 nodes, entries); halved while it says over_budget
  size_t max_differences = 10000;  // then the walk stops, truncated: resync instead
};

class VerifyWalk {
 public:
  // Compares `local` (borrowed; outlives the walk) with the hub over every table of the owners
  // in `scope`. `local_in_flight(table, id)`: whether the station changed that record and the hub
  // has not acknowledged it yet.
  VerifyWalk(TreeSource& local, const std::vector<std::string>& scope,
             std::function<bool(Table, const std::string&)> local_in_flight,
             VerifyWalkOptions options = {});

  // The next query to send (its request id is the caller's to set), or nullopt when the walk is
  // over. Call it again only after OnReply.
  std::optional<VerifyQuery> Next();
  // The hub's answer to the last query. An error (the hub's, a malformed reply, or reading the
  // local tree) ends the walk; Next() then returns nullopt.
  Status OnReply(const VerifyReply& reply);

  const std::vector<VerifyDifference>& differences() const { return differences_; }
  bool truncated() const { return truncated_; }
  // Records of the scope at this station (tombstones included), from the roots' sums.
  uint64_t records() const { return records_; }

 private:
  Status CompareSums(const VerifyReply& reply);
  Status CompareChildren(const VerifyReply& reply);
  Status CompareEntries(const VerifyReply& reply);
  // A node whose sums differ: descend into it.
  void Descend(const TreeNode& node);

  TreeSource& local_;
  std::function<bool(Table, const std::string&)> local_in_flight_;
  VerifyWalkOptions options_;
  std::deque<TreeNode> roots_;       // step 1, not asked yet
  std::deque<TreeNode> inner_;       // step 2: nodes whose children to compare
  std::deque<TreeNode> leaves_;      // step 3
  std::optional<VerifyQuery> sent_;  // the query awaiting its reply
  size_t leaves_per_query_;          // options_.leaves_per_query, halved on over_budget
  std::vector<VerifyDifference> differences_;
  bool truncated_ = false;
  bool failed_ = false;
  uint64_t records_ = 0;
};

}  // namespace stationsync
