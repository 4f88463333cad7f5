// The app API over a store that fails under it: the daemon's own parts in this process (the
// loop reduced to its ApiServer, the real HttpServer and its bridge) over a real Replica whose
// RocksDB runs on PowerLossFileSystem (tests/support/power_loss_fs.h). Once the disk refuses
// every change (Cut: each write, sync, create and rename fails with an I/O error), a write
// through HTTP answers 503 with the JSON error {"error","field"} (never 200: nothing durable was
// acknowledged), again and again, while what was stored stays readable. After the machine comes
// back and the store reopens, every write answered 200 is there with its value, and none of the
// refused ones is.
#include <atomic>
#include <memory>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "daemon/api_server.h"
#include "daemon/http/api_bridge.h"
#include "daemon/http/http_config.h"
#include "daemon/http/http_server.h"
#include "daemon/http/node_state.h"
#include "sync/storage/replica.h"

#include "tests/support/http_client.h"
#include "tests/support/power_loss_fs.h"
#include "tests/support/process.h"

namespace stationsync {
namespace {

using Json = nlohmann::json;
using testing::TempDir;

// syncd's station reduced to what the app API uses: ApiServer (on a loop thread) and HttpServer
// over `replica`.
class InProcessNode {
 public:
  InProcessNode(Replica& replica, const std::string& api_endpoint) {
    api_ = std::make_unique<ApiServer>(context_, api_endpoint, replica, "station");
    EXPECT_TRUE(api_->Bind().ok());
    EXPECT_TRUE(api_->BindInProcess(kInProcessApiEndpoint).ok());
    auto config = MakeHttpConfig(fmt::format("127.0.0.1:{}", testing::FreeTcpPort()), "");
    EXPECT_TRUE(config.ok());
    address_ = config->address();
    loop_ = std::thread([this] {
      while (!stop_.load()) {
        zmq::pollitem_t item{api_->socket().handle(), 0, ZMQ_POLLIN, 0};
        if (zmq::poll(&item, 1, std::chrono::milliseconds(20)) > 0) api_->ServeReady();
      }
    });
    http_ = std::make_unique<HttpServer>(*config, replica, "station", state_, context_, nullptr);
    const Status started = http_->Start();
    EXPECT_TRUE(started.ok()) << started.ToString();
  }
  ~InProcessNode() {
    stop_ = true;
    loop_.join();
    http_.reset();
    api_.reset();
  }

  httplib::Result Put(const std::string& id, const std::string& name) {
    return testing::HttpCall(address_, "PUT", "/v1/records/personnel/" + id,
                             fmt::format(R"({{"name":"{}","role":"officer"}})", name),
                             {{"X-Actor", "records-app"}});
  }
  httplib::Result Get(const std::string& id) {
    return testing::HttpCall(address_, "GET", "/v1/records/personnel/" + id);
  }

 private:
  zmq::context_t context_{1};
  NodeState state_;
  std::unique_ptr<ApiServer> api_;
  std::unique_ptr<HttpServer> http_;
  std::atomic<bool> stop_{false};
  std::thread loop_;
  std::string address_;
};

std::string NameIn(const httplib::Result& answer) {
  if (!answer || answer->status != 200) return "";
  const Json record = Json::parse(answer->body);
  return record["fields"].value("name", "");
}

TEST(AppApiStore, AFailingStoreAnswers503AndLosesNothingItAcknowledged) {
  TempDir dir;
  auto fs = std::make_shared<testing::PowerLossFileSystem>();
  std::unique_ptr<rocksdb::Env> env = testing::MakeEnv(fs);
  const ReplicaOptions options{.path = dir / "db", .node = "P01", .unit = "P01", .env = env.get()};
  auto opened = Replica::Open(options);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  std::unique_ptr<Replica> replica = std::move(opened).value();
  uint64_t acknowledged_seq = 0;
  {
    InProcessNode node(*replica, "ipc://" + dir / "api.sock");
    for (int i = 1; i <= 5; ++i) {
      auto put = node.Put(fmt::format("P01-{:03}", i), fmt::format("张伟{}", i));
      ASSERT_TRUE(put);
      ASSERT_EQ(put->status, 200) << put->body;
    }
    acknowledged_seq = replica->last_seq();

    fs->Cut();  // the disk fails: nothing reaches it from now on
    for (const std::string id : {"P01-001", "P01-006", "P01-007"}) {  // an update, then new ones
      SCOPED_TRACE(id);
      auto refused = node.Put(id, "after the failure");
      ASSERT_TRUE(refused);
      EXPECT_EQ(refused->status, 503) << refused->body;
      const Json body = Json::parse(refused->body);
      ASSERT_TRUE(body.is_object()) << refused->body;
      EXPECT_EQ(body.size(), 2u) << refused->body;
      ASSERT_TRUE(body.contains("error") && body["error"].is_string()) << refused->body;
      EXPECT_NE(body["error"].get<std::string>().find("committing writes"), std::string::npos)
          << refused->body;
      EXPECT_TRUE(body.contains("field")) << refused->body;
    }
    EXPECT_EQ(replica->last_seq(), acknowledged_seq) << "a refused write moved the log";
    // What was stored is still served.
    EXPECT_EQ(NameIn(node.Get("P01-001")), "张伟1");
    EXPECT_EQ(NameIn(node.Get("P01-005")), "张伟5");
  }
  replica.reset();  // closed on the dead disk: nothing of its shutdown reaches it
  const rocksdb::IOStatus dropped = fs->DropUnsyncedData();
  ASSERT_TRUE(dropped.ok()) << dropped.ToString();

  // The machine is back: the store opens whole, with exactly the acknowledged writes.
  auto reopened = Replica::Open(options);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  replica = std::move(reopened).value();
  EXPECT_EQ(replica->last_seq(), acknowledged_seq);
  {
    InProcessNode node(*replica, "ipc://" + dir / "api2.sock");
    for (int i = 1; i <= 5; ++i) {
      EXPECT_EQ(NameIn(node.Get(fmt::format("P01-{:03}", i))), fmt::format("张伟{}", i)) << i;
    }
    for (const std::string id : {"P01-006", "P01-007"}) {
      auto missing = node.Get(id);
      ASSERT_TRUE(missing);
      EXPECT_EQ(missing->status, 404) << id << ": " << missing->body;
    }
    // And it takes writes again.
    auto put = node.Put("P01-006", "after the repair");
    ASSERT_TRUE(put);
    EXPECT_EQ(put->status, 200) << put->body;
  }
}

}  // namespace
}  // namespace stationsync
