// See raw_sync_client.h.
#include "tests/support/raw_sync_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sync/codec/sync_codec.h"

namespace stationsync::testing {

RawSyncClient::RawSyncClient(zmq::context_t& context, const std::string& endpoint,
                             std::optional<CurveKeyPair> own, const std::string& hub_key)
    : socket_(context, zmq::socket_type::dealer) {
  socket_.set(zmq::sockopt::linger, 0);
  if (own) {
    socket_.set(zmq::sockopt::curve_serverkey, hub_key);
    socket_.set(zmq::sockopt::curve_publickey, own->public_z85);
    socket_.set(zmq::sockopt::curve_secretkey, own->secret_z85);
  }
  socket_.connect(endpoint);
}

bool RawSyncClient::Send(std::string_view bytes) {
  zmq::message_t frame(bytes.data(), bytes.size());
  try {
    return socket_.send(frame, zmq::send_flags::dontwait).has_value();
  } catch (const zmq::error_t&) {
    return false;
  }
}

bool RawSyncClient::Send(const SyncMessage& message) {
  return Send(EncodeSyncMessage(message));
}

std::vector<SyncMessage> RawSyncClient::Receive(std::chrono::milliseconds wait) {
  std::vector<SyncMessage> messages;
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return messages;
    zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, left);
    if ((item.revents & ZMQ_POLLIN) == 0) continue;
    zmq::message_t frame;
    if (!socket_.recv(frame, zmq::recv_flags::dontwait)) continue;
    auto message = DecodeSyncMessage(frame.to_string_view());
    if (message.ok()) messages.push_back(std::move(message).value());
  }
}

bool SendRawTcp(const std::string& endpoint, std::string_view bytes) {
  const size_t colon = endpoint.rfind(':');
  const int port = std::stoi(endpoint.substr(colon + 1));
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  size_t sent = 0;
  while (ok && sent < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the hub may close on garbage: that is its right
    sent += static_cast<size_t>(n);
  }
  ::close(fd);
  return ok;
}

CurveKeyPair KeyPairIn(const std::string& secret_file) {
  auto pair = LoadSecretCertificate(secret_file);
  return pair.ok() ? *pair : CurveKeyPair{};
}

}  // namespace stationsync::testing
