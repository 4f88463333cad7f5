// The API codec against hostile bytes: truncated, bit-flipped, random and oversized messages
// decode to kInvalid and never crash (run under ASan/UBSan); valid ones round-trip, the sync
// status, conflict list and conflict resolution among them.
#include "sync/codec/api_codec.h"

#include <random>

#include <gtest/gtest.h>

#include "sync/codec/capnp_io.h"
#include "sync/codec/record_codec.h"

namespace stationsync {
namespace {

ApiRequest SampleRequest() {
  ApiRequest request;
  request.id = 42;
  request.actor = "372301";
  request.kind = ApiKind::kPutBatch;
  for (int i = 0; i < 5; ++i) {
    request.batch.push_back({Table::kCase,
                             "A" + std::to_string(i),
                             "P01",
                             {{"title", Value(std::string("盗窃"))},
                              {"involved", Value(std::vector<std::string>{"a", "b"})},
                              {"notes", Value{}}}});
  }
  return request;
}

TEST(ApiCodec, RequestRoundTrips) {
  const ApiRequest request = SampleRequest();
  auto decoded = DecodeRequest(EncodeRequest(request));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(decoded->id, 42u);
  EXPECT_EQ(decoded->actor, "372301");
  EXPECT_EQ(decoded->kind, ApiKind::kPutBatch);
  EXPECT_EQ(decoded->batch, request.batch);
  EXPECT_FALSE(decoded->without_records);

  ApiRequest quiet = request;
  quiet.without_records = true;
  decoded = DecodeRequest(EncodeRequest(quiet));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_TRUE(decoded->without_records);
  EXPECT_EQ(decoded->batch, request.batch);
}

TEST(ApiCodec, ResponseRoundTrips) {
  ApiResponse response;
  response.id = 7;
  response.kind = ApiKind::kGet;
  Record record;
  record.table = Table::kRegistration;
  record.id = "370724198705123414";
  record.owner = "P01";
  record.fields["name"] = {Value(std::string("王伟")), Stamp{123, "P01"}, "tester"};
  record.updated = {123, "P01"};
  response.record = record;
  auto decoded = DecodeResponse(EncodeResponse(response));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->record, record);

  response.status = NotFound("nope");
  response.record.reset();
  decoded = DecodeResponse(EncodeResponse(response));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->status.code(), Code::kNotFound);
  EXPECT_EQ(decoded->status.message(), "nope");
}

// List cursors are store keys; an owner's or household's index key holds 0x00 bytes. Cut at the
// first of them, the cursor pointed back at the first page (a paged `list --owner` never ended).
TEST(ApiCodec, ListCursorsKeepEveryByte) {
  const std::string cursor("oP01\0personnel/P01-002", 22);
  ApiRequest request;
  request.kind = ApiKind::kList;
  request.list.owner = "P01";
  request.list.after = cursor;
  auto decoded = DecodeRequest(EncodeRequest(request));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(decoded->list.after, cursor);
  ApiResponse response;
  response.kind = ApiKind::kList;
  response.page.next = cursor;
  auto answer = DecodeResponse(EncodeResponse(response));
  ASSERT_TRUE(answer.ok()) << answer.status().message();
  EXPECT_EQ(answer->page.next, cursor);
}

TEST(ApiCodec, ConflictRequestsRoundTrip) {
  ApiRequest list;
  list.id = 3;
  list.kind = ApiKind::kConflicts;
  auto decoded = DecodeRequest(EncodeRequest(list));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(decoded->kind, ApiKind::kConflicts);

  using Take = ConflictChoice::Take;
  for (const ConflictChoice& choice :
       {ConflictChoice{"00ff00ff00ff00ff", Take::kKept, {}},
        ConflictChoice{"00ff00ff00ff00ff", Take::kLost, {}},
        ConflictChoice{"0123", Take::kValue, Value(std::string("城关所"))},
        ConflictChoice{"0123", Take::kValue, Value(std::vector<std::string>{"a", "b"})},
        ConflictChoice{"0123", Take::kValue, Value{}}}) {
    ApiRequest request;
    request.id = 4;
    request.actor = "372301";
    request.kind = ApiKind::kResolveConflict;
    request.resolve = choice;
    decoded = DecodeRequest(EncodeRequest(request));
    ASSERT_TRUE(decoded.ok()) << decoded.status().message();
    EXPECT_EQ(decoded->kind, ApiKind::kResolveConflict);
    EXPECT_EQ(decoded->actor, "372301");
    EXPECT_EQ(decoded->resolve, choice);
  }
}

