// See keygen_command.h.
#include "tools/syncctl/keygen_command.h"

#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "sync/transport/curve_key.h"

namespace stationsync {

int CmdKeygen(const GlobalFlags& flags, const std::string& out) {
  for (const std::string& path : {out, out + "_secret"}) {
    if (std::filesystem::exists(path)) {
      return Report(
          Refused(fmt::format("{} exists: a key is never overwritten; remove it first "
                              "or choose another --out",
                              path)));
    }
  }
  const CurveKeyPair pair = GenerateKeyPair();
  if (Status saved = SaveCertificate(out, pair); !saved.ok()) return Report(saved);
  if (flags.json) {
    PrintLine(
        {{"public_key", pair.public_z85}, {"public_file", out}, {"secret_file", out + "_secret"}});
  } else {
    std::cout << pair.public_z85 << '\n';
  }
  return 0;
}

}  // namespace stationsync
