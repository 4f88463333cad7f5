// syncctl import: validates a whole JSON-lines file before storing any of it, then stores it in
// durable batches, with a progress bar on a terminal and a summary line at the end.
#pragma once

#include <string>

#include "tools/syncctl/commands.h"

namespace stationsync {

inline constexpr size_t kImportBatchRecords = 1000;

int CmdImport(const GlobalFlags& flags, const std::string& file, bool skip_invalid);

}  // namespace stationsync
