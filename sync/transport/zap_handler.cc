// See zap_handler.h. A request is (RFC 27): version "1.0", request id, domain, peer address,
// routing id, mechanism, then the mechanism's credentials (CURVE: the client's 32-byte public
// key). A reply is: version, request id, status code, status text, user id, metadata.
#include "sync/transport/zap_handler.h"

#include <array>
#include <vector>

#include <zmq.h>

#include "sync/transport/transport.h"

namespace stationsync {

namespace {

constexpr size_t kZapRequestFramesMax = 16;  // a request has 7; more is not a ZAP request
constexpr size_t kCurveKeyBytes = 32;

std::string Z85(const zmq::message_t& key) {
  std::array<char, 41> text{};
  zmq_z85_encode(text.data(), static_cast<const uint8_t*>(key.data()), key.size());
  return text.data();
}

}  // namespace

ZapHandler::ZapHandler(zmq::context_t& context, Admit admit)
    : socket_(context, zmq::socket_type::rep), admit_(std::move(admit)) {
  socket_.set(zmq::sockopt::linger, 0);
}

Status ZapHandler::Bind() {
  return Attach(socket_, kZapEndpoint, /*bind=*/true, "ZAP handler");
}

int ZapHandler::ServeReady() {
  int answered = 0;
  while (true) {
    std::vector<zmq::message_t> request;
    zmq::message_t frame;
    if (!socket_.recv(frame, zmq::recv_flags::dontwait)) return answered;
    bool more = frame.more();
    request.push_back(std::move(frame));
    while (more) {
      zmq::message_t part;
      if (!socket_.recv(part)) break;  // the rest of a multipart message is already here
      more = part.more();
      if (request.size() < kZapRequestFramesMax) request.push_back(std::move(part));
    }
    std::string refusal = "malformed ZAP request";
    std::string user_id;
    if (request.size() == 7 && request[0].to_string_view() == "1.0" &&
        request[2].to_string_view() == kSyncZapDomain && request[5].to_string_view() == "CURVE" &&
        request[6].size() == kCurveKeyBytes) {
      user_id = Z85(request[6]);
      refusal = admit_(user_id);
    } else if (request.size() >= 6 && request[5].to_string_view() != "CURVE") {
      refusal = "not a CURVE handshake";
    }
    const bool ok = refusal.empty();
    const std::string request_id = request.size() > 1 ? request[1].to_string() : "";
    const std::array<std::string, 6> reply{
        "1.0", request_id, ok ? "200" : "400", ok ? "OK" : refusal, ok ? user_id : "", ""};
    for (size_t i = 0; i < reply.size(); ++i) {
      zmq::message_t part(reply[i].data(), reply[i].size());
      socket_.send(part, i + 1 < reply.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
    }
    ++answered;
  }
}

}  // namespace stationsync