TEST(ApiCodec, ConflictListRoundTrips) {
  ApiResponse response;
  response.id = 9;
  response.kind = ApiKind::kConflicts;
  response.conflicts.push_back({Table::kCase,
                                "A1",
                                "title",
                                {Value(std::string("盗窃")), Stamp{200, "HUB"}, "admin"},
                                {Value(std::string("失窃")), Stamp{100, "P01"}, "372301"}});
  response.conflicts.push_back({Table::kRegistration,
                                "370724198705123414",
                                "deleted",
                                {Value(std::string("true")), Stamp{300, "P02"}, "a"},
                                {Value(std::string("false")), Stamp{250, "P01"}, "b"}});
  auto decoded = DecodeResponse(EncodeResponse(response));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(decoded->conflicts, response.conflicts);

  response.conflicts.clear();  // none open: an empty list, not an error
  decoded = DecodeResponse(EncodeResponse(response));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_TRUE(decoded->conflicts.empty());
}

TEST(ApiCodec, NodeStatusRoundTripsWithItsStations) {
  ApiResponse response;
  response.kind = ApiKind::kStatus;
  NodeStatus& status = response.node_status;
  status = {"hub", "HQ", "HUB", 1200, 3, false, 4500, 7, 2, {}, {"P01", "P02"}};
  StationLink link;
  link.unit = "370724510000";
  link.connected = true;
  link.last_seen_ms = 250;
  link.lag_records = 1;
  link.pending_up = 2;
  link.up_total = 30;
  link.down_total = 40;
  link.rejected_total = 5;
  link.never_seen = false;
  link.key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
  link.refused_total = 6;
  link.last_refusal = "a Hello named unit P02";
  status.public_key = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
  status.refused_unknown_key_total = 8;
  status.refused_handshake_total = 9;
  status.last_handshake_refusal = "mechanism mismatch";
  status.clock_ahead_ms = -86'400'000;
  status.hub_refusal = "clock ahead";
  status.stations = {
      link, StationLink{.unit = "370724520000", .scope = {"370724510000", "370724520000"}}};
  auto decoded = DecodeResponse(EncodeResponse(response));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  const NodeStatus& out = decoded->node_status;
  EXPECT_EQ(out.role, "hub");
  EXPECT_EQ(out.unit, "HQ");
  EXPECT_EQ(out.node, "HUB");
  EXPECT_EQ(out.records, 1200u);
  EXPECT_EQ(out.public_key, status.public_key);
  EXPECT_EQ(out.refused_unknown_key_total, 8u);
  EXPECT_EQ(out.refused_handshake_total, 9u);
  EXPECT_EQ(out.last_handshake_refusal, "mechanism mismatch");
  EXPECT_EQ(out.clock_ahead_ms, -86'400'000);
  EXPECT_EQ(out.hub_refusal, "clock ahead");
  ASSERT_EQ(out.stations.size(), 2u);
  EXPECT_EQ(out.stations[0].key, link.key);
  EXPECT_EQ(out.stations[0].refused_total, 6u);
  EXPECT_EQ(out.stations[0].last_refusal, "a Hello named unit P02");
  EXPECT_EQ(out.stations[1].key, "");
  EXPECT_EQ(out.pending_up, 3u);
  EXPECT_EQ(out.last_seq, 4500u);
  EXPECT_EQ(out.lag_records, 7u);
  EXPECT_EQ(out.conflicts_open, 2u);
  ASSERT_EQ(out.stations.size(), 2u);
  const StationLink& first = out.stations[0];
  EXPECT_EQ(first.unit, link.unit);
  EXPECT_TRUE(first.connected);
  EXPECT_EQ(first.last_seen_ms, 250u);
  EXPECT_EQ(first.lag_records, 1u);
  EXPECT_EQ(first.pending_up, 2u);
  EXPECT_EQ(first.up_total, 30u);
  EXPECT_EQ(first.down_total, 40u);
  EXPECT_EQ(first.rejected_total, 5u);
  EXPECT_FALSE(first.never_seen);
  EXPECT_EQ(out.stations[1].unit, "370724520000");
  EXPECT_FALSE(out.stations[1].connected);
  EXPECT_TRUE(out.stations[1].never_seen);
  EXPECT_EQ(out.stations[1].scope, (std::vector<std::string>{"370724510000", "370724520000"}));
  EXPECT_EQ(out.scope, (std::vector<std::string>{"P01", "P02"}));
}

