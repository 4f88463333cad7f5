// Writes the fuzz targets' seed corpus: real messages of every kind, as syncd and syncctl send
// them. The corpus is checked in (tests/fuzz/corpus/); run this after a schema change and commit
// what changed:  build/fuzz/bin/make_seeds tests/fuzz/corpus
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include <fmt/format.h>

#include "sync/admin/person_merge.h"
#include "sync/codec/api_codec.h"
#include "sync/codec/record_codec.h"
#include "sync/codec/sync_codec.h"
#include "sync/records/hlc.h"

namespace {

using namespace stationsync;

constexpr uint64_t kHlc = uint64_t{1'764'547'200'000} << 16;  // 2025-12-01, counter 0

void Write(const std::filesystem::path& dir, const std::string& name, const std::string& bytes) {
  std::filesystem::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary) << bytes;
}

Record Officer() {
  Record record;
  record.table = Table::kPersonnel;
  record.id = "370724001";
  record.owner = "370724510000";
  record.owner_stamp = record.updated = {kHlc, "370724510000"};
  record.fields["name"] = {std::string("张伟"), {kHlc, "370724510000"}, "0101"};
  record.fields["role"] = {std::string("officer"), {kHlc, "370724510000"}, "0101"};
  record.fields["id_number"] = {std::string("370724198001010016"), {kHlc, "370724510000"}, "0101"};
  record.seen["370724510000"] = kHlc;
  record.actor = "0101";
  return record;
}

