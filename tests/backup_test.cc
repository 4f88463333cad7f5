// syncctl backup and restore, with real syncd processes: a backup is a data directory (the store
// as of one log position, and the node's key pair) that a daemon starts on with the same records
// and the same identity, whether it was copied to another file system or moved within the
// store's; a backup never writes into a directory that holds anything; a second backup is
// refused while one copies, and a copy abandoned at stop or failing midway (forced through the
// test-only STATIONSYNC_TEST_BACKUP_COPY) leaves neither DIR nor the staging; and a hub
// restored from a backup taken under write load gets back from its stations every write that
// was acknowledged after the backup (the epoch and offer logic of sync/protocol).
#include "daemon/backup.h"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <signal.h>

#include "tests/support/process.h"

namespace stationsync {
namespace {

using testing::BinPath;
using testing::FreeTcpEndpoint;
using testing::StationDaemon;
using testing::TempDir;
using Json = nlohmann::json;
namespace fs = std::filesystem;

// Regular files under `dir` (relative path -> size): what a backup says it wrote.
std::map<std::string, uintmax_t> FilesUnder(const std::string& dir) {
  std::map<std::string, uintmax_t> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) {
      files[fs::relative(entry.path(), dir).string()] = entry.file_size();
    }
  }
  return files;
}

RecordPatch Case(const std::string& id) {
  return {Table::kCase,
          id,
          "",
          {{"title", Value(std::string("案件 ") + id)},
           {"kind", Value(std::string("criminal"))},
           {"status", Value(std::string("filed"))},
           {"reported_at", Value(std::string("2024-03-01T08:30:00+08:00"))}}};
}

TEST(Backup, ACopyOfALiveStationRestoresWithItsRecordsAndIdentity) {
  StationDaemon station("P01");
  ASSERT_TRUE(station.Start()) << station.Log();
  auto client = station.Client();
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(client->Put(Case(fmt::format("C{:03}", i))).ok());
  auto before = client->GetStatus();
  ASSERT_TRUE(before.ok());

  // On another file system than the store where /dev/shm is one: table files are copied.
  TempDir scratch("/dev/shm");
  const std::string dir = scratch / "backup";
  const auto backup = station.Ctl({"backup", dir});
  ASSERT_EQ(backup.exit_code, 0) << backup.err << station.Log();
  const Json report = Json::parse(backup.out);
  EXPECT_EQ(report["path"], dir);
  EXPECT_EQ(report["log_position"], before->last_seq);
  EXPECT_EQ(report["key_pair"], true);
  const auto files = FilesUnder(dir);
  uintmax_t bytes = 0;
  for (const auto& [name, size] : files) bytes += size;
  EXPECT_EQ(report["files"], files.size()) << backup.out;
  EXPECT_EQ(report["bytes"], bytes) << backup.out;
  EXPECT_TRUE(files.contains("db/CURRENT")) << backup.out;
  EXPECT_TRUE(files.contains("node.cert_secret")) << backup.out;
  EXPECT_FALSE(fs::exists(station.data() + "/backup-staging")) << "the staged checkpoint stays";
  EXPECT_EQ(fs::status(dir).permissions() & fs::perms::all, fs::perms::owner_all);
  EXPECT_EQ(fs::status(dir + "/node.cert_secret").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);

  // The station keeps serving and writing after its backup.
  ASSERT_TRUE(client->Put(Case("C-after")).ok());

  // Restoring: syncd started on a copy of the directory, with no --key: the backup's pair.
  const std::string restored = scratch / "restored";
  fs::copy(dir, restored, fs::copy_options::recursive);
  const std::string api = "ipc://" + scratch / "r.sock";
  testing::Process daemon({BinPath("syncd"), "station", "--unit", "P01", "--data", restored,
                           "--api", api, "--http", "off"},
                          scratch / "restored.log");
  ApiClient restored_client(api, std::chrono::seconds(5), "tester");
  ASSERT_TRUE(
      testing::WaitUntil([&] { return restored_client.Ping().ok(); }, std::chrono::seconds(30)));
  auto after = restored_client.GetStatus();
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(after->records, before->records);
  EXPECT_EQ(after->last_seq, before->last_seq);
  EXPECT_EQ(after->public_key, before->public_key) << "a restored node keeps its identity";
  EXPECT_EQ(after->public_key, station.public_key());
  EXPECT_TRUE(restored_client.Get(Table::kCase, "C029").ok());
  EXPECT_EQ(restored_client.Get(Table::kCase, "C-after").status().code(), Code::kNotFound);
  daemon.Signal(SIGTERM);
  EXPECT_EQ(daemon.Wait(std::chrono::seconds(30)), 0);
}

