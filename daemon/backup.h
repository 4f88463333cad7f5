// `syncctl backup DIR`: a consistent copy of a live node, made by its daemon.
//
// Layout of a backup directory (the same as a data directory, so restoring is starting syncd
// with --data on a copy of it):
//   DIR/db/                 a RocksDB checkpoint of the replica (Replica::Checkpoint)
//   DIR/node.cert           the node's CURVE public certificate (absent with --insecure)
//   DIR/node.cert_secret    its secret twin, mode 0600
// DIR itself is made mode 0700: it holds the secret key.
//
// Thread: the daemon's loop (the replica's writer), between two commits, so the copy is exactly
// the store at one log position. The loop waits while the copy is made: milliseconds when DIR is
// on the store's file system (table files are hard-linked), the time to copy the store otherwise.
//
// Invariants:
//  1. An existing DIR that holds anything is never written to (kRefused).
//  2. A backup that fails leaves nothing behind at DIR that could pass for a backup: what was
//     written is removed (and DIR too, if this call made it).
//  3. What the report counts is what is on disk under DIR once every file was synced.
#pragma once

#include <optional>
#include <string>

#include "sync/base/status.h"
#include "sync/codec/api_codec.h"
#include "sync/storage/replica.h"
#include "sync/transport/curve_key.h"

namespace stationsync {

struct BackupSource {
  std::string data_dir;                  // the node's data directory; a backup may not be in it
  std::optional<CurveKeyPair> key_pair;  // the pair the node runs with; nullopt: --insecure
};

// Writes a backup of `replica` and `source`'s key pair into `dir`. `dir` must be absolute and
// either absent (its parent must exist) or an empty directory.
// Errors: kInvalid (not absolute, inside the data directory, the parent is missing or DIR cannot
// be made), kRefused (DIR exists and is not an empty directory; nothing was written), kInternal
// (the copy failed; nothing is left of it).
Result<BackupReport> MakeBackup(const Replica& replica, const BackupSource& source,
                                const std::string& dir);

}  // namespace stationsync
