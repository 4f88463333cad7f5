#include "tools/syncctl/digest_command.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace stationsync {

nlohmann::ordered_json DigestToJson(const ScopeDigest& digest) {
  nlohmann::ordered_json out;
  out["scope"] = digest.scope;
  out["records"] = digest.records;
  out["root"] = digest.root;
  return out;
}

int CmdDigest(const GlobalFlags& flags, const std::string& scope) {
  auto client = MakeClient(flags);
  if (!client) return 2;
  auto digest = client->Digest(scope);
  if (!digest.ok()) return Report(digest.status());
  if (flags.json) {
    PrintLine(DigestToJson(*digest));
  } else {
    fmt::print("scope:   {}\nrecords: {}\nroot:    {}\n", fmt::join(digest->scope, " "),
               digest->records, digest->root);
  }
  return 0;
}

}  // namespace stationsync
