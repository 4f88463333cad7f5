// syncd's HTTP flags (--http HOST:PORT|off, --http-token-file FILE), checked into an HttpConfig
// before anything is opened. Pure, but for reading the token file.
//
// Rules: --http off disables the server. A loopback server accepts only loopback's names in the
// Host header (AllowedHostHeaders: against DNS rebinding). A host that is not loopback
// (127.0.0.0/8, ::1, localhost) needs a token file: the routes show the node's status to whoever
// can reach them. A token file holds bearer tokens, one a line (blank lines and surrounding spaces
// ignored), each at least kHttpTokenBytesMin visible ASCII characters; a file without one is an
// error.
#pragma once

#include <string>
#include <vector>

#include "sync/base/status.h"

namespace stationsync {

inline constexpr char kHttpDefaultHub[] = "127.0.0.1:7780";
inline constexpr char kHttpDefaultStation[] = "127.0.0.1:7781";
inline constexpr size_t kHttpTokenBytesMin = 16;
inline constexpr size_t kHttpTokenBytesMax = 256;
inline constexpr size_t kHttpTokensMax = 1000;

struct HttpConfig {
  bool enabled = false;
  std::string host;                 // as given, without brackets for IPv6 ("::1")
  int port = 0;                     // 1..65535
  std::vector<std::string> tokens;  // empty: no token needed (loopback only)

  // "HOST:PORT" as the flag spells it ("[::1]:7780" for IPv6), for messages.
  std::string address() const;
};

// True for 127.0.0.0/8, ::1 and "localhost".
bool IsLoopbackHost(const std::string& host);

// The Host header values (lowercase) a server of `config` accepts; empty: any. Bound to loopback,
// only loopback's names with the bound port: the bound host, localhost, 127.0.0.1 and [::1]
// (and the bare names when the port is 80), so that a web page whose own name an attacker
// rebinds to 127.0.0.1 (DNS rebinding) cannot use a browser on this machine to read the
// dashboard or write through the app API. Not loopback: any Host, because such a server needs a
// bearer token on every route (MakeHttpConfig), which a page from elsewhere cannot know, and its
// operators reach it by names of their own choosing.
std::vector<std::string> AllowedHostHeaders(const HttpConfig& config);

// The configuration from the flag values (`token_file` empty: none). kInvalid, naming the flag,
// for a malformed address, a non-loopback host without a token file, or a token file that cannot
// be read or holds no valid token.
Result<HttpConfig> MakeHttpConfig(const std::string& http, const std::string& token_file);

}  // namespace stationsync
