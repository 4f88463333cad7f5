// syncctl import: validates a whole JSON-lines file before storing any of it, then stores it in
// durable batches, with a progress bar on a terminal and a summary line at the end. At a
// station, a file with lines out of the station's scope (units, records of units outside its
// group: NodeStatus::scope) is refused whole (exit 4), naming the first of them.
#pragma once

#include <string>

#include "tools/syncctl/commands.h"

namespace stationsync {

inline constexpr size_t kImportBatchRecords = 1000;
inline constexpr size_t kImportParseChunkLines = 16384;  // read, then checked on every core
inline constexpr size_t kImportRefusedShown = 10;  // out-of-scope lines named; the rest counted

int CmdImport(const GlobalFlags& flags, const std::string& file, bool skip_invalid);

}  // namespace stationsync
