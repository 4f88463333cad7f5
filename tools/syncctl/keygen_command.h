// syncctl keygen --out PATH: a CURVE key pair for provisioning a node, written as czmq certificate
// files PATH (public) and PATH_secret (mode 0600), with the public key printed. Needs no daemon.
// Exit 4 if either file exists (a key is never overwritten by accident), 3 if it cannot be
// written.
#pragma once

#include <string>

#include "tools/syncctl/commands.h"

namespace stationsync {

int CmdKeygen(const GlobalFlags& flags, const std::string& out);

}  // namespace stationsync
