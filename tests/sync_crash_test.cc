// Durability of sync across process deaths and lost stores, with real syncd processes on
// loopback: kill -9 of the hub and of a station under a write load at every node loses no
// acknowledged write; a hub restored from an older copy of its data directory, and a station
// whose data directory was wiped, detect it (epochs and log stamps), the peer offers everything
// again, and all converge with nothing acknowledged lost.
#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/process.h"

namespace stationsync {
namespace {

using testing::FreeTcpEndpoint;
using testing::StationDaemon;
using Json = nlohmann::json;
namespace fs = std::filesystem;

uint64_t Seed() {
  const char* seed = std::getenv("STATIONSYNC_SYNC_CRASH_SEED");
  return seed ? std::strtoull(seed, nullptr, 10) : 20261123;
}

class SyncCrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    hub_ = StationDaemon::Hub(endpoint_);
    ASSERT_TRUE(hub_->Start()) << hub_->Log();
  }

  StationDaemon& AddStation(const std::string& unit) {
    const auto put = hub_->Ctl(
        {"unit", "put", unit, fmt::format(R"({{"name":"{} 派出所","kind":"station"}})", unit)});
    EXPECT_EQ(put.exit_code, 0) << put.err;
    stations_.push_back(StationDaemon::Station(unit, *hub_));
    EXPECT_EQ(stations_.back()->Enroll(*hub_), 0) << unit;
    EXPECT_TRUE(stations_.back()->Start()) << stations_.back()->Log();
    return *stations_.back();
  }

  static void WaitSynced(const StationDaemon& node) {
    const auto wait = node.Ctl({"wait-synced", "--timeout", "90"});
    ASSERT_EQ(wait.exit_code, 0) << node.unit() << ": " << wait.err << "\n" << node.Log();
  }

  static bool Put(const StationDaemon& node, const std::string& id, const std::string& name,
                  const std::string& owner) {
    RecordPatch patch{Table::kPersonnel,
                      id,
                      owner,
                      {{"name", Value(name)}, {"role", Value(std::string("officer"))}}};
    auto client = node.Client("writer");
    return client->Put(patch).ok();
  }

  static std::string NameAt(const StationDaemon& node, const std::string& id) {
    const auto get = node.Ctl({"get", "personnel", id});
    if (get.exit_code != 0) return "<absent>";
    return Json::parse(get.out)["fields"].value("name", "<none>");
  }

  std::string endpoint_ = FreeTcpEndpoint();
  std::unique_ptr<StationDaemon> hub_;
  std::vector<std::unique_ptr<StationDaemon>> stations_;
};

struct Acknowledged {
  std::string id;
  std::string name;
  std::string owner;
};

TEST_F(SyncCrashTest, KillNineOfHubAndStationLosesNoAcknowledgedWrite) {
  const uint64_t seed = Seed();
  SCOPED_TRACE(fmt::format("seed {} (replay: STATIONSYNC_SYNC_CRASH_SEED={})", seed, seed));
  for (const char* unit : {"S1", "S2", "S3"}) AddStation(unit);
  std::mutex mutex;
  std::vector<Acknowledged> ledger;
  std::atomic<bool> stop{false};
  auto writer = [&](StationDaemon* node, int index) {
    for (int n = 0; !stop.load(); ++n) {
      const std::string owner = node == hub_.get() ? fmt::format("S{}", n % 3 + 1) : node->unit();
      const std::string id = fmt::format("{}-{:05}", node == hub_.get() ? "HQ" : node->unit(), n);
      const std::string name = fmt::format("v{}-{}", index, n);
      if (Put(*node, id, name, owner)) {
        std::lock_guard lock(mutex);
        ledger.push_back({id, name, owner});
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
  };
  std::vector<std::thread> writers;
  writers.emplace_back(writer, hub_.get(), 0);
  for (int i = 0; i < 3; ++i) writers.emplace_back(writer, stations_[i].get(), i + 1);

  std::mt19937_64 rng(seed);
  auto pause = [&] {
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::uniform_int_distribution<int>(200, 900)(rng)));
  };
  for (int round = 0; round < 3; ++round) {
    pause();
    hub_->Kill();
    pause();
    ASSERT_TRUE(hub_->Start()) << hub_->Log();
    pause();
    StationDaemon& victim = *stations_[std::uniform_int_distribution<int>(0, 2)(rng)];
    victim.Kill();
    pause();
    ASSERT_TRUE(victim.Start()) << victim.Log();
  }
  pause();
  stop.store(true);
  for (auto& thread : writers) thread.join();
  WaitSynced(*hub_);
  ASSERT_GT(ledger.size(), 20u) << "the load barely ran";

  std::map<std::string, std::unique_ptr<ApiClient>> readers;
  readers["hub"] = hub_->Client();
  for (auto& station : stations_) readers[station->unit()] = station->Client();
  auto holds = [&](const std::string& node, const Acknowledged& write) {
    auto record = readers.at(node)->Get(Table::kPersonnel, write.id);
    return record.ok() && record->Text("name") && *record->Text("name") == write.name;
  };
  size_t missing = 0;
  for (const auto& write : ledger) {
    for (const std::string& node : {std::string("hub"), write.owner}) {
      if (!holds(node, write) && ++missing <= 5) ADD_FAILURE() << node << " lost " << write.id;
    }
  }
  EXPECT_EQ(missing, 0u) << "of " << ledger.size() << " acknowledged writes";
}

