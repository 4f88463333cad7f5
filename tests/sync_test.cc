// Real syncd hubs and stations on loopback: records flow both ways, an unknown unit is refused,
// stations work offline and catch up, concurrent writes become a listed conflict with one
// winner everywhere, kill -9 of the hub and of a station loses no acknowledged write, and a hub
// restored from an older copy or a wiped station converge again with nothing acknowledged lost.
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "tests/support/process.h"

namespace stationsync {
namespace {

using testing::FreeTcpEndpoint;
using testing::StationDaemon;
using Json = nlohmann::json;

constexpr char kSyncTimeout[] = "60";

class SyncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    hub_ = StationDaemon::Hub(endpoint_);
    ASSERT_TRUE(hub_->Start()) << hub_->Log();
  }

  void Register(const std::string& unit) {
    const auto put = hub_->Ctl(
        {"unit", "put", unit, fmt::format(R"({{"name":"{} 派出所","kind":"station"}})", unit)});
    ASSERT_EQ(put.exit_code, 0) << put.err;
  }

  // A station whose key is enrolled at the hub (the unit must be registered), or not.
  StationDaemon& AddStation(const std::string& unit, bool enroll = true) {
    stations_.push_back(StationDaemon::Station(unit, *hub_));
    if (enroll) {
      EXPECT_EQ(stations_.back()->Enroll(*hub_), 0) << unit;
    }
    EXPECT_TRUE(stations_.back()->Start()) << stations_.back()->Log();
    return *stations_.back();
  }

  static void Put(const StationDaemon& node, const std::string& id, const std::string& fields,
                  const std::string& owner = "") {
    std::vector<std::string> args{"put", "personnel", id, fields};
    if (!owner.empty()) args.insert(args.end(), {"--owner", owner});
    const auto put = node.Ctl(args);
    ASSERT_EQ(put.exit_code, 0) << node.unit() << ": " << put.err;
  }

  // The record as JSON, or null when the node does not hold it.
  static Json Get(const StationDaemon& node, const std::string& id) {
    const auto get = node.Ctl({"get", "personnel", id});
    if (get.exit_code != 0) return nullptr;
    return Json::parse(get.out);
  }

  static void WaitSynced(const StationDaemon& node) {
    const auto wait = node.Ctl({"wait-synced", "--timeout", kSyncTimeout});
    ASSERT_EQ(wait.exit_code, 0) << node.unit() << ": " << wait.err << "\n" << node.Log();
  }

  // `conflicts --json` prints one object per line.
  static std::vector<Json> Conflicts(const StationDaemon& node) {
    const auto listed = node.Ctl({"conflicts", "--json"});
    EXPECT_EQ(listed.exit_code, 0) << listed.err;
    std::vector<Json> conflicts;
    std::istringstream lines(listed.out);
    for (std::string line; std::getline(lines, line);) {
      if (!line.empty()) conflicts.push_back(Json::parse(line));
    }
    return conflicts;
  }

  static std::string Name(const Json& record) {
    return record.is_null() ? "<absent>" : record["fields"].value("name", "<none>");
  }

  std::string endpoint_ = FreeTcpEndpoint();
  std::unique_ptr<StationDaemon> hub_;
  std::vector<std::unique_ptr<StationDaemon>> stations_;
};

