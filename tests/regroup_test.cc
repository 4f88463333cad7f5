// Regrouping stations with real syncd hubs and stations on loopback and syncgen data: a merge
// (the 临朐 2020 merge of the four urban stations under writers at every member; three merges of
// the 14 大田 stations into 11 groups; a member offline during its merge), transfers of a case
// and of residents between scopes (with a station offline at the time), and an unmerge. After
// each, every station's replica digest equals the hub's digest of its group, and records that
// left a scope are gone from the replicas that no longer cover it.
//
// Each test generates its own data set (fixed syncgen seeds, about 200 records a station),
// starts its own processes in temporary directories, bounds every wait, and stops every process
// it started by pid (SIGTERM, expecting exit 0, so that a daemon that crashed or leaked under
// ASan fails the test; SIGKILL at destruction otherwise).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <signal.h>

#include "tools/syncgen/generator.h"

#include "tests/support/process.h"

namespace stationsync {
namespace {

using testing::FreeTcpEndpoint;
using testing::StationDaemon;
using Json = nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

// 临朐县 (syncgen --profile linqu).
constexpr char kPatrol[] = "370724300000";
constexpr char kChengli[] = "370724510000";    // 城里
constexpr char kNanguan[] = "370724520000";    // 南关
constexpr char kBeiguan[] = "370724530000";    // 北关
constexpr char kChengguan[] = "370724540000";  // 城关

// About 200 records a station (linqu; 75 in district, which starts 14 stations): quick under
// ASan, still realistic.
constexpr double kLinquScale = 0.02;
constexpr double kDistrictScale = 0.01;
constexpr uint64_t kLinquSeed = 2020;
constexpr uint64_t kDistrictSeed = 14;

constexpr char kSyncTimeoutS[] = "60";
// Generous bounds on one answer from a daemon (syncctl's default is 10 s): under ASan, with ctest
// running tests side by side on a small machine, a busy hub can take several seconds.
constexpr char kAnswerTimeoutS[] = "30";
constexpr char kImportTimeoutS[] = "60";
constexpr auto kAnswerTimeout = seconds(30);
constexpr size_t kCtlParallelMax = 8;  // syncctl processes at once
constexpr auto kConvergeTimeout = seconds(60);

// A replica digest as `syncctl digest --json` prints it.
struct Digest {
  std::vector<std::string> scope;
  uint64_t records = 0;
  std::string root;
  bool operator==(const Digest&) const = default;
};

std::string ToString(const std::optional<Digest>& digest) {
  if (!digest) return "<no digest>";
  return fmt::format("scope [{}], {} records, root {}", fmt::join(digest->scope, " "),
                     digest->records, digest->root);
}

// Prints how long a step took, to tell a slow machine from a slow sync in a failing run's log:
// "[regroup +12.3 s] wait-synced at 5 nodes: 1.20 s".
class StepTimer {
 public:
  explicit StepTimer(std::string what) : what_(std::move(what)) {}
  ~StepTimer() {
    const auto now = std::chrono::steady_clock::now();
    fmt::print("[regroup +{:.1f} s] {}: {:.2f} s\n",
               std::chrono::duration<double>(now - test_start).count(), what_,
               std::chrono::duration<double>(now - start_).count());
    std::fflush(stdout);
  }
  StepTimer(const StepTimer&) = delete;
  StepTimer& operator=(const StepTimer&) = delete;

  static inline std::chrono::steady_clock::time_point test_start;

 private:
  std::string what_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

std::vector<std::string> Sorted(std::vector<std::string> codes) {
  std::sort(codes.begin(), codes.end());
  return codes;
}

std::vector<Json> JsonLines(const std::string& text) {
  std::vector<Json> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    Json parsed = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!parsed.is_discarded()) lines.push_back(std::move(parsed));
  }
  return lines;
}

std::vector<Json> ReadJsonLines(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return JsonLines(text.str());
}

// One writer thread per station: each writes a new personnel record of the station's unit
// through its API every 15 ms, keeping a ledger of the acknowledged writes, until Stop().
class WriteLoad {
 public:
  struct Write {
    std::string id, name, unit;
  };

  explicit WriteLoad(const std::vector<const StationDaemon*>& stations) {
    for (const StationDaemon* station : stations) acked_[station->unit()] = 0;
    for (const StationDaemon* station : stations) {
      threads_.emplace_back([this, station] { Loop(*station); });
    }
  }
  ~WriteLoad() { Stop(); }
  WriteLoad(const WriteLoad&) = delete;
  WriteLoad& operator=(const WriteLoad&) = delete;

  void Stop() {
    stop_.store(true);
    for (auto& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
  }
  int acked(const std::string& unit) const { return acked_.at(unit).load(); }
  // True once every station has `more` acknowledged writes beyond `since` (bounded wait).
  bool WaitForMore(const std::map<std::string, int>& since, int more) const {
    return testing::WaitUntil(
        [&] {
          return std::all_of(since.begin(), since.end(), [&](const auto& unit_count) {
            return acked(unit_count.first) >= unit_count.second + more;
          });
        },
        seconds(20));
  }
  std::map<std::string, int> Counts() const {
    std::map<std::string, int> counts;
    for (const auto& [unit, count] : acked_) counts[unit] = count.load();
    return counts;
  }
  // After Stop().
  const std::vector<Write>& ledger() const { return ledger_; }
  // Writes sent: one whose answer timed out may still have been stored.
  size_t attempted() const { return attempted_.load(); }

 private:
  void Loop(const StationDaemon& station) {
    const std::string& unit = station.unit();
    auto client = station.Client("writer-" + unit);
    for (int n = 0; !stop_.load() && n < 100000; ++n) {
      const std::string id = fmt::format("W{}-{:05}", unit.substr(6, 2), n);
      const std::string name = fmt::format("写入{}", n);
      RecordPatch patch{Table::kPersonnel,
                        id,
                        unit,
                        {{"name", Value(name)}, {"role", Value(std::string("auxiliary"))}}};
      ++attempted_;
      if (client->Put(patch).ok()) {
        std::lock_guard lock(mutex_);
        ledger_.push_back({id, name, unit});
        ++acked_.at(unit);
      }
      std::this_thread::sleep_for(milliseconds(15));
    }
  }

  std::map<std::string, std::atomic<int>> acked_;  // keys fixed before the threads start
  std::atomic<size_t> attempted_{0};
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::vector<Write> ledger_;  // under mutex_
  std::vector<std::thread> threads_;
};

class RegroupTest : public ::testing::Test {
 protected:
  void SetUp() override { StepTimer::test_start = std::chrono::steady_clock::now(); }

