// syncctl backup DIR: asks the daemon for a consistent copy of its live store and key pair in DIR
// (daemon/backup.h), while it keeps serving. DIR is taken relative to syncctl's working directory
// and sent as an absolute path; the daemon writes it, so DIR must be a place the daemon may write
// (under systemd: a ReadWritePaths= of its unit, e.g. /var/backups/stationsync; PrivateTmp= gives
// the service a /tmp of its own).
//
// Prints one JSON line, exactly
//   {"path":"/abs/DIR","files":N,"bytes":N,"log_position":N,"key_pair":true|false}
// Exit codes: 0 written; 2 DIR not usable (inside the data directory, parent missing, cannot be
// made); 3 the daemon did not answer; 4 DIR exists and is not empty (nothing written); 5 the copy
// failed (nothing kept).
//
// Restoring: stop syncd, copy DIR to the data directory (cp -a DIR DATA), start syncd with
// --data DATA (README, Operations).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "tools/syncctl/commands.h"

namespace stationsync {

inline constexpr double kBackupTimeoutSecondsDefault = 600;  // copying a large store takes a while

nlohmann::ordered_json BackupToJson(const BackupReport& report);

// `timeout_s`: how long to wait for the daemon's answer.
int CmdBackup(const GlobalFlags& flags, const std::string& dir, double timeout_s);

}  // namespace stationsync
