// See http_config.h.
#include "daemon/http/http_config.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>

#include <arpa/inet.h>
#include <fmt/format.h>

namespace stationsync {
namespace {

std::string Trim(const std::string& text) {
  const auto begin = text.find_first_not_of(" \t\r");
  if (begin == std::string::npos) return "";
  const auto end = text.find_last_not_of(" \t\r");
  return text.substr(begin, end - begin + 1);
}

bool IsTokenText(const std::string& token) {
  return std::all_of(token.begin(), token.end(), [](char c) { return c > ' ' && c < 0x7f; });
}

Result<std::vector<std::string>> LoadTokens(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Invalid(fmt::format("--http-token-file {}: cannot be read", path));
  std::vector<std::string> tokens;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    const std::string token = Trim(line);
    if (token.empty()) continue;
    if (token.size() < kHttpTokenBytesMin || token.size() > kHttpTokenBytesMax ||
        !IsTokenText(token)) {
      return Invalid(fmt::format(
          "--http-token-file {}: line {} is not a token ({} to {} visible ASCII characters)", path,
          number, kHttpTokenBytesMin, kHttpTokenBytesMax));
    }
    if (tokens.size() == kHttpTokensMax) {
      return Invalid(
          fmt::format("--http-token-file {}: more than {} tokens", path, kHttpTokensMax));
    }
    tokens.push_back(token);
  }
  if (tokens.empty()) {
    return Invalid(fmt::format("--http-token-file {}: holds no token (one a line)", path));
  }
  return tokens;
}

}  // namespace

std::string HttpConfig::address() const {
  return host.find(':') != std::string::npos ? fmt::format("[{}]:{}", host, port)
                                             : fmt::format("{}:{}", host, port);
}

bool IsLoopbackHost(const std::string& host) {
  if (host == "localhost") return true;
  in_addr v4{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  return ::inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

std::vector<std::string> AllowedHostHeaders(const HttpConfig& config) {
  if (!config.enabled || !IsLoopbackHost(config.host)) return {};
  std::vector<std::string> names{"localhost", "127.0.0.1", "[::1]"};
  std::string bound = config.host;
  std::transform(bound.begin(), bound.end(), bound.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  bound = bound.find(':') != std::string::npos ? "[" + bound + "]" : bound;
  if (std::find(names.begin(), names.end(), bound) == names.end()) names.push_back(bound);
  std::vector<std::string> allowed;
  for (const std::string& name : names) {
    allowed.push_back(fmt::format("{}:{}", name, config.port));
    if (config.port == 80) allowed.push_back(name);  // a browser leaves out the default port
  }
  return allowed;
}

Result<HttpConfig> MakeHttpConfig(const std::string& http, const std::string& token_file) {
  HttpConfig config;
  if (http == "off") {
    if (!token_file.empty()) return Invalid("--http-token-file with --http off: nothing to guard");
    return config;
  }
  const auto malformed = [&http] {
    return Invalid(fmt::format(
        "--http {}: expected HOST:PORT (e.g. 127.0.0.1:7780, [::1]:7780) or off", http));
  };
  std::string port_text;
  if (http.starts_with('[')) {
    const auto close = http.find("]:");
    if (close == std::string::npos) return malformed();
    config.host = http.substr(1, close - 1);
    port_text = http.substr(close + 2);
  } else {
    const auto colon = http.rfind(':');
    if (colon == std::string::npos || http.find(':') != colon) return malformed();
    config.host = http.substr(0, colon);
    port_text = http.substr(colon + 1);
  }
  const char* end = port_text.data() + port_text.size();
  const auto parsed = std::from_chars(port_text.data(), end, config.port);
  if (config.host.empty() || port_text.empty() || parsed.ptr != end || parsed.ec != std::errc() ||
      config.port < 1 || config.port > 65535) {
    return malformed();
  }
  if (!token_file.empty()) {
    auto tokens = LoadTokens(token_file);
    if (!tokens.ok()) return tokens.status();
    config.tokens = std::move(tokens).value();
  } else if (!IsLoopbackHost(config.host)) {
    return Invalid(fmt::format(
        "--http {} can be reached from other machines: pass --http-token-file FILE (bearer "
        "tokens, one a line) so that every request must carry one, or listen on loopback "
        "(--http 127.0.0.1:PORT)",
        config.address()));
  }
  config.enabled = true;
  return config;
}

}  // namespace stationsync