  void TearDown() override {
    // SIGTERM to all at once, then reap each: a clean exit is part of the contract.
    std::vector<StationDaemon*> nodes;
    for (auto& [unit, station] : stations_) nodes.push_back(station.get());
    if (hub_) nodes.push_back(hub_.get());
    for (StationDaemon* node : nodes) {
      if (node->process() && node->process()->running()) node->process()->Signal(SIGTERM);
    }
    for (StationDaemon* node : nodes) {
      if (!node->process()) continue;
      const std::optional<int> code = node->process()->Wait(seconds(30));
      EXPECT_EQ(code, 0) << node->unit() << " did not stop cleanly; its log:\n" << Tail(*node);
    }
  }

  // Generates the data set into gen_; its station units, in code order.
  std::vector<std::string> Generate(syncgen::Profile profile, uint64_t seed, double scale) {
    const syncgen::Options options{profile, seed, scale};
    auto summary = syncgen::RunSyncgen(options, syncgen::DefaultDivisionsPath(), gen_.path());
    EXPECT_TRUE(summary.ok()) << summary.status().message();
    std::vector<std::string> stations;
    for (const Json& unit : ReadJsonLines(gen_ / "units.jsonl")) {
      all_units_.push_back(unit["id"]);
      if (unit["fields"]["kind"] == "station") stations.push_back(unit["id"]);
    }
    return Sorted(stations);
  }

  // Starts a hub whose registry holds the generated units that are not stations, and the given
  // stations (a station in the registry but not running would keep the hub's wait-synced
  // waiting).
  void StartHub(const std::vector<std::string>& stations) {
    hub_ = StationDaemon::Hub(endpoint_);
    ASSERT_TRUE(hub_->Start()) << hub_->Log();
    const std::set<std::string> wanted(stations.begin(), stations.end());
    std::ofstream units(gen_ / "registry.jsonl");
    for (const Json& unit : ReadJsonLines(gen_ / "units.jsonl")) {
      if (unit["fields"]["kind"] != "station" || wanted.contains(unit["id"])) {
        units << unit.dump() << "\n";
      }
    }
    units.close();
    Import(*hub_, gen_ / "registry.jsonl");
  }

  // The 临朐 data set and a hub registering the given stations.
  void StartLinqu(const std::vector<std::string>& stations) {
    ASSERT_EQ(Generate(syncgen::Profile::kLinqu, kLinquSeed, kLinquScale).size(), 12u);
    StartHub(stations);
  }

  // Starts a station of the registry (its data directory kept across restarts).
  StationDaemon& StartStation(const std::string& unit) {
    StartStations({unit});
    return At(unit);
  }
  // Starts stations side by side (each start waits for the daemon's API).
  void StartStations(const std::vector<std::string>& units) {
    StepTimer timer(fmt::format("starting {} station(s)", units.size()));
    std::vector<StationDaemon*> starting;
    for (const std::string& unit : units) {
      auto& station = stations_[unit];
      if (!station) {
        station = StationDaemon::Station(unit, *hub_);
        EXPECT_EQ(station->Enroll(*hub_), 0) << unit;
      }
      starting.push_back(station.get());
    }
    std::vector<std::future<bool>> started;
    for (StationDaemon* station : starting) {
      started.push_back(std::async(std::launch::async, [station] { return station->Start(); }));
    }
    for (size_t i = 0; i < starting.size(); ++i) {
      EXPECT_TRUE(started[i].get()) << starting[i]->unit() << " did not start\n"
                                    << Tail(*starting[i]);
    }
  }

  StationDaemon& At(const std::string& unit) { return *stations_.at(unit); }

  std::string RecordsFile(const std::string& unit) const {
    return gen_ / fmt::format("records-{}.jsonl", unit);
  }
  std::vector<Json> RecordsOf(const std::string& unit) const {
    return ReadJsonLines(RecordsFile(unit));
  }
  // The generated records of these units in one file (for one import at the hub).
  std::string RecordsFileOf(const std::vector<std::string>& units) const {
    const std::string path = gen_ / "import.jsonl";
    std::ofstream out(path);
    for (const std::string& unit : units) {
      std::ifstream in(RecordsFile(unit));
      if (in) out << in.rdbuf();
    }
    return path;
  }
  // The first generated record of `unit` in `table`.
  Json FirstRecord(const std::string& unit, const std::string& table) const {
    for (const Json& record : RecordsOf(unit)) {
      if (record["table"] == table && record["id"].get<std::string>().size() != 15) return record;
    }
    ADD_FAILURE() << "no " << table << " record of " << unit;
    return Json();
  }

  // syncctl at `node`, with a bound of kAnswerTimeoutS on each answer (wait-synced and import
  // give their own).
  static testing::CommandResult Ctl(const StationDaemon& node, std::vector<std::string> args) {
    const bool own_timeout = std::find(args.begin(), args.end(), "--timeout") != args.end();
    if (!own_timeout) args.insert(args.end(), {"--timeout", kAnswerTimeoutS});
    return node.Ctl(args);
  }
  // A client of the node's API in this process (a syncctl process costs ~0.3 s under ASan).
  static std::unique_ptr<ApiClient> Client(const StationDaemon& node,
                                           const std::string& actor = "tester") {
    return std::make_unique<ApiClient>(node.api(), kAnswerTimeout, actor);
  }

