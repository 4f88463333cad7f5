// syncctl check: the domain checks (sync/admin/domain_check.h) on hand-made records, the external
// sort under them, and the command end to end at a real hub on syncgen data, where it must report
// every planted problem with the right kind and nothing else.
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "sync/admin/domain_check.h"
#include "sync/admin/sorted_scratch.h"
#include "tools/common/temp_dir.h"
#include "tools/syncgen/generator.h"

#include "tests/support/process.h"

namespace stationsync {
namespace {

using Json = nlohmann::json;
using testing::StationDaemon;

TEST(SortedScratchTest, PartsRoundTripAndEntriesComeBackInKeyOrder) {
  TempDir dir;
  auto scratch = SortedScratch::Create(dir.path());
  ASSERT_TRUE(scratch.ok()) << scratch.status().message();
  // Enough entries to fill several buffers.
  for (int i = 2999; i >= 0; --i) {
    std::string key;
    AppendKeyPart(key, i % 2 == 0 ? "A" : "B");
    AppendKeyPart(key, fmt::format("{:05}", i));
    AppendKeyPart(key, std::string(300, 'x'));
    ASSERT_TRUE((*scratch)->Add(key, std::to_string(i)).ok());
  }
  std::vector<std::string> seen;
  ASSERT_TRUE((*scratch)
                  ->Scan([&](std::string_view key, std::string_view value) {
                    auto parts = SplitKeyParts(key);
                    ASSERT_TRUE(parts.ok());
                    ASSERT_EQ(parts->size(), 3u);
                    EXPECT_EQ(std::stoi(std::string((*parts)[1])), std::stoi(std::string(value)));
                    seen.push_back(fmt::format("{}/{}", (*parts)[0], (*parts)[1]));
                  })
                  .ok());
  ASSERT_EQ(seen.size(), 3000u);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_EQ(seen.front(), "A/00000");
  EXPECT_EQ(seen.back(), "B/02999");
  EXPECT_FALSE(SplitKeyParts(std::string("\0\0\0\5ab", 6)).ok());
}

TEST(SortedScratchTest, ItsDirectoryIsGoneWhenItIs) {
  TempDir dir;
  {
    auto scratch = SortedScratch::Create(dir.path());
    ASSERT_TRUE(scratch.ok());
    ASSERT_TRUE((*scratch)->Add("k", "v").ok());
    ASSERT_FALSE(std::filesystem::is_empty(dir.path()));
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

Record Make(Table table, std::string id, std::string owner,
            std::map<std::string, Value> fields = {}) {
  Record record;
  record.table = table;
  record.id = std::move(id);
  record.owner = std::move(owner);
  for (auto& [name, value] : fields) record.fields[name].value = std::move(value);
  return record;
}

Record Unit(std::string code, std::string status = "active") {
  return Make(Table::kUnit, std::move(code), "HUB", {{"status", Value(std::move(status))}});
}

Record Resident(std::string id, std::string owner, std::string name, std::string household,
                std::string relation, std::string status = "active") {
  return Make(Table::kRegistration, std::move(id), std::move(owner),
              {{"name", Value(std::move(name))},
               {"sex", Value("male")},
               {"birth_date", Value("1980-05-01")},
               {"household", Value(std::move(household))},
               {"relation", Value(std::move(relation))},
               {"status", Value(std::move(status))}});
}

// The problems a check reports, as "kind: table/id table/id".
class DomainCheckTest : public ::testing::Test {
 protected:
  std::vector<std::string> Run(const std::vector<Record>& records,
                               DomainCheckOptions options = {}) {
    auto scratch = SortedScratch::Create(dir_.path());
    EXPECT_TRUE(scratch.ok());
    std::vector<std::string> found;
    const std::vector<Record> units = {Unit("HUB"), Unit("S1"), Unit("S2"), Unit("OLD", "retired"),
                                       Unit("M1", "merged")};
    DomainCheck check(**scratch, units, std::move(options), [&](const DomainProblem& p) {
      std::string line = p.kind + ":";
      for (const RecordRef& r : p.records) line += fmt::format(" {}/{}", TableName(r.table), r.id);
      found.push_back(line);
      EXPECT_FALSE(p.detail.empty());
    });
    for (const Record& record : records) EXPECT_TRUE(check.Add(record).ok());
    EXPECT_TRUE(check.Finish().ok());
    std::sort(found.begin(), found.end());
    return found;
  }
  TempDir dir_;
};

TEST_F(DomainCheckTest, ACleanDataSetHasNoProblems) {
  const std::vector<Record> records = {
      Resident("370724198005010011", "S1", "王伟", "H1", "head"),
      Resident("370724198005010038", "S1", "李娜", "H1", "spouse"),
      // Same name, sex and birth date, another county: another person.
      Resident("370725198005010019", "S2", "王伟", "H2", "head"),
      Make(Table::kPersonnel, "P001", "S1", {{"name", Value("张三")}}),
      Make(Table::kCase, "C1", "M1",
           {{"lead_officer", Value("P001")},
            {"involved", Value(std::vector<std::string>{"370724198005010011"})}}),
  };
  EXPECT_EQ(Run(records), std::vector<std::string>{});
}

TEST_F(DomainCheckTest, FindsEveryKind) {
  const std::vector<Record> records = {
      // One person under two numbers, in two households of two stations (一人多户).
      Resident("370724198005010011", "S1", "王伟", "H1", "head"),
      Resident("370724198005010054", "S2", "王伟", "H2", "head"),
      // A household whose members include no head; one with two.
      Resident("370724199001010012", "S1", "赵一", "H3", "spouse"),
      Resident("370724199101010013", "S1", "赵二", "H3", "child"),
      Resident("370724199201010014", "S2", "钱一", "H4", "head"),
      Resident("370724199301010015", "S2", "钱二", "H4", "head"),
      // A case with a dangling lead officer and a dangling involved number, owned by no unit.
      Make(Table::kCase, "C1", "GONE",
           {{"lead_officer", Value("P404")},
            {"involved",
             Value(std::vector<std::string>{"370724198005010011", "370724200001010016"})}}),
      // A record of a retired unit.
      Make(Table::kPersonnel, "P002", "OLD", {{"name", Value("孙五")}}),
  };
  EXPECT_EQ(Run(records),
            (std::vector<std::string>{
                "dangling_involved: case/C1",
                "dangling_lead_officer: case/C1",
                "duplicate_person: registration/370724198005010011 registration/370724198005010054",
                "household_multiple_heads: registration/370724199201010014 "
                "registration/370724199301010015",
                "household_without_head: registration/370724199001010012 "
                "registration/370724199101010013",
                "unknown_owner: case/C1",
                "unknown_owner: personnel/P002",
            }));
}

TEST_F(DomainCheckTest, CancelledRegistrationsAndTombstonesAreLeftOut) {
  Record gone = Resident("370724198005010054", "S2", "王伟", "H2", "head");
  gone.deleted = true;
  const std::vector<Record> records = {
      Resident("370724198005010011", "S1", "王伟", "H1", "head"),
      Resident("370724198005010070", "S1", "王伟", "H9", "head", "cancelled"),
      gone,
      Resident("370724198005010089", "S1", "周七", "H1", "head", "cancelled"),
  };
  EXPECT_EQ(Run(records), std::vector<std::string>{});
}

TEST_F(DomainCheckTest, AScopeReportsOnlyProblemsTouchingItsRecords) {
  const std::vector<Record> records = {
      Resident("370724198005010011", "S1", "王伟", "H1", "head"),
      Resident("370724198005010054", "S2", "王伟", "H2", "head"),
      Resident("370724199201010014", "S2", "钱一", "H4", "head"),
      Resident("370724199301010015", "S2", "钱二", "H4", "head"),
      Make(Table::kCase, "C1", "S2", {{"lead_officer", Value("P404")}}),
      // Resolved by a record outside the scope: still resolved.
      Make(Table::kPersonnel, "P001", "S2", {{"name", Value("张三")}}),
      Make(Table::kCase, "C2", "S1", {{"lead_officer", Value("P001")}}),
  };
  EXPECT_EQ(Run(records, {{"S1"}, true}),
            (std::vector<std::string>{
                "duplicate_person: registration/370724198005010011 registration/370724198005010054",
            }));
  DomainCheckOptions without_references{{}, false};
  for (const std::string& line : Run(records, without_references)) {
    EXPECT_FALSE(line.starts_with("dangling")) << line;
  }
}

// --- end to end: a hub holding a syncgen data set -------------------------------------------

std::vector<Json> ReadJsonLines(const std::string& path) {
  std::vector<Json> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(Json::parse(line));
  }
  return lines;
}

// "kind: table/id table/id" with the records sorted: comparable across planted and found.
std::string Signature(const std::string& kind, const Json& records) {
  std::vector<std::string> refs;
  for (const Json& r : records) {
    refs.push_back(fmt::format("{}/{}", r["table"].get<std::string>(), r["id"].get<std::string>()));
  }
  std::sort(refs.begin(), refs.end());
  return fmt::format("{}: {}", kind, fmt::join(refs, " "));
}

// The check's name for each planted kind (planted.h).
std::string CheckKind(const std::string& planted_kind) {
  if (planted_kind == "duplicate_household" || planted_kind == "legacy_and_new_id") {
    return "duplicate_person";
  }
  return planted_kind;
}

class CheckCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const syncgen::Options options{syncgen::Profile::kLinqu, 7, 0.02};
    auto summary = syncgen::RunSyncgen(options, syncgen::DefaultDivisionsPath(), gen_.path());
    ASSERT_TRUE(summary.ok()) << summary.status().message();
    hub_ = StationDaemon::Hub(FreeTcpEndpoint());
    ASSERT_TRUE(hub_->Start()) << hub_->Log();
    // Units first (one import: all or nothing), then every records file.
    std::ofstream all(gen_ / "all.jsonl");
    for (const auto& entry : std::filesystem::directory_iterator(gen_.path())) {
      const std::string name = entry.path().filename().string();
      if (!name.starts_with("records-")) continue;
      std::ifstream in(entry.path());
      all << in.rdbuf();
    }
    all.close();
    for (const char* file : {"units.jsonl", "all.jsonl"}) {
      const auto imported = hub_->Ctl({"import", gen_ / file, "--timeout", "120"});
      ASSERT_EQ(imported.exit_code, 0) << imported.err;
    }
  }
  void TearDown() override {
    if (station_ && station_->process()) {
      EXPECT_EQ(station_->Stop(), 0) << station_->Log();
    }
    if (hub_ && hub_->process()) {
      EXPECT_EQ(hub_->Stop(), 0) << hub_->Log();
    }
  }