TEST(ApiCodec, RegroupDigestAndLookUpRequestsRoundTrip) {
  ApiRequest request;
  request.id = 5;
  request.actor = "admin";
  request.kind = ApiKind::kMerge;
  request.merge = {"P01", {"P02", "P03"}, true};
  auto decoded = DecodeRequest(EncodeRequest(request));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(decoded->kind, ApiKind::kMerge);
  EXPECT_EQ(decoded->merge, request.merge);

  for (const ApiKind kind : {ApiKind::kUnmerge, ApiKind::kDigest}) {
    for (const std::string code : {"P02", ""}) {
      request = {};
      request.kind = kind;
      request.code = code;
      decoded = DecodeRequest(EncodeRequest(request));
      ASSERT_TRUE(decoded.ok()) << decoded.status().message();
      EXPECT_EQ(decoded->kind, kind);
      EXPECT_EQ(decoded->code, code);
    }
  }

  request = {};
  request.kind = ApiKind::kTransfer;
  request.transfer = {Table::kRegistration, "370724198705123414", "P02"};
  decoded = DecodeRequest(EncodeRequest(request));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(decoded->kind, ApiKind::kTransfer);
  EXPECT_EQ(decoded->transfer, request.transfer);

  request = {};
  request.kind = ApiKind::kGetRemote;
  request.patch = {Table::kCase, "A1", "", {}};
  decoded = DecodeRequest(EncodeRequest(request));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(decoded->kind, ApiKind::kGetRemote);
  EXPECT_EQ(decoded->patch, request.patch);
}

TEST(ApiCodec, BackupRequestAndReportRoundTrip) {
  ApiRequest request;
  request.kind = ApiKind::kBackup;
  request.path = "/var/backups/stationsync/2024-03-01";
  auto decoded = DecodeRequest(EncodeRequest(request));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(decoded->kind, ApiKind::kBackup);
  EXPECT_EQ(decoded->path, request.path);

  ApiResponse response;
  response.kind = ApiKind::kBackup;
  response.backup = {"/var/backups/stationsync/2024-03-01", 14, 1u << 20, 4242, true};
  auto answer = DecodeResponse(EncodeResponse(response));
  ASSERT_TRUE(answer.ok()) << answer.status().message();
  EXPECT_EQ(answer->backup, response.backup);

  response.status = Refused("not empty");  // a refusal carries no report
  answer = DecodeResponse(EncodeResponse(response));
  ASSERT_TRUE(answer.ok()) << answer.status().message();
  EXPECT_EQ(answer->status.code(), Code::kRefused);
  EXPECT_EQ(answer->backup, BackupReport{});
}

TEST(ApiCodec, PersonMergeRequestsReportsAndRedirectsRoundTrip) {
  for (ApiKind kind : {ApiKind::kPersonMerge, ApiKind::kPersonUnmerge}) {
    ApiRequest request;
    request.kind = kind;
    request.person = {"370724198005010011", "37072480050101", true};
    auto decoded = DecodeRequest(EncodeRequest(request));
    ASSERT_TRUE(decoded.ok()) << decoded.status().message();
    EXPECT_EQ(decoded->kind, kind);
    EXPECT_EQ(decoded->person, request.person);

    ApiResponse response;
    response.kind = kind;
    response.person_merge = {"370724198005010011",
                             "370724198005010029",
                             false,
                             {{Table::kCase,
                               "C1",
                               {{"involved", Value(std::vector<std::string>{"a", "b"}),
                                 Value(std::vector<std::string>{"a"})}}},
                              {Table::kRegistration, "370724198005010029", {}}}};
    auto answer = DecodeResponse(EncodeResponse(response));
    ASSERT_TRUE(answer.ok()) << answer.status().message();
    EXPECT_EQ(answer->person_merge, response.person_merge);
  }
  ApiResponse get;
  get.kind = ApiKind::kGet;
  get.redirected_from = "370724198005010029";
  auto answer = DecodeResponse(EncodeResponse(get));
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(answer->redirected_from, get.redirected_from);
}

TEST(ApiCodec, DigestAndMergeAnswersRoundTrip) {
  ApiResponse response;
  response.kind = ApiKind::kDigest;
  response.digest = {{"P01", "P02"}, 34000, std::string(64, 'a')};
  auto decoded = DecodeResponse(EncodeResponse(response));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(decoded->digest, response.digest);

  response = {};
  response.kind = ApiKind::kMerge;
  Record unit;
  unit.table = Table::kUnit;
  unit.id = "P02";
  unit.fields["status"] = {Value(std::string("merged")), Stamp{7, "HUB"}, "admin"};
  response.batch = {unit};
  decoded = DecodeResponse(EncodeResponse(response));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(decoded->batch, response.batch);

  response.status = Refused("no");  // a refusal carries no records
  decoded = DecodeResponse(EncodeResponse(response));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->status.code(), Code::kRefused);
  EXPECT_TRUE(decoded->batch.empty());
}