  // syncctl at several nodes side by side (one process each, at most kCtlParallelMax at a
  // time); the results in the calls' order.
  using Call = std::pair<const StationDaemon*, std::vector<std::string>>;
  static std::vector<testing::CommandResult> CtlAll(const std::vector<Call>& calls) {
    std::vector<testing::CommandResult> results;
    for (size_t first = 0; first < calls.size(); first += kCtlParallelMax) {
      std::vector<std::future<testing::CommandResult>> running;
      for (size_t i = first; i < std::min(calls.size(), first + kCtlParallelMax); ++i) {
        running.push_back(std::async(std::launch::async,
                                     [&call = calls[i]] { return Ctl(*call.first, call.second); }));
      }
      for (auto& result : running) results.push_back(result.get());
    }
    return results;
  }

  static void Import(const StationDaemon& node, const std::string& file) {
    StepTimer timer("import at " + node.unit());
    const auto imported = Ctl(node, {"import", file, "--timeout", kImportTimeoutS});
    ASSERT_EQ(imported.exit_code, 0) << node.unit() << ": " << imported.err;
  }

  static void WaitSynced(const StationDaemon& node) {
    const auto wait = Ctl(node, {"wait-synced", "--timeout", kSyncTimeoutS});
    ASSERT_EQ(wait.exit_code, 0) << node.unit() << ": " << wait.err << "\n" << Tail(node);
  }

  // `syncctl wait-synced` at every running station and at the hub, side by side.
  void WaitAllSynced() {
    StepTimer timer(fmt::format("wait-synced at {} nodes", stations_.size() + 1));
    std::vector<const StationDaemon*> nodes;
    for (auto& [unit, station] : stations_) nodes.push_back(station.get());
    nodes.push_back(hub_.get());
    std::vector<Call> calls;
    for (const StationDaemon* node : nodes) {
      calls.push_back({node, {"wait-synced", "--timeout", kSyncTimeoutS}});
    }
    const auto results = CtlAll(calls);
    for (size_t i = 0; i < nodes.size(); ++i) {
      ASSERT_EQ(results[i].exit_code, 0) << nodes[i]->unit() << ": " << results[i].err << "\n"
                                         << Tail(*nodes[i]);
    }
  }

  static std::vector<std::string> DigestArgs(const std::string& scope) {
    std::vector<std::string> args{"digest", "--json"};
    if (!scope.empty()) args.insert(args.end(), {"--scope", scope});
    return args;
  }

  // A digest from `syncctl digest --json`'s output, or nullopt (and why in `error`).
  static std::optional<Digest> ParseDigest(const StationDaemon& node, const std::string& scope,
                                           const testing::CommandResult& run, std::string* error) {
    const Json json = Json::parse(run.out, nullptr, /*allow_exceptions=*/false);
    if (run.exit_code != 0 || json.is_discarded() || !json.is_object() || !json.contains("scope") ||
        !json.contains("records") || !json.contains("root")) {
      *error =
          fmt::format("{} digest{}: exit {}, out '{}', err '{}'", node.unit(),
                      scope.empty() ? "" : " --scope " + scope, run.exit_code, run.out, run.err);
      return std::nullopt;
    }
    Digest digest;
    digest.scope = json["scope"].get<std::vector<std::string>>();
    digest.records = json["records"].get<uint64_t>();
    digest.root = json["root"].get<std::string>();
    return digest;
  }

  // A node's digest through its API (in-process, for polling): a station's own group (scope
  // empty), or the hub's view of `scope`'s group.
  static std::optional<Digest> QuickDigest(const StationDaemon& node,
                                           const std::string& scope = "") {
    auto digest = Client(node)->Digest(scope);
    if (!digest.ok()) return std::nullopt;
    return Digest{digest->scope, digest->records, digest->root};
  }

  // A group as the hub should see it: its root, its units, and its members running a station.
  struct Expected {
    std::string root;
    std::vector<std::string> group;
    std::vector<std::string> members;
  };

  // Asserts that each member's digest equals the hub's digest of its group and that the group is
  // the expected one. The digests come through the API in-process (a syncctl process costs
  // ~0.3 s under ASan), except the first group's, which come from `syncctl digest --json` at the
  // hub and at its first member, so that the command's contract is checked too. If they differ,
  // says whether they converged later (within a bound), which tells "wait-synced returned too
  // early" from "never converges". Returns the hub's digests by root.
  std::map<std::string, Digest> ExpectConverged(const std::vector<Expected>& groups) {
    StepTimer timer(fmt::format("digests of {} group(s)", groups.size()));
    std::map<std::string, Digest> digests;
    for (const Expected& group : groups) {
      std::optional<Digest> at_hub;
      std::string error;
      std::vector<std::optional<Digest>> at_members;
      std::vector<std::string> sources;  // how each member's digest was read
      if (&group == &groups.front() && !group.members.empty()) {
        const auto results =
            CtlAll({{hub_.get(), DigestArgs(group.root)}, {&At(group.members[0]), DigestArgs("")}});
        at_hub = ParseDigest(*hub_, group.root, results[0], &error);
        at_members.push_back(ParseDigest(At(group.members[0]), "", results[1], &error));
        sources.push_back("syncctl digest --json");
      } else {
        at_hub = QuickDigest(*hub_, group.root);
      }
      for (size_t i = at_members.size(); i < group.members.size(); ++i) {
        at_members.push_back(QuickDigest(At(group.members[i])));
        sources.push_back("through the API");
      }
      EXPECT_TRUE(at_hub.has_value()) << "the hub's digest of " << group.root << ": " << error;
      if (!at_hub) continue;
      digests[group.root] = *at_hub;
      EXPECT_EQ(at_hub->scope, Sorted(group.group)) << ToString(at_hub);
      for (size_t i = 0; i < group.members.size(); ++i) {
        if (at_members[i] == at_hub) continue;
        const StationDaemon& member = At(group.members[i]);
        const auto since = std::chrono::steady_clock::now();
        const bool later = testing::WaitUntil(
            [&] { return QuickDigest(member) == QuickDigest(*hub_, group.root); }, seconds(10));
        const auto after_ms =
            std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - since)
                .count();
        ADD_FAILURE() << member.unit() << "'s digest differs from the hub's digest of "
                      << group.root << "'s group after wait-synced returned 0 ("
                      << (later ? fmt::format("equal {} ms later", after_ms)
                                : "still not equal 10 s later")
                      << ")\n  hub:    " << ToString(at_hub)
                      << "\n  member: " << ToString(at_members[i]) << " (" << sources[i] << ") "
                      << error << "\n"
                      << Tail(member) << Tail(*hub_);
      }
    }
    return digests;
  }
  Digest ExpectGroupConverged(const std::string& root, const std::vector<std::string>& group,
                              const std::vector<std::string>& members) {
    return ExpectConverged({{root, group, members}})[root];
  }