TEST_F(SyncCrashTest, AHubRestoredFromAnOlderCopyGetsEverythingBack) {
  StationDaemon& s1 = AddStation("S1");
  ASSERT_TRUE(Put(s1, "S1-A", "before copy, station", "S1"));
  ASSERT_TRUE(Put(*hub_, "S1-B", "before copy, hub", "S1"));
  WaitSynced(*hub_);
  ASSERT_EQ(hub_->Stop(), 0);
  testing::TempDir backup;
  fs::copy(hub_->data(), backup / "data", fs::copy_options::recursive);
  ASSERT_TRUE(hub_->Start()) << hub_->Log();
  ASSERT_TRUE(Put(s1, "S1-C", "after copy, station", "S1"));
  ASSERT_TRUE(Put(*hub_, "S1-D", "after copy, hub", "S1"));
  WaitSynced(*hub_);
  ASSERT_EQ(NameAt(s1, "S1-D"), "after copy, hub");

  ASSERT_EQ(hub_->Stop(), 0);  // the hub's disk is replaced by the older copy
  fs::remove_all(hub_->data());
  fs::copy(backup / "data", hub_->data(), fs::copy_options::recursive);
  ASSERT_TRUE(hub_->Start()) << hub_->Log();
  WaitSynced(*hub_);
  WaitSynced(s1);
  for (const auto& [id, name] : std::map<std::string, std::string>{{"S1-A", "before copy, station"},
                                                                   {"S1-B", "before copy, hub"},
                                                                   {"S1-C", "after copy, station"},
                                                                   {"S1-D", "after copy, hub"}}) {
    EXPECT_EQ(NameAt(*hub_, id), name) << id;
    EXPECT_EQ(NameAt(s1, id), name) << id;
  }
  EXPECT_NE(s1.Log().find("offering"), std::string::npos) << s1.Log();
}

TEST_F(SyncCrashTest, AWipedStationGetsItsScopeBack) {
  StationDaemon& s1 = AddStation("S1");
  ASSERT_TRUE(Put(s1, "S1-A", "station write", "S1"));
  ASSERT_TRUE(Put(*hub_, "S1-B", "hub write", "S1"));
  WaitSynced(*hub_);
  ASSERT_EQ(s1.Stop(), 0);
  fs::remove_all(s1.data());
  ASSERT_TRUE(s1.Start()) << s1.Log();
  WaitSynced(s1);
  EXPECT_EQ(NameAt(s1, "S1-A"), "station write");
  EXPECT_EQ(NameAt(s1, "S1-B"), "hub write");
  ASSERT_TRUE(Put(s1, "S1-C", "after the wipe", "S1"));  // a new epoch: seq 1 again, not a replay
  WaitSynced(s1);
  EXPECT_EQ(NameAt(*hub_, "S1-C"), "after the wipe");
}

}  // namespace
}  // namespace stationsync
