// syncctl verify [--deep] [--repair] [--json], at a station: compares the replica with the hub's
// view of the station's scope over the sync link (sync/admin/verify_walk.h) and prints one JSON
// line per record that differs, exactly
//   {"table":"case","id":"...","station":VERSION|null,"hub":VERSION|null}
// then a summary
//   {"records":N,"differences":K,"bytes_exchanged":B,"ms":T}
// (with --repair also "repaired" and "remaining"; "truncated":true when the walk stopped at its
// limit). Without --json the differences are text lines and the summary stays JSON.
// Exit codes: 0 equal (with --repair: equal after the repair); 1 differences found (remaining);
// 3 not linked to the hub, or the hub could not answer; 2 bad flags.
#pragma once

#include <nlohmann/json.hpp>

#include "tools/syncctl/commands.h"

namespace stationsync {

inline constexpr double kVerifyTimeoutSecondsDefault = 600;  // a deep verify reads every record

nlohmann::ordered_json DifferenceToJson(const VerifyDifference& difference);
nlohmann::ordered_json VerifySummaryToJson(const VerifyReport& report);

int CmdVerify(const GlobalFlags& flags, const VerifyRequest& verify, bool json, double timeout_s);

}  // namespace stationsync