  // Polls until every member's digest equals the hub's digest of `root`'s group.
  bool WaitConverged(const std::string& root, const std::vector<std::string>& members) {
    return testing::WaitUntil(
        [&] {
          const std::optional<Digest> at_hub = QuickDigest(*hub_, root);
          if (!at_hub) return false;
          for (const std::string& member : members) {
            if (QuickDigest(At(member)) != at_hub) return false;
          }
          return true;
        },
        kConvergeTimeout);
  }

  // `syncctl get`: the record as JSON, or null when the node does not hold it (exit 1; other
  // exits fail the test).
  static Json Get(const StationDaemon& node, const std::string& table, const std::string& id,
                  bool remote = false) {
    std::vector<std::string> args{"get", table, id};
    if (remote) args.push_back("--remote");
    const auto get = Ctl(node, args);
    if (get.exit_code == 1) return nullptr;
    EXPECT_EQ(get.exit_code, 0) << node.unit() << " get " << table << " " << id << ": " << get.err;
    const Json record = Json::parse(get.out, nullptr, /*allow_exceptions=*/false);
    return record.is_discarded() ? Json() : record;
  }

  // The owner of the node's copy of a record, through its API (in-process, for many reads);
  // "<absent>" when the node answers that it has none.
  static std::string QuickOwner(const StationDaemon& node, Table table, const std::string& id) {
    auto record = Client(node)->Get(table, id);
    if (record.ok()) return record->owner;
    if (record.status().code() == Code::kNotFound) return "<absent>";
    return "<error: " + record.status().message() + ">";
  }

  static std::string Owner(const Json& record) {
    return record.is_object() ? record.value("owner", "<none>") : "<absent>";
  }
  static std::string Field(const Json& record, const std::string& name) {
    if (!record.is_object() || !record.contains("fields")) return "<absent>";
    return record["fields"].value(name, "<none>");
  }

  static void Put(const StationDaemon& node, const std::string& table, const std::string& id,
                  const std::string& fields) {
    const auto put = Ctl(node, {"put", table, id, fields});
    ASSERT_EQ(put.exit_code, 0) << node.unit() << ": " << put.err;
  }

  static void Run(const StationDaemon& node, const std::vector<std::string>& args) {
    StepTimer timer(fmt::format("syncctl {} at {}", fmt::join(args, " "), node.unit()));
    const auto run = Ctl(node, args);
    ASSERT_EQ(run.exit_code, 0) << node.unit() << " syncctl "
                                << fmt::format("{}", fmt::join(args, " ")) << ": " << run.err
                                << run.out;
  }

  // The fields of the hub's unit record `code` (`unit list --json` prints records).
  Json Unit(const std::string& code) {
    const auto listed = Ctl(*hub_, {"unit", "list", "--json"});
    EXPECT_EQ(listed.exit_code, 0) << listed.err;
    for (const Json& unit : JsonLines(listed.out)) {
      if (unit.value("id", "") == code) return unit.value("fields", Json::object());
    }
    ADD_FAILURE() << "the hub's registry has no unit " << code << ":\n" << listed.out;
    return Json::object();
  }

  // The last lines of a node's log, for failure messages.
  static std::string Tail(const StationDaemon& node, size_t lines = 30) {
    const std::string log = node.Log();
    size_t start = log.size();  // of the last `lines` lines
    for (size_t n = 0; n <= lines && start > 0; ++n) {
      const size_t newline = log.rfind('\n', start - 1);
      start = newline == std::string::npos ? 0 : newline + (n == lines ? 1 : 0);
    }
    return fmt::format("--- {} log (tail) ---\n{}\n", node.unit(), log.substr(start));
  }

