// syncctl status and wait-synced: what the daemon reports about its data and its sync links.
//
// status --json prints StatusJson (sync/codec/status_json.h), the object syncd's GET /status
// serves too.
#pragma once

#include <string>
#include <vector>

#include "tools/syncctl/commands.h"

namespace stationsync {

inline constexpr double kWaitSyncedDefaultSeconds = 60;
inline constexpr int kWaitSyncedPollMs = 150;

int CmdStatus(const GlobalFlags& flags);

// Polls the status until the node is synced (0), or until `timeout_s` passes (1, naming what is
// still pending). An unreachable daemon is retried until the timeout.
int CmdWaitSynced(const GlobalFlags& flags, double timeout_s);

// What still keeps the node from being synced; empty when it is. A station is synced when it is
// connected to the hub with nothing pending either way; the hub, when every station is.
std::vector<std::string> NotSyncedReasons(const NodeStatus& status);

}  // namespace stationsync
