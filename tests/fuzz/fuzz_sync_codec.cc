// libFuzzer target: the sync protocol codec (sync_codec.h), which reads every byte a station or
// the hub receives. Properties: decoding never crashes, leaks or reads out of bounds on any input
// (ASan, UBSan), the cheap peek agrees with the full decode, and whatever decodes re-encodes to
// a message that decodes to the same value.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "sync/codec/sync_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto peeked = stationsync::PeekSyncMessage(bytes);
  auto message = stationsync::DecodeSyncMessage(bytes);
  if (!message.ok()) return 0;
  if (!peeked.ok() || peeked->link != message->link ||
      peeked->hello != std::holds_alternative<stationsync::Hello>(message->body)) {
    std::abort();  // the hub would have admitted or dropped it for the wrong reason
  }
  auto again = stationsync::DecodeSyncMessage(stationsync::EncodeSyncMessage(*message));
  if (!again.ok() || !(*again == *message)) std::abort();
  return 0;
}