  // The planted problems whose records include one of `owners`' (all when empty); with
  // `all_owned`, those whose records are all `owners`'.
  std::multiset<std::string> Planted(const std::set<std::string>& owners = {},
                                     bool all_owned = false) {
    std::map<std::string, std::string> owner_of;  // "table/id" -> owner
    for (const auto& entry : std::filesystem::directory_iterator(gen_.path())) {
      if (!entry.path().filename().string().starts_with("records-")) continue;
      for (const Json& r : ReadJsonLines(entry.path())) {
        owner_of[fmt::format("{}/{}", r["table"].get<std::string>(), r["id"].get<std::string>())] =
            r["owner"];
      }
    }
    std::multiset<std::string> planted;
    for (const Json& p : ReadJsonLines(gen_ / "planted.jsonl")) {
      size_t owned = 0;
      for (const Json& r : p["records"]) {
        const auto it = owner_of.find(
            fmt::format("{}/{}", r["table"].get<std::string>(), r["id"].get<std::string>()));
        owned += it != owner_of.end() && owners.contains(it->second) ? 1 : 0;
      }
      const bool wanted = owners.empty() || (all_owned ? owned == p["records"].size() : owned > 0);
      if (wanted) planted.insert(Signature(CheckKind(p["kind"]), p["records"]));
    }
    return planted;
  }

