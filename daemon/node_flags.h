// What syncd's command line gives a node to run (daemon/main.cc parses it).
#pragma once

#include <string>

namespace stationsync {

struct NodeFlags {
  std::string unit;    // station: its unit code; hub: the unit that owns records made at the hub
  std::string data;    // data directory (the replica is DATA/db)
  std::string api;     // API endpoint; empty: ipc://DATA/api.sock
  std::string hub;     // station: the hub's sync endpoint (empty: run without a hub)
  std::string listen;  // hub: the endpoint stations connect to
};

inline std::string ApiEndpoint(const NodeFlags& flags) {
  return flags.api.empty() ? "ipc://" + flags.data + "/api.sock" : flags.api;
}

}  // namespace stationsync
