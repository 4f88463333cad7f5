// HTTP requests to a test's daemon (DaemonRole::http), with bounded connect and read timeouts.
#pragma once

#include <string>

#include <httplib.h>

#include "tools/common/station_daemon.h"

namespace stationsync::testing {

// `method` is GET, PUT, POST or DELETE; `headers` are sent as given (e.g. X-Actor, Authorization).
// A PUT's or POST's body goes as application/json.
httplib::Result HttpCall(const std::string& address, const std::string& method,
                         const std::string& path, const std::string& body = "",
                         const httplib::Headers& headers = {});
inline httplib::Result HttpCall(const StationDaemon& node, const std::string& method,
                                const std::string& path, const std::string& body = "",
                                const httplib::Headers& headers = {}) {
  return HttpCall(node.http_address(), method, path, body, headers);
}

}  // namespace stationsync::testing
