// SyncMessage to and from its wire form (schema/sync.capnp): one message per ZeroMQ frame.
// Decoding runs through capnp_io's guarded, limited reader and checks structure only; the
// sessions and the replica validate content (every record is validated before it is stored).
#pragma once

#include <string>
#include <string_view>

#include "sync/status.h"
#include "sync/sync_message.h"

namespace stationsync {

std::string EncodeSyncMessage(const SyncMessage& message);
// kInvalid naming what is wrong: malformed, over the limits, an unknown kind.
Result<SyncMessage> DecodeSyncMessage(std::string_view bytes);

}  // namespace stationsync
