// The hub and station sessions in-process, without faults: the in-flight gap (the hub never
// sends a log position that is not yet durable, even while a commit is held up), refusal of an
// unknown unit, the scope filter of the down stream, and the lag's age and a snapshot's progress
// in the status, rejections by reason.
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include <gtest/gtest.h>

#include "sync/protocol/hub.h"
#include "sync/protocol/station_session.h"
#include "sync/storage/replica.h"

#include "tests/support/process.h"

namespace stationsync {
namespace {

using testing::TempDir;

class HubSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    hub_replica_ = Open("hub", "hub");
    Write(*hub_replica_,
          {Table::kUnit, "S1", "", {{"name", Value("一所")}, {"kind", Value("station")}}});
    hub_ = std::make_unique<Hub>(*hub_replica_, SessionOptions{}, /*authenticate=*/false);
  }

  std::unique_ptr<Replica> Open(const std::string& node, const std::string& unit) {
    auto replica =
        Replica::Open({.path = dir_ / node, .node = node, .unit = unit, .clock = &clock_});
    EXPECT_TRUE(replica.ok()) << replica.status().ToString();
    return std::move(replica).value();
  }

  static void Write(Replica& replica, RecordPatch patch) {
    const auto outcome = replica.Write({{"tester", {{false, std::move(patch)}}}});
    ASSERT_TRUE(outcome.front().status.ok()) << outcome.front().status.ToString();
  }

  static RecordPatch Officer(const std::string& id, const std::string& owner) {
    return {Table::kPersonnel, id, owner, {{"name", Value("张伟")}, {"role", Value("officer")}}};
  }

  // Delivers messages both ways until neither side has anything to say; returns the Downs sent.
  std::vector<Down> Exchange(StationSession& station, StationStep step) {
    std::vector<Down> downs;
    std::vector<Outgoing> to_station;
    for (int round = 0; round < 100 && (!step.out.empty() || !to_station.empty()); ++round) {
      for (const auto& message : step.out) {
        auto replies = hub_->Receive({"peer-1", ""}, message, now_);
        to_station.insert(to_station.end(), replies.begin(), replies.end());
      }
      step.out.clear();
      for (const auto& outgoing : to_station) {
        if (const auto* down = std::get_if<Down>(&outgoing.message.body)) downs.push_back(*down);
        auto replies = station.Receive(outgoing.message, now_);
        step.out.insert(step.out.end(), replies.out.begin(), replies.out.end());
      }
      to_station.clear();
    }
    return downs;
  }

  // Hands the hub's messages to the station and carries on the exchange from its answers.
  void Deliver(StationSession& station, const std::vector<Outgoing>& out) {
    StationStep replies;
    for (const auto& outgoing : out) {
      auto step = station.Receive(outgoing.message, now_);
      replies.out.insert(replies.out.end(), step.out.begin(), step.out.end());
    }
    Exchange(station, replies);
  }

  TempDir dir_;
  ManualClock clock_{1'700'000'000'000};
  uint64_t now_ = 1000;
  std::unique_ptr<Replica> hub_replica_;
  std::unique_ptr<Hub> hub_;
};

TEST_F(HubSessionTest, TheCursorNeverPassesACommitStillInFlight) {
  auto station_replica = Open("S1", "S1");
  StationSession station(*station_replica, SessionOptions{});
  Exchange(station, station.Tick(now_));
  ASSERT_TRUE(station.linked());
  Write(*hub_replica_, Officer("P1", "S1"));
  Deliver(station, hub_->Pump(now_));
  ASSERT_TRUE(station_replica->Get(Table::kPersonnel, "P1")->has_value());
  const uint64_t durable = hub_replica_->last_seq();

  // A hub write is held between planning and its durable commit, on another thread.
  std::mutex mutex;
  std::condition_variable changed;
  bool held = false, release = false;
  hub_replica_->TEST_SetBeforeCommit([&] {
    std::unique_lock lock(mutex);
    held = true;
    changed.notify_all();
    changed.wait(lock, [&] { return release; });
  });
  std::thread writer([&] { Write(*hub_replica_, Officer("P2", "S1")); });
  {
    std::unique_lock lock(mutex);
    changed.wait(lock, [&] { return held; });
  }
  // Meanwhile the hub pumps and ticks: nothing may name a position past the durable log.
  for (int i = 0; i < 5; ++i) {
    now_ += 100;
    for (const auto& outgoing : hub_->Tick(now_)) {
      if (const auto* down = std::get_if<Down>(&outgoing.message.body)) {
        EXPECT_LE(down->to, durable);
      }
      station.Receive(outgoing.message, now_);
    }
  }
  EXPECT_LE(station_replica->Peer(kHubPeer).cursor, durable);
  {
    std::lock_guard lock(mutex);
    release = true;
  }
  changed.notify_all();
  writer.join();
  hub_replica_->TEST_SetBeforeCommit(nullptr);

  // Once durable, it flows.
  now_ += 100;
  Deliver(station, hub_->Pump(now_));
  EXPECT_EQ(station_replica->Peer(kHubPeer).cursor, hub_replica_->last_seq());
  EXPECT_TRUE(station_replica->Get(Table::kPersonnel, "P2")->has_value());
}

