// Processes, scratch directories and real daemons for tests: the helpers the tools share
// (tools/common/), named in the tests' namespace.
#pragma once

#include "tools/common/process.h"
#include "tools/common/station_daemon.h"
#include "tools/common/temp_dir.h"

namespace stationsync::testing {

using stationsync::BinPath;
using stationsync::CommandResult;
using stationsync::DaemonRole;
using stationsync::FreeTcpEndpoint;
using stationsync::FreeTcpPort;
using stationsync::Process;
using stationsync::RunCommand;
using stationsync::StationDaemon;
using stationsync::TempDir;
using stationsync::WaitUntil;

}  // namespace stationsync::testing
