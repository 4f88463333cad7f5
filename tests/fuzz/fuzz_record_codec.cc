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
  // A stored log entry naming its record re-encodes to the same head (replica.h, invariant 7).
  if (auto stored = stationsync::DecodeStoredChange(bytes); stored.ok() && stored->names_record) {
    auto again =
        stationsync::DecodeStoredChange(stationsync::EncodeChangeNamingRecord(stored->change));
    if (!again.ok() || !again->names_record) std::abort();
    const stationsync::Record& head = again->change.delta;
    const stationsync::Record& was = stored->change.delta;
    if (head.table != was.table || head.id != was.id || head.owner != was.owner ||
        head.updated != was.updated || again->change.seq != stored->change.seq ||
        again->change.owners != stored->change.owners)
      std::abort();
  }
  (void)stationsync::DecodeConflict(bytes);
  (void)stationsync::DecodeHistoryEntry(bytes);
  return 0;
}