  // Runs syncctl check --json at `node` (the hub when null); the problems found, and the
  // summary line.
  std::multiset<std::string> Check(std::vector<std::string> args, Json* summary, int* exit_code,
                                   const StationDaemon* node = nullptr) {
    args.insert(args.begin(), {"check", "--json", "--scratch", scratch_.path()});
    const auto run = (node ? node : hub_.get())->Ctl(args);
    *exit_code = run.exit_code;
    std::multiset<std::string> found;
    std::istringstream out(run.out);
    for (std::string line; std::getline(out, line);) {
      const Json json = Json::parse(line);
      if (json.contains("kind")) {
        found.insert(Signature(json["kind"], json["records"]));
        EXPECT_FALSE(json["detail"].get<std::string>().empty()) << line;
      } else {
        *summary = json;
      }
    }
    EXPECT_TRUE(std::filesystem::is_empty(scratch_.path())) << "the scratch store was left behind";
    return found;
  }

  TempDir gen_;
  TempDir scratch_;
  std::unique_ptr<StationDaemon> hub_;
  std::unique_ptr<StationDaemon> station_;
};

TEST_F(CheckCommandTest, ReportsEveryPlantedProblemAndNothingElse) {
  const std::multiset<std::string> planted = Planted();
  std::set<std::string> kinds;
  for (const std::string& p : planted) kinds.insert(p.substr(0, p.find(':')));
  ASSERT_EQ(kinds.size(), 6u) << "syncgen plants every kind";

  Json summary;
  int exit_code = 0;
  const auto found = Check({}, &summary, &exit_code);
  EXPECT_EQ(exit_code, 1);
  EXPECT_EQ(found, planted);
  EXPECT_EQ(summary["problems"], planted.size()) << summary.dump();
  EXPECT_GT(summary["records"].get<size_t>(), 1000u) << summary.dump();
  EXPECT_EQ(summary["skipped"], Json::array());
  size_t by_kind = 0;
  for (const auto& [kind, n] : summary["by_kind"].items()) by_kind += n.get<size_t>();
  EXPECT_EQ(by_kind, planted.size());
}

constexpr char kChengli[] = "370724510000";

TEST_F(CheckCommandTest, AScopeReportsItsGroupsProblemsAndAnUnknownScopeIsAnError) {
  Json summary;
  int exit_code = 0;
  const auto found = Check({"--scope", kChengli}, &summary, &exit_code);
  const auto planted = Planted({kChengli});
  ASSERT_FALSE(planted.empty());
  EXPECT_EQ(exit_code, 1);
  EXPECT_EQ(found, planted);

  const auto unknown = hub_->Ctl({"check", "--scope", "NOSUCHUNIT"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("NOSUCHUNIT"), std::string::npos) << unknown.err;
}

// A station holds only its scope and no registry: it reports the problems wholly inside its scope
// and skips the dangling checks (their targets may be another scope's records) and unknown owners.
TEST_F(CheckCommandTest, AStationChecksItsScopeAndSkipsDanglingReferences) {
  station_ = StationDaemon::Station(kChengli, *hub_);
  ASSERT_EQ(station_->Enroll(*hub_), 0);
  ASSERT_TRUE(station_->Start()) << station_->Log();
  const auto synced = station_->Ctl({"wait-synced", "--timeout", "60"});
  ASSERT_EQ(synced.exit_code, 0) << synced.out << synced.err;

  std::multiset<std::string> expected;
  for (const std::string& p : Planted({kChengli}, /*all_owned=*/true)) {
    if (!p.starts_with("dangling_") && !p.starts_with("unknown_owner")) expected.insert(p);
  }
  ASSERT_FALSE(expected.empty());
  Json summary;
  int exit_code = 0;
  const auto found = Check({}, &summary, &exit_code, station_.get());
  EXPECT_EQ(exit_code, 1);
  EXPECT_EQ(found, expected);
  EXPECT_EQ(summary["skipped"],
            Json::array({"dangling_lead_officer", "dangling_involved", "unknown_owner"}));
  const auto other = station_->Ctl({"check", "--scope", "370724520000"});
  EXPECT_EQ(other.exit_code, 2) << other.err;
}

}  // namespace
}  // namespace stationsync
