// What `syncctl status` and syncd's HTTP `GET /status` report: the replica's figures and the
// sync links' status, as one NodeStatus (sync/codec/api_codec.h). One function for both, so the
// two answers cannot drift apart.
//
// Threads: reads the replica only (safe from any thread); `sync` is a copy the caller took on the
// daemon's loop thread (the sessions' Report).
#pragma once

#include <optional>
#include <string>

#include "sync/base/status.h"
#include "sync/codec/api_codec.h"
#include "sync/protocol/sync_status.h"
#include "sync/storage/replica.h"

namespace stationsync {

// `role` is "station" or "hub". `sync` nullopt: a station without a hub link (not connected,
// every local change pending). Fails only if the open conflicts cannot be read.
Result<NodeStatus> MakeNodeStatus(const Replica& replica, const std::string& role,
                                  std::optional<SyncStatus> sync);

}  // namespace stationsync
