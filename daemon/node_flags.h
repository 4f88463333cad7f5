// What syncd's command line gives a node to run (daemon/main.cc parses it).
#pragma once

#include <cstdint>
#include <string>

#include "daemon/http/http_config.h"
#include "sync/records/clock_bound.h"

namespace stationsync {

struct NodeFlags {
  std::string unit;       // station: its unit code; hub: the unit that owns records made at the hub
  std::string data;       // data directory (the replica is DATA/db)
  std::string api;        // API endpoint; empty: ipc://DATA/api.sock
  std::string feed;       // change feed endpoint (change_feed.h); empty: ipc://DATA/feed.sock
  std::string hub;        // station: the hub's sync endpoint (empty: run without a hub)
  std::string listen;     // hub: the endpoint stations connect to
  std::string key;        // this node's secret certificate; empty: DATA/node.cert_secret, made once
  std::string hub_key;    // station: the hub's public key (Z85, or @FILE)
  bool insecure = false;  // sync links without CURVE (identity from Hello): loopback tests only
  int64_t max_clock_ahead_ms = kMaxClockAheadMsDefault;  // peers' stamps beyond this are refused
  int64_t test_clock_offset_ms = 0;  // tests only: run as if the wall clock were this far off
  HttpConfig http;                   // the HTTP server (--http, --http-token-file); off by default
};

inline std::string ApiEndpoint(const NodeFlags& flags) {
  return flags.api.empty() ? "ipc://" + flags.data + "/api.sock" : flags.api;
}

inline std::string FeedEndpoint(const NodeFlags& flags) {
  return flags.feed.empty() ? "ipc://" + flags.data + "/feed.sock" : flags.feed;
}

}  // namespace stationsync