  testing::TempDir gen_;
  std::string endpoint_ = FreeTcpEndpoint();
  std::vector<std::string> all_units_;
  std::unique_ptr<StationDaemon> hub_;
  std::map<std::string, std::unique_ptr<StationDaemon>> stations_;
};

const std::vector<std::string> kUrban{kChengli, kNanguan, kBeiguan, kChengguan};

// The 2020 merge of 临朐's four urban stations into 城里 (the others its sub-offices), while
// every member keeps writing: all four end with the same records as the hub's view of the group.
TEST_F(RegroupTest, Linqu2020) {
  ASSERT_NO_FATAL_FAILURE(StartLinqu(kUrban));
  // Each station starts with its own data, imported locally and sent up.
  StartStations(kUrban);
  {
    std::vector<Call> imports;
    for (const std::string& unit : kUrban) {
      imports.push_back({&At(unit), {"import", RecordsFile(unit)}});
    }
    const auto results = CtlAll(imports);
    for (size_t i = 0; i < kUrban.size(); ++i) {
      ASSERT_EQ(results[i].exit_code, 0) << kUrban[i] << ": " << results[i].err;
    }
  }
  ASSERT_NO_FATAL_FAILURE(WaitAllSynced());
  uint64_t records_before = 0;
  std::vector<Expected> alone;
  for (const std::string& unit : kUrban) alone.push_back({unit, {unit}, {unit}});
  for (const auto& [unit, own] : ExpectConverged(alone)) {
    EXPECT_GT(own.records, 100u) << unit;
    records_before += own.records;
  }

  // Writers at every member, before, during and after the merge.
  std::vector<const StationDaemon*> members;
  for (const std::string& unit : kUrban) members.push_back(&At(unit));
  WriteLoad load(members);
  std::map<std::string, int> zero;
  for (const std::string& unit : kUrban) zero[unit] = 0;
  const bool writing = load.WaitForMore(zero, 5);
  const std::map<std::string, int> before_merge = load.Counts();
  const auto merge = Ctl(
      *hub_, {"merge", "--into", kChengli, kNanguan, kBeiguan, kChengguan, "--as", "suboffice"});
  // Writes go on after the merge is accepted, while the members' scopes are backfilled.
  const bool wrote_after = load.WaitForMore(before_merge, 10);
  load.Stop();
  ASSERT_TRUE(writing) << "a writer did not get 5 writes acknowledged before the merge";
  ASSERT_EQ(merge.exit_code, 0) << merge.err << merge.out;
  EXPECT_TRUE(wrote_after) << "a member did not keep acknowledging writes after the merge";
  const std::vector<WriteLoad::Write>& ledger = load.ledger();

  ASSERT_NO_FATAL_FAILURE(WaitAllSynced());
  const Digest group = ExpectGroupConverged(kChengli, kUrban, kUrban);
  // The group holds the four stations' records and every acknowledged write (and perhaps a write
  // whose answer timed out).
  EXPECT_GE(group.records, records_before + ledger.size());
  EXPECT_LE(group.records, records_before + load.attempted());

  // The registry: the three are sub-offices merged into 城里.
  for (const char* member : {kNanguan, kBeiguan, kChengguan}) {
    const Json unit = Unit(member);
    EXPECT_EQ(unit.value("status", ""), "merged") << unit.dump();
    EXPECT_EQ(unit.value("merged_into", ""), kChengli) << unit.dump();
    EXPECT_EQ(unit.value("kind", ""), "suboffice") << unit.dump();
  }

  // Every acknowledged write is at the hub with its value.
  auto hub_client = Client(*hub_);
  size_t missing = 0;
  for (const WriteLoad::Write& write : ledger) {
    auto record = hub_client->Get(Table::kPersonnel, write.id);
    if (!(record.ok() && record->Text("name") && *record->Text("name") == write.name &&
          record->owner == write.unit) &&
        ++missing <= 5) {
      ADD_FAILURE() << "the hub lacks acknowledged write " << write.id;
    }
  }
  EXPECT_EQ(missing, 0u) << "of " << ledger.size() << " acknowledged writes";

  // A record written at any member, and each station's original records, are readable at every
  // member.
  for (const std::string& unit : kUrban) {
    ASSERT_NO_FATAL_FAILURE(Put(At(unit), "personnel", "M" + unit.substr(6, 2) + "-after",
                                R"({"name":"合并后写入","role":"officer"})"));
  }
  ASSERT_NO_FATAL_FAILURE(WaitAllSynced());
  for (const std::string& writer_unit : kUrban) {
    const std::string original = FirstRecord(writer_unit, "registration")["id"];
    const std::string written = "M" + writer_unit.substr(6, 2) + "-after";
    for (const std::string& reader : kUrban) {
      EXPECT_EQ(QuickOwner(At(reader), Table::kPersonnel, written), writer_unit)
          << reader << " lacks the record written at " << writer_unit << " after the merge";
      EXPECT_EQ(QuickOwner(At(reader), Table::kRegistration, original), writer_unit)
          << reader << " lacks " << writer_unit << "'s registration " << original;
    }
  }
  // And `syncctl get` at one member for another member's record.
  EXPECT_EQ(Owner(Get(At(kChengguan), "personnel", "M51-after")), kChengli);
  ExpectGroupConverged(kChengli, kUrban, kUrban);
}

// 大田's 14 stations become 11 groups through three merges; the 8 stations left alone keep
// exactly their records.
TEST_F(RegroupTest, District14to11) {
  const std::vector<std::string> stations =
      Generate(syncgen::Profile::kDistrict, kDistrictSeed, kDistrictScale);
  ASSERT_EQ(stations.size(), 14u);
  ASSERT_NO_FATAL_FAILURE(StartHub(stations));
  // The bureau's records are imported at headquarters; each station gets its scope by snapshot.
  ASSERT_NO_FATAL_FAILURE(Import(*hub_, RecordsFileOf(all_units_)));
  StartStations(stations);
  ASSERT_NO_FATAL_FAILURE(WaitAllSynced());
  std::vector<Expected> alone;
  for (const std::string& unit : stations) alone.push_back({unit, {unit}, {unit}});
  const std::map<std::string, Digest> before = ExpectConverged(alone);
  ASSERT_EQ(before.size(), stations.size());

  // Three merges: two plain, one as a sub-office.
  const std::vector<std::vector<std::string>> merges{
      {stations[0], stations[1]}, {stations[4], stations[5]}, {stations[9], stations[12]}};
  ASSERT_NO_FATAL_FAILURE(Run(*hub_, {"merge", "--into", merges[0][0], merges[0][1]}));
  ASSERT_NO_FATAL_FAILURE(
      Run(*hub_, {"merge", "--into", merges[1][0], merges[1][1], "--as", "suboffice"}));
  ASSERT_NO_FATAL_FAILURE(Run(*hub_, {"merge", "--into", merges[2][0], merges[2][1]}));
  ASSERT_NO_FATAL_FAILURE(WaitAllSynced());

  std::vector<Expected> expected;
  std::set<std::string> merged;
  for (const auto& group : merges) {
    expected.push_back({group[0], group, group});
    merged.insert(group.begin(), group.end());
  }
  for (const std::string& unit : stations) {
    if (!merged.contains(unit)) expected.push_back({unit, {unit}, {unit}});
  }
  const std::map<std::string, Digest> after = ExpectConverged(expected);
  ASSERT_EQ(after.size(), 11u);
  std::set<std::vector<std::string>> groups;
  for (const auto& [root, digest] : after) {
    groups.insert(digest.scope);
    if (merged.contains(root)) {
      uint64_t records = 0;
      for (const std::string& unit : digest.scope) records += before.at(unit).records;
      EXPECT_EQ(digest.records, records) << "the group of " << root;
    } else {
      EXPECT_EQ(digest, before.at(root)) << root << " was not merged: its records must not change";
    }
  }
  EXPECT_EQ(groups.size(), 11u);
}

// A member is down during its merge (one stopped before it, one killed right after the merge
// is accepted, with its backfill under way); both converge once back.
TEST_F(RegroupTest, OfflineMember) {
  ASSERT_NO_FATAL_FAILURE(StartLinqu(kUrban));
  ASSERT_NO_FATAL_FAILURE(Import(*hub_, RecordsFileOf(kUrban)));
  StartStations(kUrban);
  ASSERT_NO_FATAL_FAILURE(WaitAllSynced());

  ASSERT_EQ(At(kChengguan).Stop(), 0);  // offline through the whole merge
  ASSERT_NO_FATAL_FAILURE(
      Run(*hub_, {"merge", "--into", kChengli, kNanguan, kBeiguan, kChengguan}));
  At(kBeiguan).Kill();  // mid-backfill
  // While they are down, the group changes: a write at a member and one at the hub.
  ASSERT_NO_FATAL_FAILURE(
      Put(At(kChengli), "personnel", "OFF-510", R"({"name":"离线期间写入","role":"officer"})"));
  const Json nanguan_case = FirstRecord(kNanguan, "case");
  ASSERT_NO_FATAL_FAILURE(
      Put(*hub_, "case", nanguan_case["id"], R"({"notes":"合并期间总部批注"})"));
  ASSERT_NO_FATAL_FAILURE(WaitSynced(At(kChengli)));
  ASSERT_NO_FATAL_FAILURE(WaitSynced(At(kNanguan)));
  EXPECT_TRUE(WaitConverged(kChengli, {kChengli, kNanguan}))
      << "the members online converge while two are down";

  StartStations({kBeiguan, kChengguan});
  ASSERT_NO_FATAL_FAILURE(WaitAllSynced());
  ExpectGroupConverged(kChengli, kUrban, kUrban);
  for (const char* unit : {kBeiguan, kChengguan}) {
    EXPECT_EQ(Owner(Get(At(unit), "personnel", "OFF-510")), kChengli) << unit;
    EXPECT_EQ(Field(Get(At(unit), "case", nanguan_case["id"]), "notes"), "合并期间总部批注")
        << unit;
  }
}

// A case handed from the patrol unit (records only at the hub) to 城里, and residents moving
// between 城里 and 南关 with the old or the new owner's station offline at the time.
TEST_F(RegroupTest, Transfer) {
  ASSERT_NO_FATAL_FAILURE(StartLinqu({kChengli, kNanguan}));
  ASSERT_NO_FATAL_FAILURE(Import(*hub_, RecordsFileOf({kPatrol, kChengli, kNanguan})));
  StartStations({kChengli, kNanguan});
  StationDaemon& chengli = At(kChengli);
  StationDaemon& nanguan = At(kNanguan);
  ASSERT_NO_FATAL_FAILURE(WaitAllSynced());
  auto expect_scopes_converged = [&] {
    ExpectConverged({{kChengli, {kChengli}, {kChengli}}, {kNanguan, {kNanguan}, {kNanguan}}});
  };
  // The hub's history of a record holds an entry changing its owner from `from` to `to`.
  auto expect_owner_change = [&](const std::string& table, const std::string& id,
                                 const std::string& from, const std::string& to) {
    const auto history = Ctl(*hub_, {"history", table, id});
    ASSERT_EQ(history.exit_code, 0) << history.err;
    bool found = false;
    for (const Json& entry : JsonLines(history.out)) {
      const Json changes = entry.value("changes", Json::object());
      if (changes.contains("owner") && changes["owner"].value("old", Json()) == from &&
          changes["owner"].value("new", Json()) == to) {
        found = true;
      }
    }
    EXPECT_TRUE(found) << "no owner change " << from << " -> " << to << " in the hub's history of "
                       << table << " " << id << ":\n"
                       << history.out;
  };

  // 1. A case from the patrol unit to 城里: it enters 城里's replica.
  const std::string patrol_case = FirstRecord(kPatrol, "case")["id"];
  ASSERT_TRUE(Get(chengli, "case", patrol_case).is_null()) << "outside 城里's scope before";
  ASSERT_NO_FATAL_FAILURE(Run(*hub_, {"transfer", "case", patrol_case, "--to", kChengli}));
  ASSERT_NO_FATAL_FAILURE(WaitAllSynced());
  EXPECT_EQ(Owner(Get(chengli, "case", patrol_case)), kChengli);
  EXPECT_EQ(Owner(Get(*hub_, "case", patrol_case)), kChengli);
  EXPECT_TRUE(Get(nanguan, "case", patrol_case).is_null());
  expect_owner_change("case", patrol_case, kPatrol, kChengli);
  expect_scopes_converged();

  // 2. A resident moves from 城里 to 南关 while 城里 (the old owner) is offline: 南关 gets the
  //    record at once, 城里 drops it when it is back (and can still look it up at the hub).
  const std::string leaving = FirstRecord(kChengli, "registration")["id"];
  ASSERT_EQ(Owner(Get(chengli, "registration", leaving)), kChengli);
  ASSERT_EQ(chengli.Stop(), 0);
  ASSERT_NO_FATAL_FAILURE(Run(*hub_, {"transfer", "registration", leaving, "--to", kNanguan}));
  ASSERT_NO_FATAL_FAILURE(WaitSynced(nanguan));
  EXPECT_TRUE(testing::WaitUntil(
      [&] { return QuickOwner(nanguan, Table::kRegistration, leaving) == kNanguan; }, seconds(30)))
      << "南关 did not receive the resident moving in";
  StartStation(kChengli);
  ASSERT_NO_FATAL_FAILURE(WaitAllSynced());
  EXPECT_EQ(Owner(Get(nanguan, "registration", leaving)), kNanguan);
  EXPECT_TRUE(Get(chengli, "registration", leaving).is_null())
      << "城里 still holds the resident who moved to 南关";
  EXPECT_EQ(Owner(Get(chengli, "registration", leaving, /*remote=*/true)), kNanguan)
      << "城里 looks the resident up at the hub";
  expect_owner_change("registration", leaving, kChengli, kNanguan);
  expect_scopes_converged();

  // 3. A resident moves from 南关 to 城里 while 城里 (the new owner) is offline.
  const std::string arriving = FirstRecord(kNanguan, "registration")["id"];
  ASSERT_EQ(Owner(Get(nanguan, "registration", arriving)), kNanguan);
  ASSERT_EQ(chengli.Stop(), 0);
  ASSERT_NO_FATAL_FAILURE(Run(*hub_, {"transfer", "registration", arriving, "--to", kChengli}));
  ASSERT_NO_FATAL_FAILURE(WaitSynced(nanguan));
  EXPECT_TRUE(testing::WaitUntil(
      [&] { return QuickOwner(nanguan, Table::kRegistration, arriving) == "<absent>"; },
      seconds(30)))
      << "南关 still holds the resident who moved to 城里";
  StartStation(kChengli);
  ASSERT_NO_FATAL_FAILURE(WaitAllSynced());
  EXPECT_EQ(Owner(Get(chengli, "registration", arriving)), kChengli);
  EXPECT_TRUE(Get(nanguan, "registration", arriving).is_null());
  expect_owner_change("registration", arriving, kNanguan, kChengli);
  expect_scopes_converged();
}

// A merge undone for one member: each side holds exactly the hub's view of its new scope.
TEST_F(RegroupTest, Unmerge) {
  const std::vector<std::string> three{kChengli, kNanguan, kBeiguan};
  ASSERT_NO_FATAL_FAILURE(StartLinqu(three));
  ASSERT_NO_FATAL_FAILURE(Import(*hub_, RecordsFileOf(three)));
  StartStations(three);
  ASSERT_NO_FATAL_FAILURE(WaitAllSynced());
  const Digest beiguan_alone = ExpectGroupConverged(kBeiguan, {kBeiguan}, {kBeiguan});

  ASSERT_NO_FATAL_FAILURE(
      Run(*hub_, {"merge", "--into", kChengli, kNanguan, kBeiguan, "--as", "suboffice"}));
  ASSERT_NO_FATAL_FAILURE(WaitAllSynced());
  ExpectGroupConverged(kChengli, three, three);
  const std::string chengli_resident = FirstRecord(kChengli, "registration")["id"];
  const std::string beiguan_resident = FirstRecord(kBeiguan, "registration")["id"];
  ASSERT_EQ(Owner(Get(At(kBeiguan), "registration", chengli_resident)), kChengli);

  ASSERT_NO_FATAL_FAILURE(Run(*hub_, {"unmerge", kBeiguan}));
  ASSERT_NO_FATAL_FAILURE(WaitAllSynced());
  EXPECT_EQ(Unit(kBeiguan).value("status", ""), "active") << Unit(kBeiguan).dump();
  const Digest alone = ExpectGroupConverged(kBeiguan, {kBeiguan}, {kBeiguan});
  EXPECT_EQ(alone, beiguan_alone) << "北关 holds its own records again, and only those";
  ExpectGroupConverged(kChengli, {kChengli, kNanguan}, {kChengli, kNanguan});
  EXPECT_TRUE(Get(At(kBeiguan), "registration", chengli_resident).is_null())
      << "北关 still holds 城里's records after the unmerge";
  EXPECT_TRUE(Get(At(kChengli), "registration", beiguan_resident).is_null())
      << "城里 still holds 北关's records after the unmerge";
  EXPECT_TRUE(Get(At(kNanguan), "registration", beiguan_resident).is_null());
  EXPECT_EQ(Owner(Get(At(kNanguan), "registration", chengli_resident)), kChengli);
}

// A member unmerged while it was offline and writing other members' records (issue 13): the
// writes were acknowledged under the scope it held, so the hub keeps them and they reach the
// records' owners; only then does the member drop those records.
TEST_F(RegroupTest, AMemberUnmergedWhileOfflineKeepsItsWritesToOtherMembers) {
  const std::vector<std::string> three{kChengli, kNanguan, kBeiguan};
  ASSERT_NO_FATAL_FAILURE(StartLinqu(three));
  ASSERT_NO_FATAL_FAILURE(Import(*hub_, RecordsFileOf(three)));
  StartStations(three);
  ASSERT_NO_FATAL_FAILURE(
      Run(*hub_, {"merge", "--into", kChengli, kNanguan, kBeiguan, "--as", "suboffice"}));
  ASSERT_NO_FATAL_FAILURE(WaitAllSynced());
  const std::string chengli_resident = FirstRecord(kChengli, "registration")["id"];
  const std::string nanguan_officer = FirstRecord(kNanguan, "personnel")["id"];
  ASSERT_EQ(Owner(Get(At(kBeiguan), "registration", chengli_resident)), kChengli);

  // 北关 writes 城里's and 南关's records while the hub is away; the hub unmerges it meanwhile.
  ASSERT_EQ(hub_->Stop(), 0);
  ASSERT_NO_FATAL_FAILURE(
      Put(At(kBeiguan), "registration", chengli_resident, R"({"address":"离线时北关改的地址"})"));
  ASSERT_NO_FATAL_FAILURE(
      Put(At(kBeiguan), "personnel", nanguan_officer, R"({"phone":"0536-1234567"})"));
  ASSERT_EQ(At(kBeiguan).Stop(), 0);
  ASSERT_TRUE(hub_->Start()) << hub_->Log();
  ASSERT_NO_FATAL_FAILURE(Run(*hub_, {"unmerge", kBeiguan}));
  StartStation(kBeiguan);
  ASSERT_NO_FATAL_FAILURE(WaitAllSynced());

  for (const StationDaemon* node : {hub_.get(), &At(kChengli), &At(kNanguan)}) {
    EXPECT_EQ(Field(Get(*node, "registration", chengli_resident), "address"), "离线时北关改的地址")
        << node->unit() << " lacks 北关's acknowledged write to 城里's resident";
    EXPECT_EQ(Field(Get(*node, "personnel", nanguan_officer), "phone"), "0536-1234567")
        << node->unit() << " lacks 北关's acknowledged write to 南关's officer";
  }
  EXPECT_TRUE(Get(At(kBeiguan), "registration", chengli_resident).is_null())
      << "北关 still holds 城里's records after the unmerge";
  ExpectGroupConverged(kBeiguan, {kBeiguan}, {kBeiguan});
  ExpectGroupConverged(kChengli, {kChengli, kNanguan}, {kChengli, kNanguan});
}

// Merging by meaning across processes: 城里 and 南关 (one group) both hold a case of 城里's; with
// the hub away, each adds a different person to its `involved` list, appends a note and moves its
// status on. After the hub is back, both persons and both notes are at the hub and at both
// stations, and the status is the further of the two.
TEST_F(RegroupTest, TwoMembersOfflineAddToOneCaseAndBothAdditionsSurvive) {
  const std::vector<std::string> two{kChengli, kNanguan};
  ASSERT_NO_FATAL_FAILURE(StartLinqu(two));
  ASSERT_NO_FATAL_FAILURE(Import(*hub_, RecordsFileOf(two)));
  StartStations(two);
  ASSERT_NO_FATAL_FAILURE(Run(*hub_, {"merge", "--into", kChengli, kNanguan, "--as", "suboffice"}));
  ASSERT_NO_FATAL_FAILURE(WaitAllSynced());
  const std::string case_id = FirstRecord(kChengli, "case")["id"];
  const std::string chengli_person = FirstRecord(kChengli, "registration")["id"];
  const std::string nanguan_person = FirstRecord(kNanguan, "registration")["id"];
  const Json before = Get(At(kNanguan), "case", case_id);
  ASSERT_TRUE(before.is_object()) << "南关 does not hold 城里's case " << case_id;
  const Json held = before["fields"].value("involved", Json::array());
  const std::string notes = before["fields"].value("notes", Json()).is_string()
                                ? before["fields"]["notes"].get<std::string>()
                                : std::string();

  ASSERT_EQ(hub_->Stop(), 0);
  auto write = [&](const std::string& unit, const std::string& person, const std::string& note,
                   const std::string& status) {
    Json involved = held;
    involved.push_back(person);
    const Json fields{{"involved", involved}, {"notes", notes + note}, {"status", status}};
    ASSERT_NO_FATAL_FAILURE(Put(At(unit), "case", case_id, fields.dump()));
  };
  ASSERT_NO_FATAL_FAILURE(write(kChengli, chengli_person, "\n城里：嫌疑人甲到案。", "closed"));
  ASSERT_NO_FATAL_FAILURE(write(kNanguan, nanguan_person, "\n南关：走访证人乙。", "investigating"));
  // An append-only field refuses a write that drops what it holds, naming the field.
  const auto shortened = Ctl(At(kNanguan), {"put", "case", case_id, R"({"notes":"重写"})"});
  EXPECT_EQ(shortened.exit_code, 2) << shortened.err;
  EXPECT_NE(shortened.err.find("field notes: is append-only"), std::string::npos) << shortened.err;
  ASSERT_TRUE(hub_->Start()) << hub_->Log();
  ASSERT_NO_FATAL_FAILURE(WaitAllSynced());

  const Json at_hub = Get(*hub_, "case", case_id);
  for (const StationDaemon* node : {hub_.get(), &At(kChengli), &At(kNanguan)}) {
    const Json record = Get(*node, "case", case_id);
    const Json involved = record["fields"]["involved"];
    for (const std::string& person : {chengli_person, nanguan_person}) {
      EXPECT_NE(std::find(involved.begin(), involved.end(), person), involved.end())
          << node->unit() << " lost " << person << " from involved: " << involved;
    }
    const std::string merged = record["fields"]["notes"];
    EXPECT_TRUE(merged.starts_with(notes)) << node->unit() << ": " << merged;
    EXPECT_NE(merged.find("城里：嫌疑人甲到案。"), std::string::npos) << node->unit() << merged;
    EXPECT_NE(merged.find("南关：走访证人乙。"), std::string::npos) << node->unit() << merged;
    EXPECT_EQ(record["fields"]["status"], "closed") << node->unit();
    EXPECT_EQ(record["fields"], at_hub["fields"]) << node->unit() << " differs from the hub";
  }
  ExpectGroupConverged(kChengli, two, two);
}

}  // namespace
}  // namespace stationsync
