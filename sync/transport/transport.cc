// See transport.h.
#include "sync/transport/transport.h"

#include <array>

#include <fmt/format.h>
#include <sodium.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include "sync/base/log_guard.h"
#include "sync/codec/capnp_io.h"
#include "sync/codec/sync_codec.h"
#include "sync/transport/zap_handler.h"

namespace stationsync {

namespace {

// A station watches every failure. The hub counts protocol failures only (plaintext, another
// mechanism, garbage): ZAP refusals are counted by its ZAP handler, and a refused client that
// hangs up shows once more as a failure "without detail", which would count it twice.
constexpr int kStationHandshakeEvents = ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                                        ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                                        ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
constexpr int kHubHandshakeEvents = ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL;
constexpr size_t kRoutingIdBytes = 16;

void SetCommonOptions(zmq::socket_t& socket) {
  socket.set(zmq::sockopt::linger, 0);
  socket.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(kMessageBytesMax));
  socket.set(zmq::sockopt::sndhwm, kSyncQueueMessages);
  socket.set(zmq::sockopt::rcvhwm, kSyncQueueMessages);
  socket.set(zmq::sockopt::handshake_ivl, kHandshakeMs);
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

std::string HandshakeProblem(const zmq_event_t& event) {
  switch (event.event) {
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
      return fmt::format("the key was refused (ZAP status {})", event.value);
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
      if (static_cast<uint32_t>(event.value) == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH) {
        return "security mechanism mismatch (one side runs CURVE, the other plaintext)";
      }
      return fmt::format("handshake protocol error 0x{:x}", static_cast<uint32_t>(event.value));
    default:
      return fmt::format("the handshake broke off ({}): plaintext, or another mechanism",
                         zmq_strerror(event.value));
  }
}

}  // namespace

// Handshake failures of one socket, read without blocking from a monitor socket.
class HandshakeMonitor final : public zmq::monitor_t {
 public:
  HandshakeMonitor(zmq::socket_t& socket, const std::string& address, int events) {
    init(socket, address, events);
  }
  // Reads every event waiting; returns how many handshakes failed.
  uint64_t Drain() {
    failures_ = 0;
    while (check_event(0)) {
    }
    return failures_;
  }
  const std::string& last() const { return last_; }

 private:
  void Note(const zmq_event_t& event) {
    ++failures_;
    last_ = HandshakeProblem(event);
  }
  void on_event_handshake_failed_no_detail(const zmq_event_t& event, const char*) override {
    Note(event);
  }
  void on_event_handshake_failed_protocol(const zmq_event_t& event, const char*) override {
    Note(event);
  }
  void on_event_handshake_failed_auth(const zmq_event_t& event, const char*) override {
    Note(event);
  }

