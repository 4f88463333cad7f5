// syncd as a process: the data directory lock, clean shutdown, refusing a damaged store (exit 5,
// naming the file, leaving every file exactly as it was), and what it refuses to expose: a
// plaintext hub or an API reachable from other machines (exit 4), a hub link without the hub's
// key (exit 2), a data directory, key, API or change feed socket others may read.
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <gtest/gtest.h>
#include <signal.h>

#include "tests/support/process.h"

namespace stationsync::testing {
namespace {

namespace fs = std::filesystem;

// A case of the station's own unit (a station's daemon refuses units: they are the hub's).
RecordPatch Case(int i) {
  return {Table::kCase,
          "C" + std::to_string(i),
          "",
          {{"title", Value(std::string("案件") + std::to_string(i))},
           {"kind", Value(std::string("criminal"))},
           {"status", Value(std::string("filed"))},
           {"reported_at", Value(std::string("2024-03-01T08:30:00+08:00"))}}};
}

// Writes n cases through the daemon, in batches, each acknowledged once durable.
void WriteCases(StationDaemon& daemon, int n) {
  auto client = daemon.Client();
  for (int i = 0; i < n; i += 100) {
    std::vector<RecordPatch> batch;
    for (int k = i; k < std::min(n, i + 100); ++k) batch.push_back(Case(k));
    auto result = client->PutBatch(batch);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
  }
}

std::map<std::string, std::string> FileContents(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    files[entry.path().string()] = bytes.str();
  }
  return files;
}

std::string NewestWithExtension(const std::string& dir, const std::string& extension) {
  std::string newest;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == extension && entry.path().string() > newest) {
      newest = entry.path().string();
    }
  }
  return newest;
}

TEST(Syncd, SecondDaemonOnTheSameDirectoryExits3) {
  StationDaemon first("P01");
  ASSERT_TRUE(first.Start()) << first.Log();
  StationDaemon second("P01", first.data());
  EXPECT_FALSE(second.Start());
  EXPECT_EQ(second.process()->Wait(std::chrono::seconds(30)), 3);
  EXPECT_NE(second.Log().find("in use by another syncd"), std::string::npos) << second.Log();
  EXPECT_TRUE(first.Client()->Ping().ok());  // the first is unharmed
}

TEST(Syncd, SigtermAndSigintStopCleanlyWithExit0) {
  for (int signal : {SIGTERM, SIGINT}) {
    StationDaemon daemon("P01");
    ASSERT_TRUE(daemon.Start()) << daemon.Log();
    WriteCases(daemon, 10);
    daemon.process()->Signal(signal);
    EXPECT_EQ(daemon.process()->Wait(std::chrono::seconds(30)), 0) << daemon.Log();
    ASSERT_TRUE(daemon.Start()) << daemon.Log();  // and the data is all there
    auto status = daemon.Client()->GetStatus();
    ASSERT_TRUE(status.ok());
    EXPECT_EQ(status->records, 10u);
  }
}

TEST(Syncd, BadFlagsExit2) {
  TempDir dir;
  auto result = RunCommand({BinPath("syncd"), "station", "--data", dir.path()});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("--unit"), std::string::npos) << result.err;
  result = RunCommand({BinPath("syncd"), "station", "--unit", "P/01", "--data", dir.path()});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("not a unit code"), std::string::npos) << result.err;
}