TEST_F(HubSessionTest, AnUnknownUnitIsRefusedAndOnlyTheScopeFlowsDown) {
  auto stranger_replica = Open("S9", "S9");
  StationSession stranger(*stranger_replica, SessionOptions{});
  Exchange(stranger, stranger.Tick(now_));
  EXPECT_FALSE(stranger.linked());
  EXPECT_NE(stranger.refusal().find("not in the hub's registry"), std::string::npos)
      << stranger.refusal();

  Write(*hub_replica_, Officer("P1", "S1"));
  Write(*hub_replica_, Officer("P9", "S9"));
  auto station_replica = Open("S1", "S1");
  StationSession station(*station_replica, SessionOptions{});
  Exchange(station, station.Tick(now_));
  ASSERT_TRUE(station.linked());
  EXPECT_TRUE(station_replica->Get(Table::kPersonnel, "P1")->has_value());
  EXPECT_FALSE(station_replica->Get(Table::kPersonnel, "P9")->has_value());
  EXPECT_FALSE(station_replica->Get(Table::kUnit, "S1")->has_value());
  EXPECT_EQ(hub_->Report(now_).stations.at(0).lag_records, 0u);
}

TEST_F(HubSessionTest, LagInTimeIsTheAgeOfTheOldestChangeNotAcknowledged) {
  auto station_replica = Open("S1", "S1");
  StationSession station(*station_replica, SessionOptions{});
  Exchange(station, station.Tick(now_));
  ASSERT_TRUE(station.linked());
  EXPECT_EQ(hub_->Report(now_).stations.at(0).lag_ms, 0u);
  Write(*hub_replica_, Officer("P1", "S1"));
  hub_->Pump(now_);  // sent, never delivered
  clock_.Advance(5000);
  Write(*hub_replica_, Officer("P2", "S1"));
  hub_->Pump(now_);
  const StationLink link = hub_->Report(now_).stations.at(0);
  EXPECT_EQ(link.lag_records, 2u);
  EXPECT_EQ(link.lag_ms, 5000u) << "the age of P1's change, the older one";
  EXPECT_FALSE(link.snapshotting);
}

TEST_F(HubSessionTest, ASnapshotInProgressShowsItsSizeUntilTheStationHoldsIt) {
  Write(*hub_replica_, Officer("P1", "S1"));
  Write(*hub_replica_, Officer("P2", "S1"));
  auto station_replica = Open("S1", "S1");
  StationSession station(*station_replica, SessionOptions{});
  // The Hello of a new station starts a snapshot of its scope; its pages are not delivered yet.
  std::vector<Outgoing> pages;
  for (const auto& message : station.Tick(now_).out) {
    auto out = hub_->Receive({"peer-1", ""}, message, now_);
    pages.insert(pages.end(), out.begin(), out.end());
  }
  StationLink link = hub_->Report(now_).stations.at(0);
  EXPECT_TRUE(link.snapshotting);
  EXPECT_EQ(link.snapshot_records_total, 2u);
  EXPECT_EQ(link.snapshot_records_left, 2u);
  Deliver(station, pages);
  link = hub_->Report(now_).stations.at(0);
  EXPECT_FALSE(link.snapshotting);
  EXPECT_EQ(link.snapshot_records_total, 0u);
  EXPECT_EQ(link.lag_records, 0u);
  EXPECT_TRUE(station_replica->Get(Table::kPersonnel, "P2")->has_value());
}

TEST_F(HubSessionTest, RejectedChangesAreCountedByReason) {
  auto station_replica = Open("S1", "S1");
  StationSession station(*station_replica, SessionOptions{});
  Exchange(station, station.Tick(now_));
  ASSERT_TRUE(station.linked());
  Write(*station_replica, Officer("P5", "S1"));
  // The station's Up, its change replaced by one outside its scope (a unit) and an invalid one.
  std::optional<SyncMessage> sent;
  for (const auto& message : station.Pump(now_).out) {
    if (std::holds_alternative<Up>(message.body)) sent = message;
  }
  ASSERT_TRUE(sent.has_value());
  Up& up = std::get<Up>(sent->body);
  ASSERT_EQ(up.changes.size(), 1u);
  Record unit = up.changes[0];
  unit.table = Table::kUnit;
  unit.id = "S1";
  Record invalid = up.changes[0];
  invalid.fields["role"].value = Value("wizard");
  up.changes = {unit, invalid};
  hub_->Receive({"peer-1", ""}, *sent, now_);
  const StationLink link = hub_->Report(now_).stations.at(0);
  EXPECT_EQ(link.rejected_total, 2u);
  EXPECT_EQ(link.rejected_out_of_scope_total, 1u);
  EXPECT_EQ(link.rejected_invalid_total, 1u);
}

}  // namespace
}  // namespace stationsync
