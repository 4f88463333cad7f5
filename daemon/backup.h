// `syncctl backup DIR`: a consistent copy of a live node, made by its daemon while it serves.
//
// Layout of a backup directory (that of a data directory, so restoring is starting syncd with
// --data on a copy of it):
//   DIR/db/                 a RocksDB checkpoint of the replica (Replica::Checkpoint)
//   DIR/node.cert           the node's CURVE public certificate (absent with --insecure)
//   DIR/node.cert_secret    its secret twin, mode 0600
// DIR itself is made mode 0700: it holds the secret key.
//
// Two steps, so that the daemon's loop never waits for a copy:
//  1. StartBackup, on the loop (the replica's writer), between two commits: checks DIR, makes
//     it, and checkpoints the store into DATA/backup-staging (same file system: table files are
//     hard links, so this takes milliseconds) at exactly one log position.
//  2. FinishBackup, on a thread of its own: moves the checkpoint to DIR/db (a rename when DIR is
//     on the data directory's file system, else a copy of every file, in chunks, into
//     DIR/db.partial, renamed to DIR/db once every file is copied and synced), writes the key
//     pair, syncs everything, counts what is there.
// Without a data directory (BackupSource::data_dir empty, as in-process tests give), step 1
// checkpoints straight into DIR/db.
//
// Invariants:
//  1. An existing DIR that holds anything is never written to (kRefused).
//  2. A backup that fails or is cancelled leaves nothing at DIR that could pass for a backup:
//     what was written is removed (and DIR too, if the backup made it), and so is the staging.
//  3. What the report counts is what is under DIR once every file was synced.
//  4. At most one backup runs at a time per daemon (the API server's rule), so the one staging
//     directory is never shared.
//  5. DIR/db exists only once the whole checkpoint is in it: a copy cut short even by a crash
//     leaves DIR/db.partial, which no syncd opens as a store.
//
// Test-only: TEST_BackupCopy forces the copy's rare paths (a copy on one file system, a copy
// that stalls until cancelled, a full disk) in a real syncd, from an environment variable that
// syncd reads once at start.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "sync/base/status.h"
#include "sync/codec/api_codec.h"
#include "sync/storage/replica.h"
#include "sync/transport/curve_key.h"

namespace stationsync {

// Test-only faults of step 2's copy; all off by default (and in production).
struct TEST_BackupCopy {
  bool always_copy = false;        // copy file by file even where a rename would do
  uint64_t pause_after_bytes = 0;  // > 0: once this many bytes are copied, wait until cancelled
                                   // (at most kTestBackupPauseMsMax), then go on
  uint64_t fail_after_bytes = 0;   // > 0: a write beyond this many bytes fails with ENOSPC
};
inline constexpr char kTestBackupCopyVariable[] = "STATIONSYNC_TEST_BACKUP_COPY";
inline constexpr uint64_t kTestBackupPauseMsMax = 120'000;

// $STATIONSYNC_TEST_BACKUP_COPY, a comma-separated list of: copy, pause_after=BYTES,
// fail_after=BYTES (each implies copy). Unset or empty: all off. Anything else is ignored with a
// warning (a test's typo must not stop a daemon).
TEST_BackupCopy TEST_BackupCopyFromEnvironment();

inline constexpr size_t kBackupCopyChunkBytes = 1 << 20;

struct BackupSource {
  std::string data_dir;                  // the node's data directory; a backup may not be in it
  std::optional<CurveKeyPair> key_pair;  // the pair the node runs with; nullopt: --insecure
  TEST_BackupCopy test_copy{};           // test-only faults (all off)
};

// A backup between its two steps: owns the staged checkpoint and DIR until FinishBackup.
struct BackupJob {
  std::filesystem::path target;   // DIR, absolute and normal
  std::filesystem::path staging;  // where step 1 put the checkpoint (== target / "db" if no
                                  // data directory)
  bool made_target = false;       // DIR was made by this backup (removed again on failure)
  uint64_t log_position = 0;      // the store's last log sequence in the checkpoint
  std::optional<CurveKeyPair> key_pair;
  TEST_BackupCopy test_copy{};
};

// Removes DATA/backup-staging, which a backup cut short by a crash may have left (its hard
// links would hold disk space). For the daemon's start, before any backup.
void RemoveBackupStaging(const std::string& data_dir);

// Step 1, on the replica's writer thread. `dir` must be absolute and either absent (its parent
// must exist) or an empty directory.
// Errors: kInvalid (not absolute, inside the data directory, the parent is missing or DIR cannot
// be made), kRefused (DIR exists and is not an empty directory; nothing was written), kInternal
// (the checkpoint failed; nothing is left of it).
Result<BackupJob> StartBackup(const Replica& replica, const BackupSource& source,
                              const std::string& dir);

// Step 2, on any thread; touches files only. `cancel` set (the daemon is stopping) abandons the
// copy between two chunks of at most kBackupCopyChunkBytes: kUnavailable. kInternal if a file
// cannot be copied or synced (a full disk). Either way nothing is left (invariant 2).
Result<BackupReport> FinishBackup(const BackupJob& job, const std::atomic<bool>& cancel);

// Removes what step 1 wrote (invariant 2), for a job that will not be finished.
void AbandonBackup(const BackupJob& job);

}  // namespace stationsync
