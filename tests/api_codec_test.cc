// The API codec against hostile bytes: truncated, bit-flipped, random and oversized messages
// decode to kInvalid and never crash (run under ASan/UBSan); valid ones round-trip.
#include "sync/api_codec.h"

#include <random>

#include <gtest/gtest.h>

#include "sync/capnp_io.h"
#include "sync/record_codec.h"

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

TEST(ApiCodec, HostileBytesAreRejectedNotFatal) {
  const std::string good = EncodeRequest(SampleRequest());
  const uint64_t seed = 1123;
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  size_t rejected = 0;
  for (int trial = 0; trial < 3000; ++trial) {
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
    auto decoded = DecodeRequest(bytes);
    if (!decoded.ok()) {
      EXPECT_EQ(decoded.status().code(), Code::kInvalid);
      ++rejected;
    }
  }
  EXPECT_GT(rejected, 1000u);  // most mutations must be caught, not silently accepted
}

TEST(ApiCodec, OversizedAndDeeplyNestedInputIsRefused) {
  EXPECT_FALSE(DecodeRequest(std::string(kMessageBytesMax + 8, '\0')).ok());
  EXPECT_FALSE(DecodeRequest("").ok());
  EXPECT_FALSE(DecodeRecord("1234567").ok());  // not a whole number of words
}

}  // namespace
}  // namespace stationsync
