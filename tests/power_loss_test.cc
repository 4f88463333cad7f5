// Power loss: every write the Replica acknowledged survives the machine losing power, and the
// test is shown to bite (with sync_writes off, acknowledged writes are lost).
//
// The power cut comes from PowerLossFileSystem (tests/support/power_loss_fs.h): Cut() kills the
// disk before the DB is closed, so RocksDB's shutdown can neither flush nor sync anything, then
// DropUnsyncedData() truncates every file to its last sync. "Acknowledged" means Write() returned
// an ok outcome; the test remembers the record each ok outcome returned, and after the cut
// expects exactly that record (fields, stamps, actor, deleted flag) back.
#include <filesystem>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "sync/storage/replica.h"

#include "tests/support/power_loss_fs.h"
#include "tests/support/process.h"

namespace stationsync::testing {
namespace {

using LostTail = PowerLossFileSystem::LostTail;

constexpr const char* kKinds[] = {"bureau", "station", "suboffice", "department", "patrol"};

ReplicaOptions Options(const std::string& path, rocksdb::Env* env, bool sync_writes) {
  return {.path = path,
          .node = "P01",
          .unit = "P01",
          .clock = nullptr,
          .env = env,
          .sync_writes = sync_writes};
}

std::unique_ptr<Replica> OpenOrFail(const ReplicaOptions& options) {
  auto replica = Replica::Open(options);
  EXPECT_TRUE(replica.ok()) << replica.status().ToString();
  return replica.ok() ? std::move(replica).value() : nullptr;
}

WriteRequest Upsert(const std::string& id, const std::string& name, const std::string& kind) {
  return {"tester",
          {{false, {Table::kUnit, id, "", {{"name", Value(name)}, {"kind", Value(kind)}}}}}};
}

WriteRequest Remove(const std::string& id) {
  return {"tester", {{true, {Table::kUnit, id, "", {}}}}};
}

std::string Describe(const Record& record) {
  const std::string* name = record.Text("name");
  return fmt::format("{}{} name[{}] updated {}", record.id, record.deleted ? " (deleted)" : "",
                     name ? name->substr(0, 24) : "-", record.updated.hlc);
}

// What the writer was told: the last acknowledged version of each record, and the log position
// after the last acknowledged Write().
struct Acked {
  std::map<std::string, Record> records;
  uint64_t seq = 0;
  size_t writes = 0;
};

// Writes one group. Returns true if it was acknowledged: a group shares one batch, so its
// requests succeed or fail together.
bool WriteGroup(Replica& replica, const std::vector<WriteRequest>& group, Acked* acked) {
  const std::vector<WriteOutcome> outcomes = replica.Write(group);
  size_t ok = 0;
  std::string failures;
  for (const WriteOutcome& outcome : outcomes) {
    if (!outcome.status.ok()) {
      failures += "\n  " + outcome.status.ToString();
      continue;
    }
    ++ok;
    for (const Record& record : outcome.records) acked->records[record.id] = record;
  }
  EXPECT_TRUE(ok == 0 || ok == outcomes.size()) << "a group was partly committed:" << failures;
  if (ok != outcomes.size()) return false;
  acked->seq = replica.last_seq();
  ++acked->writes;
  return true;
}

// Acknowledged records that did not come back exactly as acknowledged (the first ten reported).
size_t CountLost(const Replica& replica, const Acked& acked, bool report) {
  size_t lost = 0;
  for (const auto& [id, want] : acked.records) {
    auto got = replica.Get(Table::kUnit, id);
    EXPECT_TRUE(got.ok()) << got.status().ToString();
    if (got.ok() && got->has_value() && **got == want) continue;
    if (++lost <= 10 && report) {
      ADD_FAILURE() << "acknowledged " << Describe(want) << " came back as "
                    << (got.ok() && got->has_value() ? Describe(**got) : "nothing");
    }
  }
  return lost;
}

size_t CountTableFiles(const std::string& path) {
  size_t count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(path)) {
    if (entry.path().extension() == ".sst") ++count;
  }
  return count;
}

// A data directory on a PowerLossFileSystem.
struct Machine {
  std::shared_ptr<PowerLossFileSystem> fs = std::make_shared<PowerLossFileSystem>();
  std::unique_ptr<rocksdb::Env> env = MakeEnv(fs);
  TempDir dir;

