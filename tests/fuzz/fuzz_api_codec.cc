// libFuzzer target: the local API codec (api_codec.h): requests the daemon reads from local
// applications and responses syncctl reads from the daemon. Properties: no crash on any input,
// and decoding is canonical: encode(decode(x)) decodes and re-encodes to the same bytes.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "sync/codec/api_codec.h"

namespace {

template <typename Decode, typename Encode>
void CheckCanonical(std::string_view bytes, Decode decode, Encode encode) {
  auto first = decode(bytes);
  if (!first.ok()) return;
  const std::string encoded = encode(*first);
  auto second = decode(encoded);
  if (!second.ok() || encode(*second) != encoded) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  CheckCanonical(bytes, stationsync::DecodeRequest, stationsync::EncodeRequest);
  CheckCanonical(bytes, stationsync::DecodeResponse, stationsync::EncodeResponse);
  return 0;
}
