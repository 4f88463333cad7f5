// syncctl's binding contract against a real daemon: the record JSON, upsert semantics, list
// filters, history, import (all or nothing, --skip-invalid), export, status, exit codes, and a
// station's side of sync: its scope (no units, no other unit's records), wait-synced without a
// hub, and the conflict commands on a station that has none.
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "sync/records/id_number.h"
#include "sync/records/record_json.h"
#include "tools/syncctl/import_command.h"  // the parse chunk's size

#include "tests/support/process.h"

namespace stationsync::testing {
namespace {

using nlohmann::json;

const char kResident[] =
    R"({"name":"王伟","sex":"male","birth_date":"1987-05-12","household":"H1",)"
    R"("relation":"head","area":"370724001001"})";

std::vector<json> JsonLines(const std::string& text) {
  std::vector<json> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line));
  return lines;
}

std::string ImportLine(const std::string& id, const std::string& household,
                       const std::string& birth = "1987-05-12") {
  json line = {{"table", "registration"},
               {"id", id},
               {"owner", "P01"},
               {"fields",
                {{"name", "李娜"},
                 {"sex", "male"},
                 {"birth_date", birth},
                 {"household", household},
                 {"relation", "head"},
                 {"area", "370724001001"}}}};
  return line.dump() + "\n";
}

const char kCase[] =
    R"({"kind":"criminal","title":"t","status":"filed","reported_at":"2024-03-01T08:30:00+08:00"})";

class SyncctlTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(daemon_.Start()) << daemon_.Log(); }
  StationDaemon daemon_{"P01"};
};

TEST_F(SyncctlTest, PutPrintsTheStoredRecordInTheContractShape) {
  auto put = daemon_.Ctl({"put", "registration", "370724870512341", kResident});
  ASSERT_EQ(put.exit_code, 0) << put.err;
  const json record = json::parse(put.out);
  EXPECT_EQ(record["table"], "registration");
  EXPECT_EQ(record["id"], "370724198705123414");  // legacy number stored as 18 digits
  EXPECT_EQ(record["owner"], "P01");
  EXPECT_EQ(record["fields"]["name"], "王伟");
  EXPECT_EQ(record["deleted"], false);
  EXPECT_EQ(record["updated_by"], "P01");
  EXPECT_EQ(record["actor"], "tester");
  EXPECT_TRUE(record["version"].is_string());
  EXPECT_EQ(record["updated_at"].get<std::string>().back(), 'Z');
  const auto ordered = nlohmann::ordered_json::parse(put.out);
  std::vector<std::string> keys;
  for (const auto& [key, value] : ordered.items()) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"table", "id", "owner", "fields", "deleted", "version",
                                            "updated_at", "updated_by", "actor"}));
}

TEST_F(SyncctlTest, UpsertKeepsOtherFieldsAndHistoryRecordsChanges) {
  ASSERT_EQ(daemon_.Ctl({"put", "registration", "370724198705123414", kResident}).exit_code, 0);
  auto update = daemon_.Ctl({"--actor", "372301", "put", "registration", "370724198705123414", "-"},
                            R"({"household":"H2","status":"moved_out"})");
  ASSERT_EQ(update.exit_code, 0) << update.err;
  auto get = daemon_.Ctl({"get", "registration", "370724198705123414"});
  ASSERT_EQ(get.exit_code, 0);
  const json record = json::parse(get.out);
  EXPECT_EQ(record["fields"]["name"], "王伟");
  EXPECT_EQ(record["fields"]["household"], "H2");
  EXPECT_EQ(record["actor"], "372301");

  auto history = daemon_.Ctl({"history", "registration", "370724198705123414"});
  ASSERT_EQ(history.exit_code, 0);
  const auto entries = JsonLines(history.out);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[1]["actor"], "372301");
  EXPECT_EQ(entries[1]["node"], "P01");
  EXPECT_EQ(entries[1]["changes"]["household"]["old"], "H1");
  EXPECT_EQ(entries[1]["changes"]["household"]["new"], "H2");
  EXPECT_TRUE(entries[1]["changes"]["status"]["old"].is_null());
}