  ReplicaOptions options(bool sync_writes) const {
    return Options(dir.path(), env.get(), sync_writes);
  }
  // The power goes out with `replica` open; RocksDB gets no clean shutdown.
  void PowerLoss(std::unique_ptr<Replica> replica, LostTail tail = LostTail::kTruncated,
                 uint32_t seed = 0) {
    fs->Cut();
    replica.reset();  // closes the DB on a dead disk: nothing it does reaches the disk
    const rocksdb::IOStatus s = fs->DropUnsyncedData(tail, seed);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
};

// 300 records in 36 writes: groups of 1 to 5 requests, and every fourth write a group of 25.
std::vector<std::vector<WriteRequest>> FixedStream() {
  std::vector<std::vector<WriteRequest>> stream;
  int next = 0;
  for (int w = 0; next < 300; ++w) {
    const int size = w % 4 == 3 ? 25 : 1 + w % 5;
    std::vector<WriteRequest> group;
    for (int i = 0; i < size && next < 300; ++i, ++next) {
      group.push_back(Upsert(fmt::format("U{}", next), fmt::format("unit {} {:x<80}", next, ""),
                             kKinds[next % 5]));
    }
    stream.push_back(std::move(group));
  }
  return stream;
}

// A seeded stream of creates, updates (the newest acknowledged version must win) and deletes.
std::vector<std::vector<WriteRequest>> RandomStream(uint32_t seed) {
  std::mt19937 rng(seed);
  auto below = [&rng](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
  std::vector<std::string> created;
  std::vector<std::vector<WriteRequest>> stream(30 + below(30));
  for (auto& group : stream) {
    const size_t requests = below(10) < 7 ? 1 : 2 + below(24);
    for (size_t r = 0; r < requests; ++r) {
      WriteRequest request{"tester", {}};
      const size_t ops = 1 + below(3);
      for (size_t o = 0; o < ops; ++o) {
        if (!created.empty() && below(10) == 0) {
          request.ops.push_back(Remove(created[below(created.size())]).ops.front());
          continue;
        }
        const bool create = created.empty() || below(3) == 0;
        if (create) created.push_back(fmt::format("U{}", created.size()));
        const std::string id = create ? created.back() : created[below(created.size())];
        const std::string name = fmt::format("unit {} seed {} {}", id, seed,
                                             std::string(below(300), static_cast<char>('a' + o)));
        request.ops.push_back(Upsert(id, name, kKinds[below(5)]).ops.front());
      }
      group.push_back(std::move(request));
    }
  }
  return stream;
}

// The harness itself, on plain files: exactly the synced bytes survive, renames carry them.
TEST(PowerLossFileSystemTest, DropsExactlyTheUnsyncedBytes) {
  TempDir dir;
  auto fs = std::make_shared<PowerLossFileSystem>();
  const rocksdb::IOOptions io;
  auto write = [&](const std::string& name, const std::string& synced,
                   const std::string& unsynced) {
    std::unique_ptr<rocksdb::FSWritableFile> file;
    ASSERT_TRUE(fs->NewWritableFile(dir / name, {}, &file, nullptr).ok());
    if (!synced.empty()) {
      ASSERT_TRUE(file->Append(synced, io, nullptr).ok());
      ASSERT_TRUE(file->Sync(io, nullptr).ok());
    }
    ASSERT_TRUE(file->Append(unsynced, io, nullptr).ok());
    ASSERT_TRUE(file->Flush(io, nullptr).ok());
    ASSERT_TRUE(file->RangeSync(0, synced.size() + unsynced.size(), io, nullptr).ok());
    ASSERT_TRUE(file->Close(io, nullptr).ok());
  };
  auto size_of = [&](const std::string& name) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(dir / name, ec);
    return ec ? -1 : static_cast<int64_t>(size);
  };
  write("partly", "synced", "lost");
  write("never", "", "lost");
  write("tmp", "renamed", "lost");
  ASSERT_TRUE(fs->RenameFile(dir / "tmp", dir / "final", io, nullptr).ok());
  write("gone", "x", "y");
  ASSERT_TRUE(fs->DeleteFile(dir / "gone", io, nullptr).ok());

  std::unique_ptr<rocksdb::FSWritableFile> open;
  ASSERT_TRUE(fs->NewWritableFile(dir / "open", {}, &open, nullptr).ok());
  ASSERT_TRUE(open->Append("before", io, nullptr).ok());
  ASSERT_TRUE(open->Sync(io, nullptr).ok());
  fs->Cut();
  EXPECT_FALSE(open->Append("after", io, nullptr).ok());
  EXPECT_FALSE(open->Sync(io, nullptr).ok());
  EXPECT_FALSE(fs->RenameFile(dir / "final", dir / "moved", io, nullptr).ok());
  EXPECT_FALSE(fs->DeleteFile(dir / "partly", io, nullptr).ok());
  EXPECT_FALSE(fs->DropUnsyncedData().ok()) << "must refuse while a written file is open";
  open.reset();
  ASSERT_TRUE(fs->DropUnsyncedData().ok());

  EXPECT_EQ(size_of("partly"), 6);
  EXPECT_EQ(size_of("never"), 0);
  EXPECT_EQ(size_of("final"), 7);
  EXPECT_EQ(size_of("tmp"), -1);
  EXPECT_EQ(size_of("gone"), -1);
  EXPECT_EQ(size_of("open"), 6);
  EXPECT_EQ(fs->dropped_bytes(), 12u);
  EXPECT_FALSE(fs->is_cut()) << "the power is back after DropUnsyncedData";

  // Scheduled cut: the second mutating operation from now fails, and so does all after it.
  std::unique_ptr<rocksdb::FSWritableFile> file;
  fs->CutBeforeOperation(2);
  ASSERT_TRUE(fs->NewWritableFile(dir / "scheduled", {}, &file, nullptr).ok());
  EXPECT_FALSE(file->Append("x", io, nullptr).ok());
  EXPECT_TRUE(fs->is_cut());
}

// 1. With sync_writes on, every acknowledged write survives the power cut, and the store opens
//    consistent, with the same log position.
TEST(PowerLossTest, AcknowledgedWritesSurvive) {
  Machine machine;
  Acked acked;
  size_t table_files_before = 0;  // creating the store flushes its identity to a table file
  {
    auto replica = OpenOrFail(machine.options(true));
    ASSERT_NE(replica, nullptr);
    table_files_before = CountTableFiles(machine.dir.path());
    for (const auto& group : FixedStream()) ASSERT_TRUE(WriteGroup(*replica, group, &acked));
    ASSERT_EQ(acked.records.size(), 300u);
    ASSERT_EQ(acked.seq, 300u);
    ASSERT_NO_FATAL_FAILURE(machine.PowerLoss(std::move(replica)));
  }
  // No write was flushed to a table file: the write-ahead log was the only copy of the data.
  EXPECT_EQ(CountTableFiles(machine.dir.path()), table_files_before);

  auto replica = OpenOrFail(machine.options(true));
  ASSERT_NE(replica, nullptr);
  EXPECT_EQ(CountLost(*replica, acked, /*report=*/true), 0u);
  EXPECT_EQ(replica->last_seq(), acked.seq);
  EXPECT_EQ(replica->record_count(), 300u);
  const Status integrity = replica->CheckIntegrity();
  EXPECT_TRUE(integrity.ok()) << integrity.ToString();
}

// 2. The same with sync_writes off loses acknowledged writes: the test bites, and the cut really
//    happens before RocksDB's shutdown could flush or sync anything. The store still opens
//    consistent (each lost write is lost whole).
TEST(PowerLossTest, UnsyncedWritesAreLostSoTheTestBites) {
  Machine machine;
  Acked acked;
  {
    auto replica = OpenOrFail(machine.options(false));
    ASSERT_NE(replica, nullptr);
    for (const auto& group : FixedStream()) ASSERT_TRUE(WriteGroup(*replica, group, &acked));
    ASSERT_EQ(acked.seq, 300u);
    ASSERT_NO_FATAL_FAILURE(machine.PowerLoss(std::move(replica)));
  }
  EXPECT_GT(machine.fs->dropped_bytes(), 0u);

  auto replica = OpenOrFail(machine.options(false));
  ASSERT_NE(replica, nullptr);
  const size_t lost = CountLost(*replica, acked, /*report=*/false);
  EXPECT_GT(lost, 0u) << "with sync_writes off a power cut must lose acknowledged writes; if it "
                         "does not, the power-loss simulation is not dropping anything";
  EXPECT_LT(replica->last_seq(), acked.seq);
  const Status integrity = replica->CheckIntegrity();
  EXPECT_TRUE(integrity.ok()) << integrity.ToString();
  std::cout << "[          ] sync_writes off: " << lost << " of " << acked.records.size()
            << " acknowledged records lost, last_seq " << replica->last_seq() << " of " << acked.seq
            << ", " << machine.fs->dropped_bytes() << " bytes dropped\n";
}

// 3. The power goes out at a seeded random point of a stream of writes (between any two file
//    operations: mid-append, between the log append and its sync, during a sync...), and the
//    unsynced tail of each file is lost, torn or zeroed (by seed). Every write acknowledged
//    before the cut survives; the write in flight, never acknowledged, is either lost whole or
//    kept whole; the store opens consistent and takes writes again.
TEST(PowerLossTest, CutAtRandomPointKeepsEveryAcknowledgedWrite) {
  constexpr uint32_t kSeeds = 21;
  constexpr LostTail kTails[] = {LostTail::kTruncated, LostTail::kTorn, LostTail::kZeroed};
  constexpr const char* kTailNames[] = {"truncated", "torn", "zeroed"};
  size_t cuts_mid_stream = 0;     // the stream stopped at an unacknowledged write
  size_t cuts_with_unsynced = 0;  // the cut found unsynced bytes to drop, tear or zero
  size_t kept_whole = 0;          // the unacknowledged write survived (whole)
  for (uint32_t seed = 1; seed <= kSeeds; ++seed) {
    SCOPED_TRACE(fmt::format("seed {}", seed));
    const auto stream = RandomStream(seed);

    // A run without a cut counts the file operations the stream makes.
    uint64_t stream_operations = 0;
    {
      Machine machine;
      Acked acked;
      auto replica = OpenOrFail(machine.options(true));
      ASSERT_NE(replica, nullptr);
      const uint64_t before = machine.fs->operations();
      for (const auto& group : stream) ASSERT_TRUE(WriteGroup(*replica, group, &acked));
      stream_operations = machine.fs->operations() - before;
    }
    ASSERT_GT(stream_operations, 0u);

    std::mt19937_64 rng(seed);
    const uint64_t cut_at = std::uniform_int_distribution<uint64_t>(1, stream_operations)(rng);
    const LostTail tail = kTails[seed % 3];
    SCOPED_TRACE(fmt::format("cut before file operation {} of {}, unsynced tail {}", cut_at,
                             stream_operations, kTailNames[seed % 3]));

    Machine machine;
    Acked acked;
    const std::vector<WriteRequest>* in_flight = nullptr;
    {
      auto replica = OpenOrFail(machine.options(true));
      ASSERT_NE(replica, nullptr);
      machine.fs->CutBeforeOperation(cut_at);
      for (const auto& group : stream) {
        if (!WriteGroup(*replica, group, &acked)) {
          in_flight = &group;
          break;
        }
      }
      if (in_flight != nullptr) ++cuts_mid_stream;
      ASSERT_NO_FATAL_FAILURE(machine.PowerLoss(std::move(replica), tail, seed));
    }

    auto replica = OpenOrFail(machine.options(true));
    ASSERT_NE(replica, nullptr);
    const Status integrity = replica->CheckIntegrity();
    EXPECT_TRUE(integrity.ok()) << integrity.ToString();

    // The ids the unacknowledged group touched, with what it would have made them.
    std::map<std::string, const WriteOp*> in_flight_ops;
    if (in_flight != nullptr) {
      for (const WriteRequest& request : *in_flight) {
        for (const WriteOp& op : request.ops) in_flight_ops[op.patch.id] = &op;
      }
    }
    const bool kept_in_flight = replica->last_seq() > acked.seq;
    if (machine.fs->dropped_bytes() > 0 || kept_in_flight) ++cuts_with_unsynced;
    if (kept_in_flight) ++kept_whole;
    if (kept_in_flight) {
      ASSERT_NE(in_flight, nullptr) << "the log runs past the last acknowledged write";
      for (const auto& [id, op] : in_flight_ops) {
        auto got = replica->Get(Table::kUnit, id);
        ASSERT_TRUE(got.ok() && got->has_value()) << id << ": the in-flight group is partial";
        const Record& record = **got;
        if (op->remove) {
          EXPECT_TRUE(record.deleted) << id << ": the in-flight group is partial";
        } else {
          EXPECT_FALSE(record.deleted) << id << ": the in-flight group is partial";
          for (const auto& [field, value] : op->patch.fields) {
            EXPECT_TRUE(record.fields.count(field) && record.fields.at(field).value == value)
                << id << "." << field << ": the in-flight group is partial";
          }
        }
      }
    } else {
      EXPECT_EQ(replica->last_seq(), acked.seq) << "acknowledged log entries were lost";
      for (const auto& [id, op] : in_flight_ops) {
        if (acked.records.count(id)) continue;
        auto got = replica->Get(Table::kUnit, id);
        EXPECT_TRUE(got.ok() && !got->has_value()) << id << ": the in-flight group is partial";
      }
    }
    // Acknowledged records the in-flight group did not touch are exactly as acknowledged.
    Acked untouched = acked;
    if (kept_in_flight) {
      for (const auto& entry : in_flight_ops) untouched.records.erase(entry.first);
    }
    EXPECT_EQ(CountLost(*replica, untouched, /*report=*/true), 0u)
        << acked.writes << " writes were acknowledged";

    // The store takes writes again, continuing the log.
    const uint64_t seq = replica->last_seq();
    Acked after;
    ASSERT_TRUE(WriteGroup(*replica, {Upsert("AFTER", "after the cut", "station")}, &after));
    EXPECT_EQ(replica->last_seq(), seq + 1);
  }
  // Most seeds must actually cut inside the stream, or this test proves little.
  EXPECT_GE(cuts_mid_stream, kSeeds / 2);
  std::cout << "[          ] " << kSeeds << " cuts: " << cuts_mid_stream << " stopped a write, "
            << cuts_with_unsynced << " found unsynced bytes, " << kept_whole
            << " kept the unacknowledged write whole\n";
}

// 4. The power goes out at every point of creating a new store (the station's first start).
//    Nothing was acknowledged, so whatever the disk kept, the station must start: Open
//    succeeds on an empty, consistent store that takes writes.
//    DISABLED: fails today for cuts 4..83 of ~103 operations; Replica::Open treats any non-empty
//    directory as an existing store, and refuses a half-created one ("file CURRENT is missing",
//    then "Column family not found: records" once the families are being created). Enable once
//    store creation is atomic (e.g. create in a sibling directory, then rename it into place).
TEST(PowerLossTest, CutWhileCreatingTheStoreLeavesItOpenable) {
  uint64_t creation_operations = 0;
  {
    Machine machine;
    auto replica = OpenOrFail(machine.options(true));
    ASSERT_NE(replica, nullptr);
    creation_operations = machine.fs->operations();
  }
  for (uint64_t cut_at = 1; cut_at <= creation_operations; ++cut_at) {
    SCOPED_TRACE(fmt::format("cut before file operation {} of {} of the first Open", cut_at,
                             creation_operations));
    Machine machine;
    machine.fs->CutBeforeOperation(cut_at);
    auto first = Replica::Open(machine.options(true));
    if (first.ok()) {
      ASSERT_NO_FATAL_FAILURE(machine.PowerLoss(std::move(first).value()));
    } else {
      const rocksdb::IOStatus s = machine.fs->DropUnsyncedData();
      ASSERT_TRUE(s.ok()) << s.ToString();
    }
    auto replica = Replica::Open(machine.options(true));
    ASSERT_TRUE(replica.ok()) << "the station cannot start after a power cut during its first "
                                 "start: "
                              << replica.status().ToString();
    EXPECT_EQ((*replica)->last_seq(), 0u);
    const Status integrity = (*replica)->CheckIntegrity();
    EXPECT_TRUE(integrity.ok()) << integrity.ToString();
    Acked acked;
    EXPECT_TRUE(WriteGroup(**replica, {Upsert("U1", "first", "station")}, &acked));
  }
}

}  // namespace
}  // namespace stationsync::testing