TEST(Backup, ADirectoryThatHoldsAnythingIsRefusedWithExit4AndLeftAsItWas) {
  StationDaemon station("P01");
  ASSERT_TRUE(station.Start()) << station.Log();
  TempDir scratch;
  const std::string dir = scratch / "taken";
  fs::create_directories(dir);
  { std::ofstream(dir + "/notes.txt") << "an operator's file\n"; }
  const auto refused = station.Ctl({"backup", dir});
  EXPECT_EQ(refused.exit_code, 4) << refused.err;
  EXPECT_NE(refused.err.find(dir + " exists and is not empty"), std::string::npos) << refused.err;
  EXPECT_TRUE(refused.out.empty()) << refused.out;
  EXPECT_EQ(FilesUnder(dir), (std::map<std::string, uintmax_t>{{"notes.txt", 19}}));

  // Not a place for a backup: inside the data directory, or under a missing parent (exit 2).
  const auto inside = station.Ctl({"backup", station.data() + "/backup"});
  EXPECT_EQ(inside.exit_code, 2) << inside.err;
  EXPECT_NE(inside.err.find("inside the data directory"), std::string::npos) << inside.err;
  const auto orphan = station.Ctl({"backup", scratch / "missing/backup"});
  EXPECT_EQ(orphan.exit_code, 2) << orphan.err;
  EXPECT_FALSE(fs::exists(station.data() + "/backup"));

  // An empty directory is fine (an operator may prepare one with the right owner). On the
  // store's file system, table files are hard links to the live ones.
  ASSERT_TRUE(station.Client()->Put(Case("C1")).ok());  // so that the store has a table file
  fs::create_directories(scratch / "empty");
  const auto made = station.Ctl({"backup", scratch / "empty"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  size_t linked = 0;
  for (const auto& entry : fs::directory_iterator(scratch / "empty/db")) {
    if (entry.path().extension() == ".sst" && fs::hard_link_count(entry.path()) > 1) ++linked;
  }
  EXPECT_GT(linked, 0u) << made.out;
  EXPECT_FALSE(fs::exists(station.data() + "/backup-staging"));
  EXPECT_TRUE(station.Client()->Ping().ok());
}

// A station run by the test itself, with STATIONSYNC_TEST_BACKUP_COPY=`faults` (backup.h's
// TEST_BackupCopy), and 30 cases in its store.
class FaultyCopyStation {
 public:
  explicit FaultyCopyStation(const std::string& faults)
      : api_("ipc://" + dir_ / "api.sock"),
        daemon_({BinPath("syncd"), "station", "--unit", "P01", "--data", dir_ / "data", "--api",
                 api_, "--http", "off"},
                dir_ / "syncd.log", {std::string(kTestBackupCopyVariable) + "=" + faults}),
        client_(api_, std::chrono::seconds(5), "tester") {}

  // Waits for the daemon and writes the cases.
  bool Start() {
    if (!testing::WaitUntil([&] { return client_.Ping().ok(); }, std::chrono::seconds(30))) {
      return false;
    }
    for (int i = 0; i < 30; ++i) {
      if (!client_.Put(Case(fmt::format("C{:03}", i))).ok()) return false;
    }
    return true;
  }
  testing::CommandResult Backup(const std::string& dir, const std::string& timeout_s = "60") {
    return testing::RunCommand(
        {BinPath("syncctl"), "--api", api_, "backup", dir, "--timeout", timeout_s}, "",
        std::chrono::seconds(90));
  }
  std::string Log() const {
    std::ifstream in(dir_ / "syncd.log");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  const TempDir& dir() const { return dir_; }
  const std::string& api() const { return api_; }
  testing::Process& daemon() { return daemon_; }
  ApiClient& client() { return client_; }

 private:
  TempDir dir_;
  std::string api_;
  testing::Process daemon_;
  ApiClient client_;
};

// Every case of FaultyCopyStation is still in the store at `data`, read by a fresh syncd.
void ExpectTheCasesAt(const TempDir& scratch, const std::string& data) {
  const std::string api = "ipc://" + scratch / "check.sock";
  testing::Process daemon(
      {BinPath("syncd"), "station", "--unit", "P01", "--data", data, "--api", api, "--http", "off"},
      scratch / "check.log");
  ApiClient client(api, std::chrono::seconds(5), "tester");
  ASSERT_TRUE(testing::WaitUntil([&] { return client.Ping().ok(); }, std::chrono::seconds(30)));
  for (int i = 0; i < 30; ++i) {
    const std::string id = fmt::format("C{:03}", i);
    auto read = client.Get(Table::kCase, id);
    ASSERT_TRUE(read.ok()) << id << ": " << read.status().ToString();
  }
  daemon.Signal(SIGTERM);
  EXPECT_EQ(daemon.Wait(std::chrono::seconds(30)), 0);
}

// The copy (forced, as if DIR were on another file system) stalls after its first chunk, so the
// test acts while it is certainly in progress: a second backup is refused with exit 3 and writes
// nothing; the node keeps serving; SIGTERM stops syncd cleanly (exit 0) mid-copy, and neither
// the half-copied DIR nor the staged checkpoint is left behind; the store is whole.
TEST(Backup, ASecondBackupIsRefusedWhileOneCopiesAndAStopMidCopyLeavesNothing) {
  FaultyCopyStation station("pause_after=1");
  ASSERT_TRUE(station.Start()) << station.Log();
  TempDir scratch;
  const std::string dir = scratch / "backup";
  testing::Process first(
      {BinPath("syncctl"), "--api", station.api(), "backup", dir, "--timeout", "120"},
      scratch / "first.log");
  ASSERT_TRUE(testing::WaitUntil(
      [&] {
        return fs::exists(dir + "/db.partial") &&
               station.Log().find("TEST copy paused") != std::string::npos;
      },
      std::chrono::seconds(30)))
      << station.Log();
  EXPECT_FALSE(fs::exists(dir + "/db")) << "db appears only once the copy is complete";
  EXPECT_TRUE(fs::exists(station.dir() / "data/backup-staging/db/CURRENT"));

  const auto second = station.Backup(scratch / "second");
  EXPECT_EQ(second.exit_code, 3) << second.err;
  EXPECT_NE(second.err.find("a backup to " + dir + " is in progress"), std::string::npos)
      << second.err;
  EXPECT_FALSE(fs::exists(scratch / "second"));
  EXPECT_TRUE(station.client().Put(Case("C-during")).ok()) << "the node serves during a copy";

  station.daemon().Signal(SIGTERM);
  EXPECT_EQ(station.daemon().Wait(std::chrono::seconds(30)), 0) << station.Log();
  EXPECT_FALSE(fs::exists(dir)) << "the backup made DIR: it is removed with what it held";
  EXPECT_FALSE(fs::exists(station.dir() / "data/backup-staging"));
  EXPECT_NE(station.Log().find("failed, nothing kept: unavailable: syncd is stopping"),
            std::string::npos)
      << station.Log();
  // The first syncctl had no answer: the daemon stopped.
  first.Signal(SIGTERM);
  first.Wait(std::chrono::seconds(10));
  ExpectTheCasesAt(scratch, station.dir() / "data");
}

// A copy that fails midway (the destination's disk full): syncctl exits 5 naming the cause; an
// empty DIR the operator made is left empty, a DIR the backup made is removed, the staging is
// gone, and the node serves and writes as before.
TEST(Backup, ACopyThatFailsMidwayLeavesNothingAndTheNodeServes) {
  FaultyCopyStation station("fail_after=3000");
  ASSERT_TRUE(station.Start()) << station.Log();
  TempDir scratch;
  for (const std::string& dir : {scratch / "made", scratch / "prepared"}) {
    SCOPED_TRACE(dir);
    if (dir.ends_with("prepared")) fs::create_directories(dir);
    const auto failed = station.Backup(dir);
    EXPECT_EQ(failed.exit_code, 5) << failed.err;
    EXPECT_NE(failed.err.find("No space left on device"), std::string::npos) << failed.err;
    EXPECT_TRUE(failed.out.empty()) << failed.out;
    if (dir.ends_with("prepared")) {
      ASSERT_TRUE(fs::is_directory(dir));
      EXPECT_TRUE(fs::is_empty(dir)) << "the operator's directory is emptied, not removed";
    } else {
      EXPECT_FALSE(fs::exists(dir));
    }
    EXPECT_FALSE(fs::exists(station.dir() / "data/backup-staging"));
  }
  EXPECT_TRUE(station.client().Put(Case("C-after")).ok());
  EXPECT_EQ(station.Backup(scratch / "again").exit_code, 5) << "the fault stays; no half backup";
  EXPECT_FALSE(fs::exists(scratch / "again"));
  station.daemon().Signal(SIGTERM);
  EXPECT_EQ(station.daemon().Wait(std::chrono::seconds(30)), 0) << station.Log();
  ExpectTheCasesAt(scratch, station.dir() / "data");
}

// The forced copy that succeeds: the same backup as a rename gives, restorable.
TEST(Backup, AForcedCopyInChunksMakesAWholeBackup) {
  FaultyCopyStation station("copy");
  ASSERT_TRUE(station.Start()) << station.Log();
  TempDir scratch;
  const auto made = station.Backup(scratch / "backup");
  ASSERT_EQ(made.exit_code, 0) << made.err << station.Log();
  EXPECT_TRUE(fs::exists(scratch / "backup/db/CURRENT"));
  EXPECT_FALSE(fs::exists(scratch / "backup/db.partial"));
  for (const auto& entry : fs::directory_iterator(scratch / "backup/db")) {
    EXPECT_EQ(fs::hard_link_count(entry.path()), 1u) << entry.path() << " was linked, not copied";
  }
  station.daemon().Signal(SIGTERM);
  EXPECT_EQ(station.daemon().Wait(std::chrono::seconds(30)), 0) << station.Log();
  ExpectTheCasesAt(scratch, scratch / "backup");
}

struct Acknowledged {
  std::string id;
  std::string name;
  std::string owner;
};

TEST(Backup, AHubRestoredFromABackupTakenUnderLoadLosesNoAcknowledgedWrite) {
  auto hub = StationDaemon::Hub(FreeTcpEndpoint());
  ASSERT_TRUE(hub->Start()) << hub->Log();
  std::vector<std::unique_ptr<StationDaemon>> stations;
  for (const char* unit : {"S1", "S2"}) {
    const auto put = hub->Ctl(
        {"unit", "put", unit, fmt::format(R"({{"name":"{} 派出所","kind":"station"}})", unit)});
    ASSERT_EQ(put.exit_code, 0) << put.err;
    stations.push_back(StationDaemon::Station(unit, *hub));
    ASSERT_EQ(stations.back()->Enroll(*hub), 0);
    ASSERT_TRUE(stations.back()->Start()) << stations.back()->Log();
  }

  // Writers at the hub (for both stations' units) and at each station, each write in the ledger
  // once acknowledged.
  std::mutex mutex;
  std::vector<Acknowledged> ledger;
  std::atomic<bool> stop{false};
  auto writer = [&](const StationDaemon* node) {
    auto client = node->Client("writer");
    const bool at_hub = node == hub.get();
    for (int n = 0; !stop.load(); ++n) {
      const std::string owner = at_hub ? fmt::format("S{}", n % 2 + 1) : node->unit();
      const std::string id = fmt::format("{}-{:05}", at_hub ? "HQ" : node->unit(), n);
      const std::string name = fmt::format("{}-v{}", node->unit(), n);
      RecordPatch patch{Table::kPersonnel,
                        id,
                        owner,
                        {{"name", Value(name)}, {"role", Value(std::string("officer"))}}};
      if (client->Put(patch).ok()) {
        std::lock_guard lock(mutex);
        ledger.push_back({id, name, owner});
      }
    }
  };
  std::vector<std::thread> writers;
  writers.emplace_back(writer, hub.get());
  for (const auto& station : stations) writers.emplace_back(writer, station.get());
  auto acknowledged = [&] {
    std::lock_guard lock(mutex);
    return ledger.size();
  };
  ASSERT_TRUE(testing::WaitUntil([&] { return acknowledged() >= 60; }, std::chrono::seconds(30)));

  TempDir scratch;
  const auto backup = hub->Ctl({"backup", scratch / "hub-backup"});  // under load
  ASSERT_EQ(backup.exit_code, 0) << backup.err;
  const uint64_t backup_position = Json::parse(backup.out)["log_position"];
  const size_t at_backup = acknowledged();
  ASSERT_TRUE(testing::WaitUntil([&] { return acknowledged() >= at_backup + 60; },
                                 std::chrono::seconds(30)));
  stop.store(true);
  for (auto& thread : writers) thread.join();

  // Everything acknowledged has reached the stations; then the hub's disk is lost.
  const auto synced = hub->Ctl({"wait-synced", "--timeout", "90"});
  ASSERT_EQ(synced.exit_code, 0) << synced.err << hub->Log();
  auto lost = hub->Client()->GetStatus();
  ASSERT_TRUE(lost.ok());
  ASSERT_GT(lost->last_seq, backup_position) << "the hub wrote nothing after the backup";
  hub->Kill();
  fs::remove_all(hub->data());
  fs::copy(scratch / "hub-backup", hub->data(), fs::copy_options::recursive);
  ASSERT_TRUE(hub->Start()) << hub->Log();  // the backup's key: the stations' --hub-key
  for (const StationDaemon* node : {hub.get(), stations[0].get(), stations[1].get()}) {
    const auto wait = node->Ctl({"wait-synced", "--timeout", "90"});
    ASSERT_EQ(wait.exit_code, 0) << node->unit() << ": " << wait.err << "\n" << node->Log();
  }

  std::map<std::string, std::unique_ptr<ApiClient>> readers;
  readers["hub"] = hub->Client();
  for (const auto& station : stations) readers[station->unit()] = station->Client();
  size_t missing = 0;
  for (const auto& write : ledger) {
    for (const std::string& node : {std::string("hub"), write.owner}) {
      auto record = readers.at(node)->Get(Table::kPersonnel, write.id);
      const bool holds = record.ok() && record->Text("name") && *record->Text("name") == write.name;
      if (!holds && ++missing <= 5) ADD_FAILURE() << node << " lost " << write.id;
    }
  }
  EXPECT_EQ(missing, 0u) << "of " << ledger.size() << " acknowledged writes";
  EXPECT_NE(stations[0]->Log().find("offering"), std::string::npos) << stations[0]->Log();
}

}  // namespace
}  // namespace stationsync
