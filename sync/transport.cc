// See transport.h.
#include "sync/transport.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "sync/capnp_io.h"
#include "sync/sync_codec.h"

namespace stationsync {

namespace {

void SetCommonOptions(zmq::socket_t& socket) {
  socket.set(zmq::sockopt::linger, 0);
  socket.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(kMessageBytesMax));
  socket.set(zmq::sockopt::sndhwm, kSyncQueueMessages);
  socket.set(zmq::sockopt::rcvhwm, kSyncQueueMessages);
}

// Sends without waiting; false if the message could not be queued.
bool TrySend(zmq::socket_t& socket, zmq::message_t& message, zmq::send_flags flags) {
  try {
    return socket.send(message, flags | zmq::send_flags::dontwait).has_value();
  } catch (const zmq::error_t& e) {
    spdlog::debug("sync send dropped: {}", e.what());
    return false;
  }
}

std::optional<SyncMessage> DecodeFrame(const zmq::message_t& frame, const std::string& from) {
  auto message = DecodeSyncMessage(frame.to_string_view());
  if (!message.ok()) {
    spdlog::warn("dropped a malformed sync message from {}: {}", from, message.status().message());
    return std::nullopt;
  }
  return std::move(message).value();
}

}  // namespace

Status Attach(zmq::socket_t& socket, const std::string& endpoint, bool bind,
              const std::string& what) {
  try {
    if (bind) {
      socket.bind(endpoint);
    } else {
      socket.connect(endpoint);
    }
  } catch (const zmq::error_t& e) {
    if (e.num() == EINVAL || e.num() == EPROTONOSUPPORT) {
      return Invalid(fmt::format("{} {}: {}", what, endpoint, e.what()));
    }
    return Unavailable(fmt::format("{} {}: {}", what, endpoint, e.what()));
  }
  return Status::Ok();
}

StationTransport::StationTransport(zmq::context_t& context, std::string hub_endpoint)
    : context_(context), endpoint_(std::move(hub_endpoint)) {}

Status StationTransport::Reconnect() {
  socket_.reset();
  socket_.emplace(context_, zmq::socket_type::dealer);
  SetCommonOptions(*socket_);
  return Attach(*socket_, endpoint_, /*bind=*/false, "hub endpoint");
}

void StationTransport::Send(const std::vector<SyncMessage>& messages) {
  if (!socket_) return;
  for (const auto& message : messages) {
    zmq::message_t frame(EncodeSyncMessage(message));
    TrySend(*socket_, frame, zmq::send_flags::none);
  }
}

std::optional<SyncMessage> StationTransport::Receive() {
  while (socket_) {
    zmq::message_t frame;
    if (!socket_->recv(frame, zmq::recv_flags::dontwait)) return std::nullopt;
    if (frame.more()) {  // a DEALER gets single frames from the hub; skip anything else whole
      while (frame.more() && socket_->recv(frame, zmq::recv_flags::dontwait)) {
      }
      continue;
    }
    if (auto message = DecodeFrame(frame, "the hub")) return message;
  }
  return std::nullopt;
}

HubTransport::HubTransport(zmq::context_t& context, std::string endpoint)
    : endpoint_(std::move(endpoint)), socket_(context, zmq::socket_type::router) {}

Status HubTransport::Bind() {
  SetCommonOptions(socket_);
  socket_.set(zmq::sockopt::router_mandatory, 1);
  return Attach(socket_, endpoint_, /*bind=*/true, "cannot listen for stations on");
}

void HubTransport::Send(const std::string& peer, const SyncMessage& message) {
  zmq::message_t id(peer);
  if (!TrySend(socket_, id, zmq::send_flags::sndmore)) return;
  zmq::message_t frame(EncodeSyncMessage(message));
  TrySend(socket_, frame, zmq::send_flags::none);
}

std::optional<HubTransport::Incoming> HubTransport::Receive() {
  while (true) {
    zmq::message_t id;
    if (!socket_.recv(id, zmq::recv_flags::dontwait)) return std::nullopt;
    std::vector<zmq::message_t> parts;
    bool more = id.more();
    while (more) {
      zmq::message_t part;
      if (!socket_.recv(part, zmq::recv_flags::dontwait)) break;
      more = part.more();
      parts.push_back(std::move(part));
    }
    const std::string peer = id.to_string();
    if (parts.size() != 1) {
      spdlog::warn("dropped a sync message of {} frames (expected 1)", parts.size());
      continue;
    }
    if (auto message = DecodeFrame(parts.front(), "a station")) {
      return Incoming{peer, std::move(*message)};
    }
  }
}

}  // namespace stationsync