TEST_F(SyncctlTest, ExitCodes) {
  EXPECT_EQ(daemon_.Ctl({"get", "case", "NOPE"}).exit_code, 1);
  auto bad = daemon_.Ctl({"put", "registration", "370724198705123414",
                          R"({"name":"王伟","sex":"female","birth_date":"1987-05-12"})"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("field sex"), std::string::npos) << bad.err;
  EXPECT_EQ(daemon_.Ctl({"put", "castle", "X", "{}"}).exit_code, 2);
  EXPECT_EQ(daemon_.Ctl({"put", "unit", "X", "not json"}).exit_code, 2);
  EXPECT_EQ(daemon_.Ctl({"frobnicate"}).exit_code, 2);
  auto no_actor = RunCommand({BinPath("syncctl"), "--api", daemon_.api(), "put", "unit", "U1",
                              R"({"name":"x","kind":"station"})"});
  EXPECT_EQ(no_actor.exit_code, 2);
  EXPECT_NE(no_actor.err.find("actor"), std::string::npos);
  TempDir nowhere;
  auto unreachable = RunCommand(
      {BinPath("syncctl"), "--api", "ipc://" + nowhere / "none.sock", "--timeout", "1", "ping"});
  EXPECT_EQ(unreachable.exit_code, 3);
  auto silent =
      RunCommand({BinPath("syncctl"), "--api", "tcp://127.0.0.1:1", "--timeout", "0.5", "status"});
  EXPECT_EQ(silent.exit_code, 3);
  EXPECT_NE(silent.err.find("did not answer"), std::string::npos) << silent.err;
}

TEST_F(SyncctlTest, ImportIsAllOrNothing) {
  std::string file = ImportLine("370724198705123414", "H1") +
                     ImportLine("370724198705123422", "H1", "1987-02-30") +  // impossible date
                     "{not json}\n" + ImportLine("370724199001011232", "H2", "1990-01-01");
  auto result = daemon_.Ctl({"import", "-"}, file);
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("line 2:"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("line 3:"), std::string::npos) << result.err;
  EXPECT_EQ(result.err.find("line 1:"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("stored nothing"), std::string::npos) << result.err;
  EXPECT_EQ(daemon_.Ctl({"export"}).out, "");

  result = daemon_.Ctl({"import", "--skip-invalid", "-"}, file);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.err.find("imported 2 records"), std::string::npos) << result.err;
  EXPECT_EQ(JsonLines(daemon_.Ctl({"export"}).out).size(), 2u);
}

// An import is sent in key order, not the file's (import_command.cc): a record on two lines, with
// records that sort between them on the lines between, ends as the later line says.
TEST_F(SyncctlTest, ImportInKeyOrderKeepsTheLaterOfTwoLinesForOneRecord) {
  const std::string twice = "370724199001011232";
  std::string file = ImportLine(twice, "H-first", "1990-01-01");
  for (int i = 0; i < 1500; ++i) {  // more than a batch, on both sides of `twice` in key order
    file +=
        ImportLine(MakeIdNumber("370724", {1989 + i % 3, 1 + i % 12, 1 + i % 28}, i % 100, true),
                   "H1", fmt::format("{}-{:02}-{:02}", 1989 + i % 3, 1 + i % 12, 1 + i % 28));
  }
  file += ImportLine(twice, "H-second", "1990-01-01");
  const auto imported = daemon_.Ctl({"import", "-"}, file);
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  const auto got = daemon_.Ctl({"get", "registration", twice});
  ASSERT_EQ(got.exit_code, 0) << got.err;
  EXPECT_EQ(json::parse(got.out)["fields"]["household"], "H-second") << got.out;
  EXPECT_EQ(JsonLines(daemon_.Ctl({"history", "registration", twice}).out).size(), 2u);
}

// A batch asked without its records is stored all the same, and answered with the status alone.
TEST_F(SyncctlTest, ABatchAskedWithoutItsRecordsIsStoredAndAnsweredWithoutThem) {
  const auto fields = FieldsFromJson(json::parse(kCase)).value();
  auto client = daemon_.Client();
  for (const bool without_records : {false, true}) {
    ApiRequest request;
    request.kind = ApiKind::kPutBatch;
    request.without_records = without_records;
    const std::string id = without_records ? "B" : "A";
    request.batch = {{Table::kCase, id + "1", "", fields}, {Table::kCase, id + "2", "", fields}};
    auto response = client->Call(request);
    ASSERT_TRUE(response.ok()) << response.status().ToString();
    ASSERT_TRUE(response->status.ok()) << response->status.ToString();
    EXPECT_EQ(response->batch.size(), without_records ? 0u : 2u);
    for (const std::string n : {"1", "2"}) {
      auto stored = client->Get(Table::kCase, id + n);
      ASSERT_TRUE(stored.ok()) << stored.status().ToString();
      EXPECT_EQ(stored->Text("title") != nullptr, true);
    }
  }
  // The flag means nothing to a single put: it is answered with its record as always.
  ApiRequest put;
  put.kind = ApiKind::kPut;
  put.without_records = true;
  put.patch = {Table::kCase, "C1", "", fields};
  auto response = client->Call(put);
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  ASSERT_TRUE(response->status.ok()) << response->status.ToString();
  ASSERT_TRUE(response->record.has_value());
  EXPECT_EQ(response->record->id, "C1");
}

// Lines are checked in parallel, in chunks: what is reported is what one pass in order would
// report, with the file's own line numbers (blank lines counted, not checked).
TEST_F(SyncctlTest, ImportReportsInvalidLinesInFileOrderAcrossChunksAndThreads) {
  const size_t lines = 2 * kImportParseChunkLines + 500;
  const std::set<size_t> invalid = {3, kImportParseChunkLines, kImportParseChunkLines + 1,
                                    kImportParseChunkLines + kImportParseChunkLines / 2 + 7,
                                    lines - 1};
  std::string file;
  for (size_t line = 1; line <= lines; ++line) {
    if (line == 10) {
      file += "   \n";
    } else if (invalid.contains(line)) {
      file += "{not json}\n";
    } else {
      const int day = static_cast<int>(line / 100);  // a distinct id number per line
      const Date birth{1950 + day / 336, 1 + day / 28 % 12, 1 + day % 28};
      file += ImportLine(MakeIdNumber("370724", birth, static_cast<int>(line % 100), true), "H1",
                         fmt::format("{}-{:02}-{:02}", birth.year, birth.month, birth.day));
    }
  }
  auto result = daemon_.Ctl({"import", "-"}, file);
  EXPECT_EQ(result.exit_code, 2) << result.err;
  EXPECT_NE(result.err.find(fmt::format("{} invalid line(s); stored nothing", invalid.size())),
            std::string::npos)
      << result.err;
  size_t at = 0;
  for (const size_t line : invalid) {
    const size_t found = result.err.find(fmt::format("syncctl: line {}: not valid JSON\n", line));
    ASSERT_NE(found, std::string::npos) << line << "\n" << result.err;
    EXPECT_GE(found, at) << "line " << line << " is reported out of order";
    at = found;
  }
  EXPECT_EQ(result.err.find("line 10:"), std::string::npos) << result.err;
  EXPECT_EQ(daemon_.Ctl({"export"}).out, "");
}

TEST_F(SyncctlTest, ListFiltersExportAndStatus) {
  std::string file;
  for (int i = 0; i < 30; ++i) {
    file += ImportLine(MakeIdNumber("370724", {1990, 1, 1 + i % 28}, i, true),
                       i % 3 == 0 ? "H0" : "H1", fmt::format("1990-01-{:02}", 1 + i % 28));
  }
  ASSERT_EQ(daemon_.Ctl({"import", "-"}, file).exit_code, 0);
  ASSERT_EQ(daemon_.Ctl({"put", "case", "A1", "--owner", "P01", kCase}).exit_code, 0);
  EXPECT_EQ(JsonLines(daemon_.Ctl({"list", "registration", "--household", "H0"}).out).size(), 10u);
  EXPECT_EQ(JsonLines(daemon_.Ctl({"list", "registration", "--limit", "7"}).out).size(), 7u);
  EXPECT_EQ(JsonLines(daemon_.Ctl({"list", "case", "--owner", "P01"}).out).size(), 1u);
  EXPECT_EQ(JsonLines(daemon_.Ctl({"list", "case", "--owner", "P02"}).out).size(), 0u);
  EXPECT_EQ(JsonLines(daemon_.Ctl({"export"}).out).size(), 31u);
  EXPECT_EQ(JsonLines(daemon_.Ctl({"export", "case"}).out).size(), 1u);

  ASSERT_EQ(daemon_.Ctl({"del", "case", "A1"}).exit_code, 0);
  EXPECT_EQ(daemon_.Ctl({"get", "case", "A1"}).exit_code, 1);
  EXPECT_EQ(JsonLines(daemon_.Ctl({"history", "case", "A1"}).out).size(), 2u);

  auto status = daemon_.Ctl({"status", "--json"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  const json s = json::parse(status.out);
  EXPECT_EQ(s["role"], "station");
  EXPECT_EQ(s["unit"], "P01");
  EXPECT_EQ(s["records"], 30);
  EXPECT_EQ(s["pending_up"], 32);  // no hub yet: every local change is pending
  EXPECT_EQ(s["hub_connected"], false);
  EXPECT_EQ(s["lag_records"], 0);
  EXPECT_EQ(s["conflicts_open"], 0);
  EXPECT_EQ(s["last_seq"], 32);
  const auto ordered = nlohmann::ordered_json::parse(status.out);  // items() refers to it
  std::vector<std::string> keys;
  for (const auto& [key, value] : ordered.items()) keys.push_back(key);
  EXPECT_EQ(keys,
            (std::vector<std::string>{"role", "unit", "node", "records", "pending_up",
                                      "hub_connected", "last_seq", "lag_records", "conflicts_open",
                                      "scope", "public_key", "hub_refusal", "clock_ahead_ms"}));
  auto human = daemon_.Ctl({"status"});
  ASSERT_EQ(human.exit_code, 0) << human.err;
  EXPECT_NE(human.out.find("hub_connected:  false"), std::string::npos) << human.out;
}

TEST_F(SyncctlTest, AStationRefusesUnitsAndOtherUnitsRecords) {
  const std::string unit = R"({"name":"城里派出所","kind":"station"})";
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"unit", "put", "U1", unit}, {"put", "unit", "U1", unit}}) {
    auto refused = daemon_.Ctl(args);
    EXPECT_EQ(refused.exit_code, 4) << refused.err;
    EXPECT_NE(refused.err.find("units are written at the hub"), std::string::npos) << refused.err;
  }
  EXPECT_EQ(daemon_.Ctl({"del", "unit", "U1"}).exit_code, 4);

  auto other = daemon_.Ctl({"put", "case", "A1", "--owner", "P02", kCase});
  EXPECT_EQ(other.exit_code, 4);
  EXPECT_NE(other.err.find("out of scope: owner P02, this station holds P01"), std::string::npos)
      << other.err;

  // A batch with one record out of scope stores nothing and names that record.
  auto client = daemon_.Client();
  std::vector<BatchError> errors;
  const auto fields = FieldsFromJson(json::parse(kCase)).value();
  auto batch = client->PutBatch(
      {{Table::kCase, "A2", "", fields}, {Table::kCase, "A3", "P02", fields}}, &errors);
  EXPECT_EQ(batch.status().code(), Code::kRefused);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].index, 1u);
  EXPECT_NE(errors[0].message.find("owner P02"), std::string::npos) << errors[0].message;
  errors.clear();
  EXPECT_EQ(
      client
          ->PutBatchWithoutRecords(
              {{Table::kCase, "A2", "", fields}, {Table::kCase, "A3", "P02", fields}}, &errors)
          .code(),
      Code::kRefused);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].index, 1u);

  // An import with lines out of scope is refused whole, before anything is stored.
  json foreign = json::parse(ImportLine("370724199001011232", "H2", "1990-01-01"));
  foreign["owner"] = "P02";
  const std::string file =
      ImportLine("370724198705123414", "H1") + foreign.dump() + "\n" +
      json{{"table", "unit"}, {"id", "U1"}, {"fields", json::parse(unit)}}.dump() + "\n";
  auto imported = daemon_.Ctl({"import", "--skip-invalid", "-"}, file);
  EXPECT_EQ(imported.exit_code, 4) << imported.err;
  EXPECT_NE(imported.err.find("line 2: registration 370724199001011232: out of scope: owner P02"),
            std::string::npos)
      << imported.err;
  EXPECT_NE(imported.err.find("line 3: unit U1: units are written at the hub"), std::string::npos)
      << imported.err;
  EXPECT_NE(imported.err.find("stored nothing"), std::string::npos) << imported.err;
  EXPECT_EQ(daemon_.Ctl({"export"}).out, "");

  // Its own records it writes; owner defaults to its unit.
  auto own = daemon_.Ctl({"put", "case", "A1", kCase});
  ASSERT_EQ(own.exit_code, 0) << own.err;
  EXPECT_EQ(json::parse(own.out)["owner"], "P01");
  auto list = daemon_.Ctl({"unit", "list"});
  EXPECT_EQ(list.exit_code, 0) << list.err;
  EXPECT_EQ(list.out.rfind("code", 0), 0u) << list.out;  // a header, no units
  EXPECT_EQ(daemon_.Ctl({"unit", "list", "--json"}).out, "");
}

