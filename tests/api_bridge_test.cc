// The HTTP app API's bridge to the daemon's loop (daemon/http/api_bridge.h), against a loop that
// has stopped answering, as it has once syncd is stopping: Shutdown() ends a call in flight at
// once instead of at the bridge's timeout, later calls are refused without waiting, and the
// HTTP server's stop (its destructor) is not held up by a request in flight, which is answered
// 503 with the JSON error.
#include "daemon/http/api_bridge.h"

#include <chrono>
#include <future>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "daemon/http/http_config.h"
#include "daemon/http/http_server.h"
#include "daemon/http/node_state.h"
#include "sync/storage/replica.h"

#include "tests/support/http_client.h"
#include "tests/support/process.h"

namespace stationsync {
namespace {

using Clock = std::chrono::steady_clock;
using testing::TempDir;

constexpr std::chrono::milliseconds kLongTimeout{20'000};  // far beyond what a test waits

// A ROUTER bound where the loop's ApiServer would be, which takes requests and never answers.
class SilentLoop {
 public:
  SilentLoop(zmq::context_t& context, const std::string& endpoint)
      : socket_(context, zmq::socket_type::router) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.bind(endpoint);
  }
  // True once a request arrived (within `timeout`).
  bool Received(std::chrono::milliseconds timeout) {
    zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, timeout) == 0) return false;
    // A request is one message of two or more frames: the routing id, then the request.
    zmq::message_t frame;
    bool more = true;
    while (more) {
      if (!socket_.recv(frame, zmq::recv_flags::none)) return false;
      more = frame.more();
    }
    return true;
  }

 private:
  zmq::socket_t socket_;
};

TEST(ApiBridge, ShutdownEndsACallInFlightAtOnceAndRefusesLaterOnes) {
  zmq::context_t context(1);
  SilentLoop loop(context, "inproc://bridge-test");
  ApiBridge bridge(context, "inproc://bridge-test", kLongTimeout);
  auto call = std::async(std::launch::async, [&bridge] { return bridge.Call(ApiRequest{}); });
  ASSERT_TRUE(loop.Received(std::chrono::seconds(10)));
  const auto start = Clock::now();
  bridge.Shutdown();
  ASSERT_EQ(call.wait_for(std::chrono::seconds(2)), std::future_status::ready)
      << "the call waits for its timeout";
  const Result<ApiResponse> answer = call.get();
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(1));
  EXPECT_EQ(answer.status().code(), Code::kUnavailable);
  EXPECT_NE(answer.status().message().find("stopping"), std::string::npos)
      << answer.status().message();
  // Later calls: refused without sending anything.
  const auto later_start = Clock::now();
  const Result<ApiResponse> later = bridge.Call(ApiRequest{});
  EXPECT_EQ(later.status().code(), Code::kUnavailable);
  EXPECT_LT(Clock::now() - later_start, std::chrono::milliseconds(500));
  EXPECT_FALSE(loop.Received(std::chrono::milliseconds(200)));
}

TEST(ApiBridge, ACallTheLoopDoesNotAnswerTimesOutAndTheClientServesAgain) {
  zmq::context_t context(1);
  SilentLoop loop(context, "inproc://bridge-timeout");
  ApiBridge bridge(context, "inproc://bridge-timeout", std::chrono::milliseconds(200));
  for (int i = 0; i < 3; ++i) {  // the same pooled client each time, after each timeout
    const Result<ApiResponse> answer = bridge.Call(ApiRequest{});
    EXPECT_EQ(answer.status().code(), Code::kUnavailable);
    EXPECT_NE(answer.status().message().find("did not answer"), std::string::npos)
        << answer.status().message();
    EXPECT_TRUE(loop.Received(std::chrono::seconds(5)));
  }
}

// The HTTP server stopping while an app's write waits for a loop that stopped answering.
TEST(ApiBridge, TheHttpServerStopsPromptlyWithARequestInFlight) {
  TempDir dir;
  auto replica = Replica::Open({.path = dir / "db", .node = "P01", .unit = "P01"});
  ASSERT_TRUE(replica.ok()) << replica.status().ToString();
  zmq::context_t context(1);
  SilentLoop loop(context, kInProcessApiEndpoint);
  NodeState state;
  auto config = MakeHttpConfig(fmt::format("127.0.0.1:{}", testing::FreeTcpPort()), "");
  ASSERT_TRUE(config.ok());
  auto server = std::make_unique<HttpServer>(*config, **replica, "station", state, context,
                                             /*events=*/nullptr);
  ASSERT_TRUE(server->Start().ok());
  auto put = std::async(std::launch::async, [&config] {
    return testing::HttpCall(config->address(), "PUT", "/v1/records/personnel/P01-001",
                             R"({"name":"Li","role":"officer"})", {{"X-Actor", "app"}});
  });
  ASSERT_TRUE(loop.Received(std::chrono::seconds(10)));
  const auto start = Clock::now();
  server.reset();
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(2))
      << "the stop waited for the bridge's timeout (" << kBridgeTimeout.count() << " ms)";
  ASSERT_EQ(put.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  const httplib::Result answer = put.get();
  ASSERT_TRUE(answer) << httplib::to_string(answer.error());
  EXPECT_EQ(answer->status, 503) << answer->body;
  const auto body = nlohmann::json::parse(answer->body);
  EXPECT_NE(body["error"].get<std::string>().find("stopping"), std::string::npos) << answer->body;
  EXPECT_TRUE(body.contains("field")) << answer->body;
}

}  // namespace
}  // namespace stationsync
