// libFuzzer target: the stored-record codec (record_codec.h) and record validation, which every
// record from the network or the disk passes through. Properties: no crash on any input; a
// decoded record re-encodes to one that decodes equal; validation answers (never crashes) for
// whatever decodes.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "sync/codec/record_codec.h"
#include "sync/records/validate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (auto record = stationsync::DecodeRecord(bytes); record.ok()) {
    auto again = stationsync::DecodeRecord(stationsync::EncodeRecord(*record));
    if (!again.ok() || !(*again == *record)) std::abort();
    (void)stationsync::ValidateRecord(*record);
    (void)stationsync::ValidateRemoteChange(*record);
  }
  (void)stationsync::DecodeChange(bytes);
  (void)stationsync::DecodeConflict(bytes);
  (void)stationsync::DecodeHistoryEntry(bytes);
  return 0;
}