  uint64_t failures_ = 0;
  std::string last_;
};

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

Status BindLocal(zmq::socket_t& socket, const std::string& endpoint, const std::string& what) {
  constexpr mode_t kSocketMode = 0660;
  constexpr mode_t kSocketUmask = 0117;  // makes a new socket file kSocketMode
  if (!IsLoopbackEndpoint(endpoint)) {
    return Refused(
        fmt::format("{} {} can be reached from other machines; it has no "
                    "authentication, so it listens on ipc:// or loopback TCP only",
                    what, endpoint));
  }
  if (!endpoint.starts_with("ipc://")) return Attach(socket, endpoint, /*bind=*/true, what);
  const mode_t old_mask = ::umask(kSocketUmask);
  Status bound = Attach(socket, endpoint, /*bind=*/true, what);
  ::umask(old_mask);
  if (bound.ok()) ::chmod(endpoint.substr(6).c_str(), kSocketMode);
  return bound;
}

bool IsLoopbackEndpoint(const std::string& endpoint) {
  if (endpoint.starts_with("ipc://") || endpoint.starts_with("inproc://")) return true;
  if (!endpoint.starts_with("tcp://")) return false;
  std::string host = endpoint.substr(6);
  const size_t colon = host.rfind(':');
  if (colon == std::string::npos) return false;
  host.resize(colon);
  if (host == "localhost" || host == "[::1]" || host == "::1") return true;
  // 127.0.0.0/8: four dotted numbers, the first 127.
  unsigned a = 0, b = 0, c = 0, d = 0;
  char tail = 0;
  return std::sscanf(host.c_str(), "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) == 4 && a == 127 &&
         b < 256 && c < 256 && d < 256;
}

StationTransport::StationTransport(zmq::context_t& context, std::string hub_endpoint,
                                   LinkSecurity security)
    : context_(context), endpoint_(std::move(hub_endpoint)), security_(std::move(security)) {}

StationTransport::~StationTransport() = default;

Status StationTransport::Reconnect() {
  monitor_.reset();  // before its socket goes
  socket_.reset();
  socket_.emplace(context_, zmq::socket_type::dealer);
  SetCommonOptions(*socket_);
  socket_->set(zmq::sockopt::reconnect_ivl, kReconnectMinMs);
  socket_->set(zmq::sockopt::reconnect_ivl_max, kReconnectMaxMs);
  std::array<unsigned char, kRoutingIdBytes> routing_id{};
  randombytes_buf(routing_id.data(), routing_id.size());
  socket_->set(zmq::sockopt::routing_id, zmq::const_buffer(routing_id.data(), routing_id.size()));
  if (!security_.insecure) {
    socket_->set(zmq::sockopt::curve_serverkey, security_.hub_public_z85);
    socket_->set(zmq::sockopt::curve_publickey, security_.own.public_z85);
    socket_->set(zmq::sockopt::curve_secretkey, security_.own.secret_z85);
  }
  monitor_ = std::make_unique<HandshakeMonitor>(
      *socket_, fmt::format("inproc://station-monitor-{}", ++sockets_made_),
      kStationHandshakeEvents);
  return Attach(*socket_, endpoint_, /*bind=*/false, "hub endpoint");
}

std::string StationTransport::TakeHandshakeProblem() {
  if (!monitor_ || monitor_->Drain() == 0) return "";
  return monitor_->last();
}

void StationTransport::Send(const std::vector<SyncMessage>& messages) {
  if (!socket_) return;
  for (const auto& message : messages) {
    zmq::message_t frame(EncodeSyncMessage(message));
    TrySend(*socket_, frame, zmq::send_flags::none);
  }
}

void StationTransport::SendLast(const std::vector<SyncMessage>& messages,
                                std::chrono::milliseconds linger) {
  if (!socket_) return;
  socket_->set(zmq::sockopt::linger, static_cast<int>(linger.count()));
  Send(messages);
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
    auto message = DecodeSyncMessage(frame.to_string_view());
    if (message.ok()) return std::move(message).value();
    PeerLog().Warn("malformed", "dropped a malformed sync message from the hub: {}",
                   message.status().message());
  }
  return std::nullopt;
}

HubTransport::HubTransport(zmq::context_t& context, std::string endpoint, LinkSecurity security)
    : endpoint_(std::move(endpoint)),
      security_(std::move(security)),
      socket_(context, zmq::socket_type::router) {}

HubTransport::~HubTransport() = default;

Status HubTransport::Bind() {
  SetCommonOptions(socket_);
  socket_.set(zmq::sockopt::router_mandatory, 1);
  if (!security_.insecure) {
    socket_.set(zmq::sockopt::curve_server, 1);
    socket_.set(zmq::sockopt::curve_secretkey, security_.own.secret_z85);
    socket_.set(zmq::sockopt::zap_domain, kSyncZapDomain);
    const int enforce = 1;
    if (zmq_setsockopt(socket_.handle(), kZmqZapEnforceDomain, &enforce, sizeof enforce) != 0) {
      return Internal(fmt::format("this libzmq cannot enforce ZAP (option {}): {}",
                                  kZmqZapEnforceDomain, zmq_strerror(zmq_errno())));
    }
  }
  monitor_ =
      std::make_unique<HandshakeMonitor>(socket_, "inproc://hub-monitor", kHubHandshakeEvents);
  return Attach(socket_, endpoint_, /*bind=*/true, "cannot listen for stations on");
}

uint64_t HubTransport::handshake_failures() {
  const uint64_t failures = monitor_ ? monitor_->Drain() : 0;
  if (failures > 0) last_handshake_failure_ = monitor_->last();
  return failures;
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
    Incoming incoming{id.to_string(), "", {}};
    size_t parts = 0;
    bool more = id.more();
    while (more) {  // the rest of a multipart message is already here
      zmq::message_t part;
      if (!socket_.recv(part, zmq::recv_flags::dontwait)) break;
      more = part.more();
      if (++parts == 1) incoming.frame = std::move(part);
    }
    if (parts != 1) {
      PeerLog().Warn("frames", "dropped a sync message of {} frames (expected 1)", parts);
      continue;
    }
    if (!security_.insecure) {
      const char* key = zmq_msg_gets(incoming.frame.handle(), "User-Id");
      if (key == nullptr) continue;  // cannot happen under ZAP; never trust a frame without one
      incoming.key = key;
    }
    return incoming;
  }
}

}  // namespace stationsync