TEST_F(SyncTest, RecordsFlowBothWaysWithinScope) {
  Register("S1");
  Register("S2");
  StationDaemon& s1 = AddStation("S1");
  StationDaemon& s2 = AddStation("S2");
  Put(s1, "S1-001", R"({"name":"张伟","role":"officer"})");
  Put(*hub_, "S1-002", R"({"name":"王芳","role":"civilian"})", "S1");
  Put(*hub_, "S2-001", R"({"name":"李娜","role":"auxiliary"})", "S2");
  WaitSynced(*hub_);
  WaitSynced(s1);
  EXPECT_EQ(Name(Get(*hub_, "S1-001")), "张伟");
  EXPECT_EQ(Name(Get(s1, "S1-002")), "王芳");
  EXPECT_EQ(Name(Get(s2, "S2-001")), "李娜");
  EXPECT_TRUE(Get(s2, "S1-001").is_null()) << "S1's record must not reach S2";
  EXPECT_TRUE(Get(s1, "S2-001").is_null());
  EXPECT_EQ(Get(*hub_, "S1-001"), Get(s1, "S1-001"));

  const auto status = hub_->Ctl({"status", "--json"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  const Json hub_status = Json::parse(status.out);
  EXPECT_EQ(hub_status["role"], "hub");
  ASSERT_EQ(hub_status["stations"].size(), 2u) << status.out;
  for (const auto& station : hub_status["stations"]) {
    EXPECT_TRUE(station["connected"].get<bool>()) << status.out;
    EXPECT_EQ(station["lag_records"], 0) << status.out;
    EXPECT_EQ(station["pending_up"], 0) << status.out;
  }
  EXPECT_GE(hub_status["stations"][0]["up_total"].get<int>(), 1) << status.out;
  const Json station_status = Json::parse(s1.Ctl({"status", "--json"}).out);
  EXPECT_TRUE(station_status["hub_connected"].get<bool>());
  EXPECT_EQ(station_status["lag_records"], 0);
}

// Each node's change feed (daemon/change_feed.h) announces commits without being asked: a
// station its own write, the hub that write as it arrives from the station, and a station the
// hub's write as it arrives from the hub. Counts are cumulative, so a subscriber that joined
// late (PUB drops what it sends before the subscription arrives) learns them from the next one.
TEST_F(SyncTest, EachNodesChangeFeedAnnouncesItsOwnAndItsPeersCommits) {
  Register("S1");
  StationDaemon& s1 = AddStation("S1");
  WaitSynced(s1);
  zmq::context_t context(1);
  struct Feed {
    std::unique_ptr<zmq::socket_t> socket;
    uint64_t base = 0;  // the node's live records before the test writes
  };
  auto subscribe = [&context](const StationDaemon& node) {
    Feed feed{std::make_unique<zmq::socket_t>(context, zmq::socket_type::sub), 0};
    feed.socket->set(zmq::sockopt::subscribe, "");
    feed.socket->set(zmq::sockopt::rcvtimeo, 100);
    feed.socket->connect(node.feed());
    auto status = node.Client()->GetStatus();
    EXPECT_TRUE(status.ok()) << status.status().ToString();
    if (status.ok()) feed.base = status->records;
    return feed;
  };
  // The first announcement, within `wait`, of more live records than `feed.base` (null: none).
  auto announced = [](Feed& feed, std::chrono::milliseconds wait) -> Json {
    const auto deadline = std::chrono::steady_clock::now() + wait;
    while (std::chrono::steady_clock::now() < deadline) {
      zmq::message_t message;
      if (!feed.socket->recv(message)) continue;
      Json json = Json::parse(message.to_string(), nullptr, false);
      if (json.is_object() && json["records"].get<uint64_t>() > feed.base) return json;
    }
    return nullptr;
  };
  Feed at_s1 = subscribe(s1), at_hub = subscribe(*hub_);
  Json from_s1, from_hub;
  for (int i = 0; i < 20 && (from_s1.is_null() || from_hub.is_null()); ++i) {
    Put(s1, fmt::format("S1-{:03}", i), R"({"name":"张伟","role":"officer"})");
    if (from_s1.is_null()) from_s1 = announced(at_s1, std::chrono::milliseconds(500));
    if (from_hub.is_null()) from_hub = announced(at_hub, std::chrono::seconds(5));
  }
  ASSERT_FALSE(from_s1.is_null()) << "the station announced none of its writes";
  ASSERT_FALSE(from_hub.is_null()) << "the hub announced none of the station's writes";
  EXPECT_EQ(from_s1["node"], "S1");
  EXPECT_GE(from_s1["changed"].get<uint64_t>(), 1u);
  EXPECT_GE(from_s1["last_seq"].get<uint64_t>(), 1u);  // the station logs its own writes
  EXPECT_EQ(from_hub["node"], "hub");
  EXPECT_GE(from_hub["changed"].get<uint64_t>(), 1u);

  at_s1.base = from_s1["records"].get<uint64_t>();
  Json from_peer;
  for (int i = 0; i < 20 && from_peer.is_null(); ++i) {
    Put(*hub_, fmt::format("S1-H{:02}", i), R"({"name":"王芳","role":"civilian"})", "S1");
    from_peer = announced(at_s1, std::chrono::seconds(5));
  }
  ASSERT_FALSE(from_peer.is_null()) << "the station announced none of the hub's writes";
  EXPECT_GT(from_peer["changed"].get<uint64_t>(), from_s1["changed"].get<uint64_t>());
}

TEST_F(SyncTest, AStationThatStopsCleanlySaysGoodbyeAndTheHubShowsItDownAtOnce) {
  Register("S1");
  StationDaemon& s1 = AddStation("S1");
  WaitSynced(*hub_);
  ASSERT_EQ(s1.Stop(), 0);
  // The hub learns it from the station (its log says so), not from 5 s of silence.
  ASSERT_TRUE(testing::WaitUntil(
      [&] { return hub_->Log().find("station S1 is stopping: link down") != std::string::npos; },
      std::chrono::seconds(10)))
      << hub_->Log();
  const Json status = Json::parse(hub_->Ctl({"status", "--json"}).out);
  EXPECT_FALSE(status["stations"][0]["connected"].get<bool>()) << status.dump();
  EXPECT_EQ(hub_->Log().find("station S1 silent for"), std::string::npos) << hub_->Log();
}

TEST_F(SyncTest, AnUnknownUnitCannotEnrolAndIsRefusedAtTheHandshakeWithTheReasonInBothLogs) {
  StationDaemon& stranger = AddStation("S9", /*enroll=*/false);
  EXPECT_EQ(stranger.Enroll(*hub_), 1);  // no such unit
  ASSERT_TRUE(testing::WaitUntil(
      [&] { return stranger.Log().find("the hub refused the handshake") != std::string::npos; },
      std::chrono::seconds(20)))
      << stranger.Log();
  EXPECT_NE(hub_->Log().find("is not enrolled for any station"), std::string::npos) << hub_->Log();
  const Json status = Json::parse(stranger.Ctl({"status", "--json"}).out);
  EXPECT_FALSE(status["hub_connected"].get<bool>());
  EXPECT_EQ(stranger.Ctl({"wait-synced", "--timeout", "1"}).exit_code, 1);
}

TEST_F(SyncTest, AStationWorksOfflineAndCatchesUpBothWays) {
  Register("S1");
  StationDaemon& s1 = AddStation("S1");
  WaitSynced(s1);
  ASSERT_EQ(hub_->Stop(), 0);
  Put(s1, "S1-001", R"({"name":"离线写入","role":"officer"})");  // the hub is down
  EXPECT_EQ(s1.Ctl({"wait-synced", "--timeout", "1"}).exit_code, 1);
  ASSERT_TRUE(hub_->Start()) << hub_->Log();
  WaitSynced(s1);
  EXPECT_EQ(Name(Get(*hub_, "S1-001")), "离线写入");

  ASSERT_EQ(s1.Stop(), 0);
  Put(*hub_, "S1-002", R"({"name":"总部写入","role":"officer"})", "S1");  // the station is down
  ASSERT_TRUE(s1.Start()) << s1.Log();
  WaitSynced(s1);
  EXPECT_EQ(Name(Get(s1, "S1-002")), "总部写入");
  WaitSynced(*hub_);
}

TEST_F(SyncTest, ConcurrentWritesKeepOneWinnerAndListTheConflict) {
  Register("S1");
  StationDaemon& s1 = AddStation("S1");
  Put(s1, "S1-001", R"({"name":"原名","role":"officer"})");
  WaitSynced(s1);
  ASSERT_EQ(s1.Stop(), 0);
  Put(*hub_, "S1-001", R"({"name":"总部改名"})");
  ASSERT_EQ(hub_->Stop(), 0);
  ASSERT_TRUE(s1.Start()) << s1.Log();
  Put(s1, "S1-001", R"({"name":"派出所改名"})");  // neither saw the other
  ASSERT_TRUE(hub_->Start()) << hub_->Log();
  WaitSynced(s1);
  WaitSynced(*hub_);
  const Json at_hub = Get(*hub_, "S1-001");
  EXPECT_EQ(at_hub, Get(s1, "S1-001"));
  for (const StationDaemon* node : {hub_.get(), &s1}) {
    const std::vector<Json> conflicts = Conflicts(*node);
    ASSERT_EQ(conflicts.size(), 1u) << node->unit();
    const Json& conflict = conflicts[0];
    EXPECT_EQ(conflict["record"], "S1-001");
    EXPECT_EQ(conflict["field"], "name");
    EXPECT_EQ(conflict["kept"]["value"], Name(at_hub));
    std::set<std::string> both{conflict["kept"]["value"], conflict["lost"]["value"]};
    EXPECT_EQ(both, (std::set<std::string>{"总部改名", "派出所改名"})) << conflict.dump();
  }
  // Resolving at the hub is an ordinary write: it replicates and closes the conflict everywhere.
  const Json conflict = Conflicts(*hub_).at(0);
  const auto resolve =
      hub_->Ctl({"conflicts", "resolve", conflict["id"].get<std::string>(), "--take", "lost"});
  ASSERT_EQ(resolve.exit_code, 0) << resolve.err;
  WaitSynced(*hub_);
  EXPECT_EQ(Name(Get(s1, "S1-001")), conflict["lost"]["value"].get<std::string>());
  EXPECT_TRUE(Conflicts(*hub_).empty());
  EXPECT_TRUE(Conflicts(s1).empty());
}

}  // namespace
}  // namespace stationsync
