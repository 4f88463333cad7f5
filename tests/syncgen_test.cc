// Tests of syncgen (tools/syncgen): same arguments give the same bytes, every written record is
// valid as an import line, the planted problems are really there and nothing else is wrong, and
// --scale scales. Generates in-process at small scales into temporary directories.
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "sync/records/id_number.h"
#include "sync/records/local_write.h"
#include "sync/records/record_json.h"
#include "tools/syncgen/generator.h"

#include "tests/support/process.h"

namespace stationsync::syncgen {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using TempDir = ::stationsync::testing::TempDir;

constexpr double kSmall = 0.01;
constexpr Profile kProfiles[] = {Profile::kLinqu, Profile::kDistrict, Profile::kNaiman};

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> Lines(const fs::path& path) {
  std::vector<std::string> lines;
  std::istringstream in(ReadFile(path));
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Every file of a directory by name, with its bytes.
std::map<std::string, std::string> Files(const fs::path& dir) {
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    files[entry.path().filename().string()] = ReadFile(entry.path());
  }
  return files;
}

Summary GenerateInto(Profile profile, uint64_t seed, double scale, const std::string& dir) {
  const Options options{profile, seed, scale};
  auto summary = RunSyncgen(options, DefaultDivisionsPath(), dir);
  EXPECT_TRUE(summary.ok()) << summary.status().message();
  return summary.ok() ? *summary : Summary{};
}

// What a run wrote, parsed: records by table and canonical id, plus the planted problems.
struct Output {
  std::map<std::string, Json> registrations;  // by 18-digit id
  std::map<std::string, Json> personnel;
  std::map<std::string, Json> cases;
  std::set<std::string> written_ids;  // registration ids exactly as written
  std::set<std::string> units;        // unit codes of units.jsonl
  std::vector<Json> planted;
};

Output Parse(const fs::path& dir) {
  Output out;
  for (const auto& [name, text] : Files(dir)) {
    if (!name.starts_with("records-")) continue;
    for (const std::string& line : Lines(dir / name)) {
      Json record = Json::parse(line);
      const std::string table = record["table"];
      std::string id = record["id"];
      if (table == "registration") {
        out.written_ids.insert(id);
        auto parsed = ParseIdNumber(id);
        EXPECT_TRUE(parsed.ok()) << id;
        if (parsed.ok()) id = parsed->digits;
      }
      auto& by_id = table == "registration" ? out.registrations
                    : table == "personnel"  ? out.personnel
                                            : out.cases;
      EXPECT_TRUE(by_id.emplace(id, record).second) << "duplicate " << table << " id " << id;
    }
  }
  for (const std::string& line : Lines(dir / "planted.jsonl"))
    out.planted.push_back(Json::parse(line));
  for (const std::string& line : Lines(dir / "units.jsonl"))
    out.units.insert(Json::parse(line)["id"].get<std::string>());
  return out;
}

std::string Field(const Json& record, const char* name) {
  const auto& fields = record["fields"];
  return fields.contains(name) ? fields[name].get<std::string>() : "";
}

TEST(Syncgen, SameArgumentsSameBytesOtherSeedOtherBytes) {
  for (Profile profile : kProfiles) {
    SCOPED_TRACE(std::string(ProfileName(profile)));
    TempDir dir;
    GenerateInto(profile, 7, kSmall, dir / "a");
    GenerateInto(profile, 7, kSmall, dir / "b");
    GenerateInto(profile, 8, kSmall, dir / "c");
    const auto a = Files(dir / "a");
    ASSERT_GE(a.size(), 4u);  // units, planted and record files
    EXPECT_TRUE(a == Files(dir / "b"));
    EXPECT_FALSE(a == Files(dir / "c"));
  }
}

TEST(Syncgen, EveryWrittenRecordIsAValidImportLine) {
  for (Profile profile : kProfiles) {
    SCOPED_TRACE(std::string(ProfileName(profile)));
    TempDir dir;
    const Summary summary = GenerateInto(profile, 3, kSmall, dir.path());
    size_t checked = 0;
    for (const auto& [name, text] : Files(dir.path())) {
      if (name == "planted.jsonl") continue;
      for (const std::string& line : Lines(fs::path(dir.path()) / name)) {
        SCOPED_TRACE(line);
        ASSERT_FALSE(line.empty());
        const Json json = Json::parse(line);
        const std::vector<std::string> keys = {"table", "id", "owner", "fields"};
        const nlohmann::ordered_json ordered = nlohmann::ordered_json::parse(line);
        std::vector<std::string> order;
        for (const auto& [key, value] : ordered.items()) order.push_back(key);
        EXPECT_EQ(order, keys);
        if (name != "units.jsonl") {
          EXPECT_EQ("records-" + json["owner"].get<std::string>() + ".jsonl", name);
        }
        auto patch = PatchFromJson(json);
        ASSERT_TRUE(patch.ok()) << patch.status().message();
        auto record = RecordFromPatch(*patch, json["owner"].get<std::string>());
        EXPECT_TRUE(record.ok()) << record.status().message();
        ++checked;
      }
    }
    EXPECT_EQ(checked, summary.units + summary.records());
  }
}

void ExpectSamePerson(const Json& a, const Json& b) {
  for (const char* field : {"name", "sex", "birth_date", "area"}) {
    EXPECT_EQ(Field(a, field), Field(b, field)) << field;
  }
}

void CheckPlanted(const Json& problem, const Output& out) {
  const std::string kind = problem["kind"];
  std::vector<std::string> ids;
  for (const auto& r : problem["records"]) ids.push_back(r["id"]);
  ASSERT_FALSE(ids.empty());
  if (kind == "duplicate_household" || kind == "legacy_and_new_id") {
    ASSERT_EQ(ids.size(), 2u);
    ASSERT_TRUE(out.registrations.contains(ids[0]) && out.registrations.contains(ids[1]));
    EXPECT_NE(ids[0], ids[1]);
    const Json& a = out.registrations.at(ids[0]);
    const Json& b = out.registrations.at(ids[1]);
    ExpectSamePerson(a, b);
    EXPECT_NE(Field(a, "household"), Field(b, "household"));
    if (kind == "legacy_and_new_id") {
      const std::string legacy = problem["legacy"];
      ASSERT_EQ(legacy.size(), 15u);
      EXPECT_TRUE(out.written_ids.contains(legacy));  // written in the legacy form
      auto upgraded = ParseIdNumber(legacy);
      ASSERT_TRUE(upgraded.ok());
      EXPECT_EQ(upgraded->digits, ids[1]);
      EXPECT_EQ(ids[0].substr(0, 6), legacy.substr(0, 6));
    }
  } else if (kind == "dangling_lead_officer") {
    ASSERT_TRUE(out.cases.contains(ids[0]));
    const std::string lead = Field(out.cases.at(ids[0]), "lead_officer");
    EXPECT_EQ(lead, problem["missing"].get<std::string>());
    EXPECT_FALSE(out.personnel.contains(lead));
  } else if (kind == "dangling_involved") {
    ASSERT_TRUE(out.cases.contains(ids[0]));
    const auto& involved = out.cases.at(ids[0])["fields"]["involved"];
    const std::string missing = problem["missing"];
    EXPECT_NE(std::find(involved.begin(), involved.end(), missing), involved.end());
    EXPECT_FALSE(out.registrations.contains(missing));
  } else if (kind == "household_without_head") {
    std::set<std::string> households;
    for (const std::string& id : ids) {
      ASSERT_TRUE(out.registrations.contains(id));
      households.insert(Field(out.registrations.at(id), "household"));
    }
    ASSERT_EQ(households.size(), 1u);
    for (const auto& [id, r] : out.registrations) {
      if (Field(r, "household") == *households.begin()) {
        EXPECT_NE(Field(r, "relation"), "head") << id;
      }
    }
  } else if (kind == "household_multiple_heads") {
    ASSERT_EQ(ids.size(), 2u);
    ASSERT_TRUE(out.registrations.contains(ids[0]) && out.registrations.contains(ids[1]));
    const Json& a = out.registrations.at(ids[0]);
    const Json& b = out.registrations.at(ids[1]);
    EXPECT_EQ(Field(a, "household"), Field(b, "household"));
    EXPECT_EQ(Field(a, "relation"), "head");
    EXPECT_EQ(Field(b, "relation"), "head");
  } else if (kind == "unknown_owner") {
    ASSERT_TRUE(out.cases.contains(ids[0]));
    const std::string owner = out.cases.at(ids[0])["owner"];
    EXPECT_FALSE(out.units.contains(owner)) << owner;
  } else {
    ADD_FAILURE() << "unknown kind " << kind;
  }
}

TEST(Syncgen, PlantedProblemsAreThere) {
  for (Profile profile : kProfiles) {
    SCOPED_TRACE(std::string(ProfileName(profile)));
    TempDir dir;
    GenerateInto(profile, 11, kSmall, dir.path());
    const Output out = Parse(dir.path());
    std::map<std::string, int> kinds;
    for (const Json& problem : out.planted) {
      SCOPED_TRACE(problem.dump());
      ++kinds[problem["kind"]];
      CheckPlanted(problem, out);
    }
    for (const char* kind :
         {"duplicate_household", "legacy_and_new_id", "dangling_lead_officer", "dangling_involved",
          "household_without_head", "household_multiple_heads", "unknown_owner"}) {
      EXPECT_GE(kinds[kind], 1) << kind;
    }
  }
}

// Households have exactly one head and cases point at real officers and residents, except where
// a problem was planted.
TEST(Syncgen, NothingIsWrongButWhatWasPlanted) {
  for (Profile profile : kProfiles) {
    SCOPED_TRACE(std::string(ProfileName(profile)));
    TempDir dir;
    GenerateInto(profile, 5, 0.02, dir.path());
    const Output out = Parse(dir.path());
    std::map<std::string, int> planted_heads;  // household -> its planted number of heads
    std::set<std::string> planted_cases;
    std::set<std::string> orphan_cases;
    for (const Json& p : out.planted) {
      const std::string first = p["records"][0]["id"];
      if (p["kind"] == "household_without_head") {
        planted_heads[Field(out.registrations.at(first), "household")] = 0;
      }
      if (p["kind"] == "household_multiple_heads") {
        planted_heads[Field(out.registrations.at(first), "household")] = 2;
      }
      if (p["kind"].get<std::string>().starts_with("dangling_")) planted_cases.insert(first);
      if (p["kind"] == "unknown_owner") orphan_cases.insert(first);
    }
    // One person, one registration, except the planted duplicates.
    std::set<std::string> duplicates;
    for (const Json& p : out.planted) {
      if (p["kind"] == "duplicate_household" || p["kind"] == "legacy_and_new_id") {
        duplicates.insert(p["records"][1]["id"].get<std::string>());
      }
    }
    std::set<std::string> persons;
    for (const auto& [id, r] : out.registrations) {
      if (duplicates.contains(id)) continue;
      const std::string person = fmt::format("{}|{}|{}|{}", id.substr(0, 6), Field(r, "name"),
                                             Field(r, "sex"), Field(r, "birth_date"));
      EXPECT_TRUE(persons.insert(person).second) << "two registrations of " << person;
    }
    std::map<std::string, int> heads;
    for (const auto& [id, r] : out.registrations) {
      heads[Field(r, "household")] += Field(r, "relation") == "head" ? 1 : 0;
      EXPECT_TRUE(out.units.contains(r["owner"].get<std::string>())) << id;
    }
    for (const auto& [household, count] : heads) {
      const auto planted = planted_heads.find(household);
      EXPECT_EQ(count, planted == planted_heads.end() ? 1 : planted->second) << household;
    }
    for (const auto& [number, c] : out.cases) {
      EXPECT_EQ(out.units.contains(c["owner"].get<std::string>()), !orphan_cases.contains(number))
          << number;
      if (planted_cases.contains(number)) continue;
      EXPECT_TRUE(out.personnel.contains(Field(c, "lead_officer"))) << number;
      for (const auto& id : c["fields"].value("involved", Json::array())) {
        EXPECT_TRUE(out.registrations.contains(id.get<std::string>())) << number;
      }
    }
  }
}

TEST(Syncgen, ScaleScalesTheCounts) {
  TempDir dir;
  const Summary small = GenerateInto(Profile::kNaiman, 1, 0.01, dir / "small");
  const Summary large = GenerateInto(Profile::kNaiman, 1, 0.1, dir / "large");
  EXPECT_GE(small.registrations, 1000u);
  EXPECT_LT(small.registrations, 1100u);
  EXPECT_GT(large.registrations, 8 * small.registrations);
  EXPECT_GT(large.cases, 5 * small.cases);
  EXPECT_GT(large.personnel, small.personnel);
  EXPECT_EQ(small.units, large.units);
}

TEST(Syncgen, BadArgumentsAndUnwritableOutput) {
  for (double scale : {0.0, -1.0, 100.5}) {
    const Status status = CheckOptions(Options{Profile::kLinqu, 1, scale});
    EXPECT_EQ(status.code(), Code::kInvalid) << scale;
    EXPECT_NE(status.message().find("--scale"), std::string::npos);
  }
  EXPECT_TRUE(CheckOptions(Options{Profile::kLinqu, 1, 100}).ok());
  EXPECT_FALSE(ParseProfile("beijing").has_value());
  EXPECT_EQ(ParseProfile("naiman"), Profile::kNaiman);

  TempDir dir;
  auto missing = RunSyncgen(Options{}, dir / "no-such.csv", dir / "out");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kInvalid);

  std::ofstream(dir / "file") << "not a directory";
  auto unwritable = RunSyncgen(Options{Profile::kLinqu, 1, kSmall}, DefaultDivisionsPath(),
                               fs::path(dir / "file") / "out");
  ASSERT_FALSE(unwritable.ok());
  EXPECT_EQ(unwritable.status().code(), Code::kInternal);
}

}  // namespace
}  // namespace stationsync::syncgen
