// SyncMessage to and from its wire form (schema/sync.capnp): one message per ZeroMQ frame.
// Decoding runs through capnp_io's guarded, limited reader and checks structure only; the
// sessions and the replica validate content (every record is validated before it is stored).
#pragma once

#include <string>
#include <string_view>

#include "sync/base/status.h"
#include "sync/protocol/sync_message.h"

namespace stationsync {

std::string EncodeSyncMessage(const SyncMessage& message);
// kInvalid naming what is wrong: malformed, over the limits, an unknown kind.
Result<SyncMessage> DecodeSyncMessage(std::string_view bytes);

// Moves a Down's stored records (sync_message.h) into `records`, decoded: what decoding its wire
// form gives. For a Down handed over without being encoded (in one process: tests); kInvalid,
// and `down` unchanged, if one is not a readable record.
Status TakeStoredRecords(Down& down);

// A message's link and whether it is a Hello, read without decoding anything else: the hub
// decides from these whether a message is worth decoding at all (hub.h, Admits).
struct SyncEnvelope {
  uint64_t link = 0;
  bool hello = false;
};
Result<SyncEnvelope> PeekSyncMessage(std::string_view bytes);

}  // namespace stationsync
