// Running a node: the station's and the hub's main loops. Each owns its replica, API server,
// sync session and transport on the daemon's one thread (one writer per replica), and returns an
// exit code (see main.cc) once `stop` is set or something fatal happened.
//
// A loop turn waits on the API and sync sockets (at most kTickMs), serves what arrived, feeds the
// sessions the time, and sends what they return. Local writes are pumped to the sync link right
// after their group commit, so they leave within the same turn.
//
// HTTP (--http, daemon/http/): the server runs on threads of its own and never touches the
// sessions. Each turn stores a heartbeat in the NodeState, and each tick publishes a snapshot of
// the sessions' status and the write latency there; the server reads only that and the replica.
// Its app API hands requests to the loop's ApiServer over inproc:// (daemon/http/api_bridge.h):
// the loop serves them in its turns, beside the API socket's.
#pragma once

#include <atomic>

#include "daemon/node_flags.h"

namespace stationsync {

inline constexpr int kTickMs = 50;
// Sync messages are handled for at most this long per turn (or kMessagesPerTurn of them), so
// that API requests, handshakes (ZAP) and ticks never wait behind a backlog of pages.
inline constexpr uint64_t kTurnBudgetMs = 25;
inline constexpr uint64_t kLookupTimeoutMs = 5000;  // `get --remote` fails with kUnavailable after

int RunStation(const NodeFlags& flags, const std::atomic<bool>& stop);
int RunHub(const NodeFlags& flags, const std::atomic<bool>& stop);

}  // namespace stationsync