TEST(Syncd, AStationWithAHubButNoHubKeyExits2SayingWhatToPass) {
  TempDir dir;
  const auto result = RunCommand({BinPath("syncd"), "station", "--unit", "P01", "--data",
                                  dir.path(), "--hub", "tcp://127.0.0.1:1"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("--hub-key"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("--insecure"), std::string::npos) << result.err;
}

TEST(Syncd, PlaintextOrAnApiOtherMachinesCanReachIsRefusedWithExit4) {
  TempDir dir;
  const std::string port = FreeTcpEndpoint().substr(FreeTcpEndpoint().rfind(':'));
  auto result = RunCommand({BinPath("syncd"), "hub", "--data", dir / "hub", "--listen",
                            "tcp://0.0.0.0" + port, "--insecure"});
  EXPECT_EQ(result.exit_code, 4);
  EXPECT_NE(result.err.find("loopback"), std::string::npos) << result.err;
  result = RunCommand({BinPath("syncd"), "station", "--unit", "P01", "--data", dir / "station",
                       "--api", "tcp://0.0.0.0" + port});
  EXPECT_EQ(result.exit_code, 4);
  EXPECT_NE(result.err.find("other machines"), std::string::npos) << result.err;
  result = RunCommand({BinPath("syncd"), "station", "--unit", "P01", "--data", dir / "station",
                       "--key", dir / "missing.cert_secret"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("--key"), std::string::npos) << result.err;
}

TEST(Syncd, TheDataDirectoryKeyApiAndFeedSocketsArePrivate) {
  TempDir dir;
  const std::string data = dir / "data";
  fs::create_directories(data);
  fs::permissions(data, fs::perms::all);  // 0777, as a careless install might leave it
  StationDaemon daemon("P01", data, DaemonRole{});
  ASSERT_TRUE(daemon.Start()) << daemon.Log();
  const auto mode = [](const std::string& path) {
    return fs::status(path).permissions() & fs::perms::all;
  };
  using fs::perms;
  EXPECT_EQ(mode(data), perms::owner_all | perms::group_read | perms::group_exec);
  EXPECT_EQ(mode(daemon.secret_key_path()), perms::owner_read | perms::owner_write);
  // The API socket (the test daemon's lives beside its log; the default one inside DATA).
  EXPECT_EQ(mode(daemon.api().substr(6)),
            perms::owner_read | perms::owner_write | perms::group_read | perms::group_write);
  EXPECT_EQ(mode(daemon.feed().substr(6)),  // the change feed's
            perms::owner_read | perms::owner_write | perms::group_read | perms::group_write);
}

// A store with data only in its write-ahead log (the daemon was killed, nothing flushed).
class DamagedStore : public ::testing::Test {
 protected:
  void SetUp() override {
    StationDaemon daemon("P01", data_.path());
    ASSERT_TRUE(daemon.Start()) << daemon.Log();
    WriteCases(daemon, 1000);
    daemon.Kill();
    db_ = data_ / "db";
  }

  // Starts syncd on the damaged store: it must exit 5, name `file_hint`, and touch nothing.
  void ExpectRefusal(const std::string& file_hint) {
    const auto before = FileContents(db_);
    StationDaemon daemon("P01", data_.path());
    EXPECT_FALSE(daemon.Start());
    EXPECT_EQ(daemon.process()->Wait(std::chrono::seconds(30)), 5) << daemon.Log();
    EXPECT_NE(daemon.Log().find(file_hint), std::string::npos) << daemon.Log();
    EXPECT_TRUE(FileContents(db_) == before) << "the refused start changed files in " << db_;
  }

  TempDir data_;
  std::string db_;
};

TEST_F(DamagedStore, FlippedBytesInTheMiddleOfTheWal) {
  const std::string wal = NewestWithExtension(db_, ".log");
  ASSERT_FALSE(wal.empty());
  const auto size = fs::file_size(wal);
  ASSERT_GT(size, 4096u);
  std::fstream file(wal, std::ios::in | std::ios::out | std::ios::binary);
  file.seekp(static_cast<std::streamoff>(size / 2));
  file.write("\xde\xad\xbe\xef", 4);
  file.close();
  ExpectRefusal(fs::path(wal).filename().string());
}

TEST_F(DamagedStore, TruncatedManifest) {
  std::string found;
  for (const auto& entry : fs::directory_iterator(db_)) {
    if (entry.path().filename().string().rfind("MANIFEST-", 0) == 0) found = entry.path();
  }
  ASSERT_FALSE(found.empty());
  fs::resize_file(found, fs::file_size(found) / 2);
  ExpectRefusal("MANIFEST");
}

TEST_F(DamagedStore, MissingCurrent) {
  fs::remove(db_ + "/CURRENT");
  ExpectRefusal("CURRENT");
  EXPECT_FALSE(fs::exists(db_ + "/CURRENT"));
}

}  // namespace
}  // namespace stationsync::testing