// One of four kinds of damage, by trial number.
std::string Mutated(const std::string& good, int trial, std::mt19937_64& rng) {
  std::string bytes = good;
  switch (trial % 4) {
    case 0:  // truncated anywhere
      bytes.resize(rng() % bytes.size());
      break;
    case 1:  // flipped bits
      for (int k = 0; k < 1 + static_cast<int>(rng() % 8); ++k) {
        bytes[rng() % bytes.size()] ^= static_cast<char>(1 << (rng() % 8));
      }
      break;
    case 2:  // random garbage of a random length, word-aligned or not
      bytes.assign(rng() % 512, '\0');
      for (auto& c : bytes) c = static_cast<char>(rng());
      break;
    case 3:  // a segment table claiming a huge segment
      bytes.replace(4, 4, std::string("\xff\xff\xff\x7f", 4));
      break;
  }
  return bytes;
}

TEST(ApiCodec, HostileBytesAreRejectedNotFatal) {
  const std::string good = EncodeRequest(SampleRequest());
  const uint64_t seed = 1123;
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  size_t rejected = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    auto decoded = DecodeRequest(Mutated(good, trial, rng));
    if (!decoded.ok()) {
      EXPECT_EQ(decoded.status().code(), Code::kInvalid);
      ++rejected;
    }
  }
  EXPECT_GT(rejected, 1000u);  // most mutations must be caught, not silently accepted
}

TEST(ApiCodec, HostileStatusAndConflictAnswersAreRejectedNotFatal) {
  ApiResponse status;
  status.kind = ApiKind::kStatus;
  status.node_status.role = "hub";
  for (int i = 0; i < 8; ++i)
    status.node_status.stations.push_back({.unit = std::to_string(i), .scope = {}});
  ApiResponse conflicts;
  conflicts.kind = ApiKind::kConflicts;
  for (int i = 0; i < 8; ++i) {
    conflicts.conflicts.push_back({Table::kCase,
                                   "A" + std::to_string(i),
                                   "title",
                                   {Value(std::string("x")), Stamp{200, "HUB"}, "admin"},
                                   {Value{}, Stamp{100, "P01"}, "372301"}});
  }
  const uint64_t seed = 1124;
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  for (const ApiResponse* response : {&status, &conflicts}) {
    const std::string good = EncodeResponse(*response);
    for (int trial = 0; trial < 2000; ++trial) {
      auto decoded = DecodeResponse(Mutated(good, trial, rng));
      if (!decoded.ok()) {
        EXPECT_EQ(decoded.status().code(), Code::kInvalid);
      }
    }
  }
}

// Merge policies' state (merge_policy.h) survives the stored form; a record whose fields are all
// registers carries none of it, not even empty lists (so registers cost no bytes for it).
TEST(RecordCodec, PolicyStateRoundTripsAndRegistersCostNothingForIt) {
  Record record;
  record.table = Table::kCase;
  record.id = "C1";
  record.owner = "P01";
  record.fields["title"] = {Value(std::string("t")), Stamp{5, "P01"}, "a"};
  const std::string registers_only = EncodeRecord(record);
  FieldState involved{Value(std::vector<std::string>{"x"}), Stamp{9, "P02"}, "b"};
  involved.elements = {{"x", Stamp{7, "P01"}, "a"}};
  involved.removed = {{"y", Stamp{9, "P02"}, "b"}};
  record.fields["involved"] = involved;
  FieldState status{Value(std::string("filed")), Stamp{8, "HUB"}, "c"};
  status.epoch = 2;
  record.fields["status"] = status;
  auto decoded = DecodeRecord(EncodeRecord(record));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*decoded, record);

  record.fields.erase("involved");
  record.fields.erase("status");
  EXPECT_EQ(EncodeRecord(record), registers_only);
  capnp::MallocMessageBuilder message;
  WriteRecord(record, message.initRoot<schema::Record>());
  EXPECT_FALSE(message.getRoot<schema::Record>().hasPolicies());
}

TEST(ApiCodec, OversizedAndDeeplyNestedInputIsRefused) {
  EXPECT_FALSE(DecodeRequest(std::string(kMessageBytesMax + 8, '\0')).ok());
  EXPECT_FALSE(DecodeRequest("").ok());
  EXPECT_FALSE(DecodeRecord("1234567").ok());  // not a whole number of words
}

}  // namespace
}  // namespace stationsync