TEST_F(SyncctlTest, WaitSyncedWithoutAHubTimesOutNamingWhatIsPending) {
  ASSERT_EQ(daemon_.Ctl({"put", "case", "A1", kCase}).exit_code, 0);
  const auto start = std::chrono::steady_clock::now();
  auto wait = daemon_.Ctl({"wait-synced", "--timeout", "1"});
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(wait.exit_code, 1);
  EXPECT_NE(wait.err.find("hub not connected"), std::string::npos) << wait.err;
  EXPECT_NE(wait.err.find("pending_up 1, lag_records 0"), std::string::npos) << wait.err;
  EXPECT_GE(took, std::chrono::milliseconds(800));
  EXPECT_LT(took, std::chrono::seconds(5));

  TempDir nowhere;  // no daemon: retried until the timeout, then exit 1 saying so
  auto unreachable = RunCommand({BinPath("syncctl"), "--api", "ipc://" + nowhere / "none.sock",
                                 "wait-synced", "--timeout", "0.5"});
  EXPECT_EQ(unreachable.exit_code, 1);
  EXPECT_NE(unreachable.err.find("unreachable"), std::string::npos) << unreachable.err;
}

TEST_F(SyncctlTest, ConflictCommandsOnAStationWithoutConflicts) {
  auto json_list = daemon_.Ctl({"conflicts", "--json"});
  EXPECT_EQ(json_list.exit_code, 0) << json_list.err;
  EXPECT_EQ(json_list.out, "");  // JSON lines, like list: none
  auto human = daemon_.Ctl({"conflicts"});
  EXPECT_EQ(human.exit_code, 0) << human.err;
  EXPECT_EQ(human.out, "no open conflicts\n");

  auto missing = daemon_.Ctl({"conflicts", "resolve", "deadbeef", "--take", "kept"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("no open conflict deadbeef"), std::string::npos) << missing.err;
  EXPECT_EQ(daemon_.Ctl({"conflicts", "resolve", "deadbeef", "--value", R"("x")"}).exit_code, 1);

  EXPECT_EQ(daemon_.Ctl({"conflicts", "resolve", "deadbeef"}).exit_code, 2);  // neither
  EXPECT_EQ(daemon_.Ctl({"conflicts", "resolve", "deadbeef", "--take", "lost", "--value", R"("x")"})
                .exit_code,
            2);  // both
  EXPECT_EQ(daemon_.Ctl({"conflicts", "resolve", "deadbeef", "--take", "mine"}).exit_code, 2);
  EXPECT_EQ(daemon_.Ctl({"conflicts", "resolve", "deadbeef", "--value", "not json"}).exit_code, 2);
  EXPECT_EQ(daemon_.Ctl({"conflicts", "resolve"}).exit_code, 2);  // no id
}

TEST_F(SyncctlTest, AStationRefusesRegroupingAndDigestsItsOwnScope) {
  ASSERT_EQ(daemon_.Ctl({"put", "case", "A1", kCase}).exit_code, 0);
  auto transfer = daemon_.Ctl({"transfer", "case", "A1", "--to", "P02"});
  EXPECT_EQ(transfer.exit_code, 4);
  EXPECT_NE(transfer.err.find("transfers are made at the hub"), std::string::npos) << transfer.err;
  EXPECT_EQ(daemon_.Ctl({"merge", "--into", "P01", "P02"}).exit_code, 4);
  EXPECT_EQ(daemon_.Ctl({"unmerge", "P02"}).exit_code, 4);
  EXPECT_EQ(daemon_.Ctl({"merge", "P02"}).exit_code, 2);            // usage: no --into
  EXPECT_EQ(daemon_.Ctl({"transfer", "case", "A1"}).exit_code, 2);  // usage: no --to

  auto digest = daemon_.Ctl({"digest", "--json"});
  ASSERT_EQ(digest.exit_code, 0) << digest.err;
  const json d = json::parse(digest.out);
  EXPECT_EQ(d["scope"], json::array({"P01"}));
  EXPECT_EQ(d["records"], 1);
  EXPECT_EQ(d["root"].get<std::string>().size(), 64u);
  EXPECT_EQ(daemon_.Ctl({"digest", "--scope", "P02"}).exit_code, 4);
}

}  // namespace
}  // namespace stationsync::testing
