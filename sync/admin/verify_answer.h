// The hub's side of `syncctl verify`: answers one station's VerifyQuery (schema/sync.capnp) from
// the hub's store, read-only. The station is not trusted: every budget is checked before any
// work, and a node or record outside the station's scope is never described (a query naming one
// is refused whole), so verify reveals nothing a station could not sync.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "sync/protocol/sync_message.h"
#include "sync/storage/replica.h"

namespace stationsync {

inline constexpr size_t kVerifyNodesMax = 256;  // per sums, children or entries query
inline constexpr size_t kVerifyKeysMax = 256;   // per fetch query
// Records one query may make the hub read (the children of level-12 nodes, the entries of
// leaves), counted from the hub's kept sums before anything is read; over it, the reply says
// over_budget and the station asks about fewer nodes at once.
inline constexpr uint64_t kVerifyRecordReadsMax = 8192;
inline constexpr size_t kVerifyEntriesMax = 65536;  // records listed in one reply

// `scope`: the station's group (sorted). `in_flight`: the records the hub changed in the
// station's scope that the station has not acknowledged yet (they are not differences: the down
// stream brings them). The reply's request id is the query's.
VerifyReply AnswerVerifyQuery(const Replica& replica, const VerifyQuery& query,
                              const std::vector<std::string>& scope,
                              const std::vector<RecordRef>& in_flight,
                              uint64_t record_reads_max = kVerifyRecordReadsMax);

}  // namespace stationsync
