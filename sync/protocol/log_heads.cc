#include "sync/protocol/log_heads.h"

#include <algorithm>

namespace stationsync {

namespace {
constexpr size_t kReadChunk = 1024;  // heads per read of the replica
}  // namespace

LogHeads::LogHeads(const Replica& replica, size_t kept) : replica_(replica), kept_(kept) {}

Status LogHeads::CatchUp() {
  const uint64_t end = replica_.last_seq();
  // An empty cache starts `kept` entries before the end: older ones are read on demand.
  uint64_t from = tail_.empty() ? end - std::min<uint64_t>(end, kept_) : tail_.back().seq;
  while (from < end) {
    auto heads = replica_.ChangeHeadsAfter(from, std::min<uint64_t>(kReadChunk, end - from));
    if (!heads.ok()) return heads.status();
    if (heads->empty()) break;
    for (Change& head : *heads) tail_.push_back(std::move(head));
    from = tail_.back().seq;
  }
  while (tail_.size() > kept_) tail_.pop_front();
  return Status::Ok();
}

Result<std::vector<Change>> LogHeads::After(uint64_t after, size_t max) {
  SS_RETURN_IF_ERROR(CatchUp());
  if (tail_.empty() || after + 1 < tail_.front().seq) return replica_.ChangeHeadsAfter(after, max);
  auto first = std::lower_bound(tail_.begin(), tail_.end(), after + 1,
                                [](const Change& head, uint64_t seq) { return head.seq < seq; });
  const size_t take = std::min<size_t>(max, static_cast<size_t>(tail_.end() - first));
  return std::vector<Change>(first, first + static_cast<std::ptrdiff_t>(take));
}

}  // namespace stationsync
