// A hand-driven station link for tests that play a hostile or broken peer: a DEALER with CURVE
// keys of the test's choosing (or none: plaintext) that sends any bytes to the hub and reads
// what comes back. Also raw TCP bytes, for what is not even ZMTP.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <zmq.hpp>

#include "sync/protocol/sync_message.h"
#include "sync/transport/curve_key.h"

namespace stationsync::testing {

class RawSyncClient {
 public:
  // `own` nullopt: a plaintext client. Otherwise CURVE with `own` towards `hub_key`.
  RawSyncClient(zmq::context_t& context, const std::string& endpoint,
                std::optional<CurveKeyPair> own, const std::string& hub_key);

  // Queues one frame; false if it could not be queued at once.
  bool Send(std::string_view bytes);
  bool Send(const SyncMessage& message);
  // Every decodable message that arrives within `wait` (undecodable ones are skipped).
  std::vector<SyncMessage> Receive(std::chrono::milliseconds wait);

 private:
  zmq::socket_t socket_;
};

// Connects to a tcp://HOST:PORT endpoint with a plain TCP socket, writes `bytes`, and closes.
// False if the connection failed.
bool SendRawTcp(const std::string& endpoint, std::string_view bytes);

// The key pair in a secret certificate file (empty if it cannot be read).
CurveKeyPair KeyPairIn(const std::string& secret_file);

}  // namespace stationsync::testing