Record Case() {
  Record record;
  record.table = Table::kCase;
  record.id = "A3707240001";
  record.owner = "370724510000";
  record.owner_stamp = record.updated = {kHlc + 3, "hub"};
  record.fields["kind"] = {std::string("criminal"), {kHlc, "hub"}, "hq"};
  record.fields["title"] = {std::string("盗窃案"), {kHlc, "hub"}, "hq"};
  record.fields["status"] = {std::string("filed"), {kHlc + 3, "hub"}, "hq"};
  record.fields["reported_at"] = {std::string("2025-12-01T08:30:00+08:00"), {kHlc, "hub"}, "hq"};
  // The merge policies' state (merge_policy.h): the set's elements with their dots and one
  // removal, the notes' pieces, the status's reopen count.
  FieldState& involved = record.fields["involved"];
  involved = {std::vector<std::string>{"370724198001010016", "370724198502020027"},
              {kHlc + 2, "370724510000"},
              "0101"};
  involved.elements = {{"370724198001010016", {kHlc, "hub"}, "hq"},
                       {"370724198502020027", {kHlc + 2, "370724510000"}, "0101"}};
  involved.removed = {{"370724199003030038", {kHlc + 1, "370724520000"}, "0207"}};
  FieldState& notes = record.fields["notes"];
  notes = {std::string("报案人称。现场勘查。"), {kHlc + 2, "370724510000"}, "0101"};
  notes.elements = {{"报案人称。", {kHlc, "hub"}, "hq"},
                    {"现场勘查。", {kHlc + 2, "370724510000"}, "0101"}};
  record.fields["status"].epoch = 1;
  record.seen["hub"] = kHlc + 3;
  record.seen["370724510000"] = kHlc + 2;
  record.seen["370724520000"] = kHlc + 1;
  record.actor = "hq";
  return record;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_seeds CORPUS_DIR\n";
    return 2;
  }
  const std::filesystem::path root = argv[1];
  const Record officer = Officer();
  const Record a_case = Case();

  const std::filesystem::path sync = root / "sync_codec";
  Hello hello{kProtocolVersion,
              "370724510000",
              "370724510000",
              "e1",
              12,
              "h1",
              40,
              {kHlc, "hub"},
              {"370724510000", "370724520000"},
              1'764'547'200'000};
  Write(sync, "hello", EncodeSyncMessage({1, hello}));
  Write(sync, "welcome",
        EncodeSyncMessage(
            {1, Welcome{"h1", 10, {kHlc, "370724510000"}, true, false, 8, 1'764'547'200'000}}));
  Write(sync, "refused", EncodeSyncMessage({1, Refusal{"clock ahead", false, 86'400'000}}));
  Write(sync, "up",
        EncodeSyncMessage(
            {1, Up{10, 12, {officer, a_case}, false, 0, false, {kHlc, "370724510000"}}}));
  Write(sync, "up_offer", EncodeSyncMessage({1, Up{0, 0, {officer}, true, 3, true, {}}}));
  Write(sync, "up_ack", EncodeSyncMessage({1, UpAck{12, 0, false, false, 1}}));
  Down down{40, 42,    {kHlc, "hub"}, {a_case}, false,
            0,  false, "h1",          {},       {{Table::kRegistration, "370724198001010016"}},
            0,  0};
  Write(sync, "down", EncodeSyncMessage({1, down}));
  Down page{0,
            42,
            {kHlc, "hub"},
            {officer, a_case},
            true,
            2,
            true,
            "h1",
            {"370724510000", "370724520000"},
            {},
            7,
            12};
  Write(sync, "down_snapshot", EncodeSyncMessage({1, page}));
  Write(sync, "down_ack", EncodeSyncMessage({1, DownAck{42, 2, true, false, 7}}));
  Write(sync, "heartbeat", EncodeSyncMessage({1, Heartbeat{3, 5}}));
  Write(sync, "lookup", EncodeSyncMessage({1, Lookup{9, Table::kCase, "A3707240001", "0101"}}));
  Write(sync, "lookup_reply", EncodeSyncMessage({1, LookupReply{9, a_case, ""}}));
  const TreeNode node{"370724510000", Table::kCase, 4, 0x3000};
  Write(sync, "verify_query_sums",
        EncodeSyncMessage({1, VerifyQuery{11, VerifyWhat::kSums, {node}, {}}}));
  Write(sync, "verify_query_fetch",
        EncodeSyncMessage(
            {1, VerifyQuery{12, VerifyWhat::kFetch, {}, {{Table::kCase, "A3707240001"}}}}));
  Write(sync, "verify_reply_entries",
        EncodeSyncMessage({1, VerifyReply{13,
                                          "",
                                          {{2, 0x9e3779b97f4a7c15}},
                                          {{{"A3707240001", 0x1234, "hub@1"}}},
                                          {{Table::kCase, "A3707240001"}},
                                          {{a_case, true}, {std::nullopt, false}},
                                          false}}));
  Write(sync, "verify_order", EncodeSyncMessage({1, VerifyOrder{14, true, true}}));
  VerifyReport report;
  report.differences = {{Table::kCase, "A3707240001", "hub@1", std::nullopt}};
  report.records = 2;
  report.bytes_exchanged = 4096;
  report.repair = true;
  report.repaired = 1;
  Write(sync, "verify_result", EncodeSyncMessage({1, VerifyResult{14, "", report, 1}}));

  const std::filesystem::path api = root / "api_codec";
  ApiRequest put;
  put.id = 1;
  put.actor = "0101";
  put.kind = ApiKind::kPut;
  put.patch = {Table::kPersonnel, "370724001", "", {{"phone", Value("0536-3111111")}}};
  Write(api, "put", EncodeRequest(put));
  ApiRequest batch = put;
  batch.kind = ApiKind::kPutBatch;
  batch.batch = {put.patch,
                 {Table::kCase,
                  "A1",
                  "",
                  {{"involved", Value(std::vector<std::string>{"370724198001010016"})}}}};
  Write(api, "put_batch", EncodeRequest(batch));
  ApiRequest list;
  list.id = 2;
  list.kind = ApiKind::kList;
  list.list.table = Table::kRegistration;
  list.list.household = "H0001";
  list.list.limit = 50;
  Write(api, "list", EncodeRequest(list));
  ApiRequest merge;
  merge.id = 3;
  merge.actor = "admin";
  merge.kind = ApiKind::kMerge;
  merge.merge = {"370724510000", {"370724520000", "370724530000"}, true};
  Write(api, "merge", EncodeRequest(merge));
  ApiRequest resolve;
  resolve.id = 4;
  resolve.kind = ApiKind::kResolveConflict;
  resolve.resolve = {"personnel/370724001/phone", ConflictChoice::Take::kValue, Value("110")};
  Write(api, "resolve", EncodeRequest(resolve));
  ApiRequest verify;
  verify.id = 8;
  verify.kind = ApiKind::kVerify;
  verify.verify = {true, false, "370724510000"};
  Write(api, "verify", EncodeRequest(verify));
  ApiRequest person;
  person.id = 9;
  person.actor = "admin";
  person.kind = ApiKind::kPersonMerge;
  person.person = {"370724198001010016", "370724198001010024", true};
  Write(api, "person_merge", EncodeRequest(person));
  ApiResponse got;
  got.id = 5;
  got.kind = ApiKind::kGet;
  got.record = a_case;
  Write(api, "get_response", EncodeResponse(got));
  ApiResponse status;
  status.id = 6;
  status.kind = ApiKind::kStatus;
  status.node_status.role = "hub";
  status.node_status.stations.push_back(StationLink{.unit = "370724510000", .scope = {}});
  Write(api, "status_response", EncodeResponse(status));
  ApiResponse refused;
  refused.id = 7;
  refused.kind = ApiKind::kPut;
  refused.status = Invalid("field sex: disagrees with the id number");
  Write(api, "error_response", EncodeResponse(refused));
  ApiResponse verified;
  verified.id = 10;
  verified.kind = ApiKind::kVerify;
  verified.verify = report;
  Write(api, "verify_response", EncodeResponse(verified));
  ApiResponse merged;
  merged.id = 11;
  merged.kind = ApiKind::kPersonMerge;
  merged.person_merge = {"370724198001010016",
                         "370724198001010024",
                         true,
                         {{Table::kCase,
                           "A3707240001",
                           {{"involved", Value(std::vector<std::string>{"370724198001010024"}),
                             Value(std::vector<std::string>{"370724198001010016"})}}}}};
  Write(api, "person_merge_response", EncodeResponse(merged));

  const std::filesystem::path record = root / "record_codec";
  Write(record, "personnel", EncodeRecord(officer));
  Write(record, "case", EncodeRecord(a_case));
  Write(record, "change", EncodeChange({42, officer, "370724510000", {"370724510000"}}));
  Write(record, "conflict",
        EncodeConflict({Table::kPersonnel,
                        "370724001",
                        "phone",
                        {Value("110"), {kHlc + 1, "hub"}, "hq"},
                        {Value("120"), {kHlc, "370724510000"}, "0101"}}));
  Write(record, "history",
        EncodeHistoryEntry({{kHlc, "hub"}, "hq", {{"status", Value("received"), Value("filed")}}}));
  Write(record, "history_added",
        EncodeHistoryEntry(
            {{kHlc + 2, "370724510000"},
             "0101",
             {{"involved",
               Value(std::vector<std::string>{"370724198001010016"}),
               Value(std::vector<std::string>{"370724198001010016", "370724198502020027"}),
               {{"370724198502020027", {kHlc + 2, "370724510000"}, "0101"}}}}}));
  std::cout << "seeds written under " << root << '\n';
  return 0;
}
