// The app API (daemon/http/record_routes.h): the routes' checks as pure functions, then a real
// station's /v1/records routes: each route and each error status (400 naming the field, 403,
// 404, 413, 503), the same store as syncctl's, and a write answered 200 that survives kill -9.
#include <atomic>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "daemon/http/http_server.h"
#include "daemon/http/record_routes.h"

#include "tests/support/http_client.h"
#include "tests/support/process.h"

namespace stationsync {
namespace {

using testing::DaemonRole;
using testing::HttpCall;
using testing::StationDaemon;
using Json = nlohmann::json;

// ---- The routes as pure functions ----

RecordRoute Route(std::string method, std::string table, std::string id = "") {
  RecordRoute route;
  route.method = std::move(method);
  route.table = std::move(table);
  route.id = std::move(id);
  return route;
}

// The refusal a route gets (fails the test if it is accepted).
HttpAnswer Refusal(const RecordRoute& route) {
  auto asked = ToApiRequest(route);
  EXPECT_TRUE(std::holds_alternative<HttpAnswer>(asked)) << "accepted: " << route.method;
  return std::holds_alternative<HttpAnswer>(asked) ? std::get<HttpAnswer>(asked) : HttpAnswer{};
}

ApiRequest Accepted(const RecordRoute& route) {
  auto asked = ToApiRequest(route);
  if (auto* refusal = std::get_if<HttpAnswer>(&asked)) {
    ADD_FAILURE() << "refused: " << refusal->body.dump();
    return {};
  }
  return std::get<ApiRequest>(asked);
}

TEST(AppApiRoutes, EachRouteMakesTheRequestSyncctlWouldSend) {
  RecordRoute put = Route("PUT", "personnel", "P01-001");
  put.actor = "app1";
  put.body = R"({"name":"张伟","role":"officer","phone":null})";
  put.query = {{"owner", "P01"}};
  const ApiRequest put_request = Accepted(put);
  EXPECT_EQ(put_request.kind, ApiKind::kPut);
  EXPECT_EQ(put_request.actor, "app1");
  EXPECT_EQ(put_request.patch.table, Table::kPersonnel);
  EXPECT_EQ(put_request.patch.id, "P01-001");
  EXPECT_EQ(put_request.patch.owner, "P01");
  EXPECT_EQ(put_request.patch.fields.at("name"), Value(std::string("张伟")));
  EXPECT_TRUE(IsNull(put_request.patch.fields.at("phone"))) << "null clears a field";

  EXPECT_EQ(Accepted(Route("GET", "case", "C-1")).kind, ApiKind::kGet);
  RecordRoute remote = Route("GET", "case", "C-1");
  remote.query = {{"remote", "true"}};
  remote.actor = "P01-007";
  EXPECT_EQ(Accepted(remote).kind, ApiKind::kGetRemote);
  RecordRoute remove = Route("DELETE", "case", "C-1");
  remove.actor = "app1";
  EXPECT_EQ(Accepted(remove).kind, ApiKind::kDelete);
  RecordRoute history = Route("GET", "case", "C-1");
  history.history = true;
  EXPECT_EQ(Accepted(history).kind, ApiKind::kHistory);

  RecordRoute list = Route("GET", "registration");
  list.query = {{"owner", "P01"},
                {"household", "H-0001"},
                {"limit", "25"},
                {"after", HexEncode(std::string("registration/1\0x", 16))}};
  const ApiRequest list_request = Accepted(list);
  EXPECT_EQ(list_request.kind, ApiKind::kList);
  EXPECT_EQ(list_request.list.table, Table::kRegistration);
  EXPECT_EQ(list_request.list.owner, "P01");
  EXPECT_EQ(list_request.list.household, "H-0001");
  EXPECT_EQ(list_request.list.limit, 25u);
  EXPECT_EQ(list_request.list.after, std::string("registration/1\0x", 16));
  EXPECT_EQ(Accepted(Route("GET", "case")).list.limit, kListLimitDefault);
}

TEST(AppApiRoutes, BadInputIs400NamingTheField) {
  struct Case {
    RecordRoute route;
    std::string field;
  };
  std::vector<Case> cases;
  auto add = [&](RecordRoute route, std::string field) {
    cases.push_back({std::move(route), std::move(field)});
  };
  add(Route("GET", "cases", "C-1"), "table");
  add(Route("GET", "case", "C 1"), "id");
  add(Route("GET", "registration", "123"), "id");
  add(Route("GET", "case", std::string("C\0-1", 4)), "id");
  RecordRoute no_actor = Route("PUT", "case", "C-1");
  no_actor.body = "{}";
  add(no_actor, "X-Actor");
  RecordRoute empty_actor = Route("DELETE", "case", "C-1");
  empty_actor.actor = "";
  add(empty_actor, "X-Actor");
  RecordRoute bad_actor = Route("DELETE", "case", "C-1");
  bad_actor.actor = "<script>";
  add(bad_actor, "X-Actor");
  RecordRoute remote_no_actor = Route("GET", "case", "C-1");
  remote_no_actor.query = {{"remote", "true"}};
  add(remote_no_actor, "X-Actor");
  RecordRoute remote_odd = Route("GET", "case", "C-1");
  remote_odd.query = {{"remote", "yes"}};
  add(remote_odd, "remote");
  for (const char* body : {"", "not json", "[]", "\"x\"", "{\"name\":{\"a\":\"b\"}}",
                           "{\"a\":[[\"b\"]]}", "{\"name\":\"\xff\xfe\"}"}) {
    RecordRoute put = Route("PUT", "personnel", "P01-001");
    put.actor = "app1";
    put.body = body;
    add(put, body == std::string("{\"name\":{\"a\":\"b\"}}") ? "name" : "body");
  }
  RecordRoute deep = Route("PUT", "personnel", "P01-001");
  deep.actor = "app1";
  deep.body = std::string(60000, '[') + std::string(60000, ']');
  add(deep, "body");
  RecordRoute bad_owner = Route("PUT", "personnel", "P01-001");
  bad_owner.actor = "app1";
  bad_owner.body = "{}";
  bad_owner.query = {{"owner", "P 01"}};
  add(bad_owner, "owner");
  for (const char* limit : {"0", "1001", "-1", "10x", ""}) {
    RecordRoute list = Route("GET", "case");
    list.query = {{"limit", limit}};
    if (std::string(limit).empty()) list.query = {{"limit", "99999999999999999999999"}};
    add(list, "limit");
  }
  for (const char* after : {"abc", "zz", "0g"}) {
    RecordRoute list = Route("GET", "case");
    list.query = {{"after", after}};
    add(list, "after");
  }
  RecordRoute unknown = Route("GET", "case");
  unknown.query = {{"owner", "P01"}, {"ownr", "P01"}};
  add(unknown, "ownr");
  RecordRoute twice = Route("GET", "case");
  twice.query = {{"owner", "P01"}, {"owner", "P02"}};
  add(twice, "owner");
  RecordRoute history_query = Route("GET", "case", "C-1");
  history_query.history = true;
  history_query.query = {{"limit", "1"}};
  add(history_query, "limit");
  for (const Case& each : cases) {
    const HttpAnswer answer = Refusal(each.route);
    EXPECT_EQ(answer.status, 400) << answer.body.dump();
    EXPECT_EQ(answer.body.value("field", Json()), each.field)
        << each.route.method << " " << each.route.table << "/" << each.route.id << ": "
        << DumpJson(answer.body);
    EXPECT_FALSE(answer.body.value("error", "").empty());
    EXPECT_FALSE(DumpJson(answer.body).empty()) << "echoed bytes never make dump() throw";
  }
}

TEST(AppApiRoutes, DaemonErrorsMapToStatusesAndFields) {
  EXPECT_EQ(HttpStatusOf(Code::kOk), 200);
  EXPECT_EQ(HttpStatusOf(Code::kInvalid), 400);
  EXPECT_EQ(HttpStatusOf(Code::kNotFound), 404);
  EXPECT_EQ(HttpStatusOf(Code::kRefused), 403);
  EXPECT_EQ(HttpStatusOf(Code::kUnavailable), 503);
  EXPECT_EQ(HttpStatusOf(Code::kInternal), 503);
  EXPECT_EQ(FieldOf("field sex: 'x' is not one of ..."), "sex");
  EXPECT_EQ(FieldOf("id: '1' is not ..."), "id");
  EXPECT_EQ(FieldOf("owner: 'a b' is not a unit code"), "owner");
  EXPECT_EQ(FieldOf("case C-1 does not exist"), "");
  const RecordRoute get = Route("GET", "case", "C-1");
  ApiRequest request = Accepted(get);
  const HttpAnswer unreachable = ToHttpAnswer(get, request, Unavailable("no answer"));
  EXPECT_EQ(unreachable.status, 503);
  EXPECT_EQ(unreachable.body["error"], "no answer");
  ApiResponse refused;
  refused.status = Refused("case C-1: out of scope");
  EXPECT_EQ(ToHttpAnswer(get, request, refused).status, 403);
  ApiResponse no_record;  // ok but without a record: a daemon bug, answered, not a crash
  EXPECT_EQ(ToHttpAnswer(get, request, no_record).status, 503);
}

TEST(AppApiRoutes, HexAndNesting) {
  const std::string key("personnel/\0\x01\xff", 13);
  EXPECT_EQ(HexDecode(HexEncode(key)).value(), key);
  EXPECT_EQ(HexEncode("\x0f\xa0"), "0fa0");
  EXPECT_FALSE(HexDecode("0").ok());
  EXPECT_FALSE(HexDecode("0x").ok());
  EXPECT_EQ(JsonNestingDepth(R"({"a":"[[[{{{","b":["c"]})"), 2) << "brackets in strings";
  EXPECT_EQ(JsonNestingDepth(R"({"a":"\"[[["})"), 1) << "escaped quotes";
  EXPECT_EQ(JsonNestingDepth("[[[]]]"), 3);
  EXPECT_EQ(JsonNestingDepth("1"), 0);
}

// ---- A real station ----

// One station, no hub, HTTP on: shared by the tests below (each uses its own record ids).
class AppApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    DaemonRole role;
    role.http = true;
    station_ = new StationDaemon("P01", "", role);
    ASSERT_TRUE(station_->Start()) << station_->Log();
  }
  static void TearDownTestSuite() {
    delete station_;  // SIGKILLs and reaps it if still running
    station_ = nullptr;
  }

  static httplib::Result Call(const std::string& method, const std::string& path,
                              const std::string& body = "", const std::string& actor = "app1") {
    httplib::Headers headers;
    if (!actor.empty()) headers.emplace("X-Actor", actor);
    return HttpCall(*station_, method, path, body, headers);
  }
  // The JSON body of a call that must answer `status`.
  static Json Expect(const httplib::Result& result, int status) {
    EXPECT_TRUE(result) << httplib::to_string(result.error());
    if (!result) return Json();
    EXPECT_EQ(result->status, status) << result->body;
    EXPECT_EQ(result->get_header_value("Content-Type"), "application/json") << result->body;
    const auto json = Json::parse(result->body, nullptr, false);
    EXPECT_FALSE(json.is_discarded()) << result->body;
    return json;
  }

  static StationDaemon* station_;
};

StationDaemon* AppApiTest::station_ = nullptr;

TEST_F(AppApiTest, PutGetListHistoryDelete) {
  Json put = Expect(
      Call("PUT", "/v1/records/personnel/P01-101", R"({"name":"张伟","role":"officer"})"), 200);
  EXPECT_EQ(put["id"], "P01-101");
  EXPECT_EQ(put["owner"], "P01") << "the station's unit on create";
  EXPECT_EQ(put["actor"], "app1");
  EXPECT_EQ(put["fields"]["name"], "张伟");
  Json got = Expect(Call("GET", "/v1/records/personnel/P01-101"), 200);
  EXPECT_EQ(got, put);
  // An upsert: the second put changes one field and keeps the other.
  Json updated = Expect(
      Call("PUT", "/v1/records/personnel/P01-101", R"({"phone":"13800000000"})", "P01-007"), 200);
  EXPECT_EQ(updated["fields"]["name"], "张伟");
  EXPECT_EQ(updated["fields"]["phone"], "13800000000");
  EXPECT_EQ(updated["actor"], "P01-007");
  for (int i = 102; i <= 106; ++i) {
    Expect(Call("PUT", fmt::format("/v1/records/personnel/P01-{}", i),
                R"({"name":"李娜","role":"auxiliary"})"),
           200);
  }

  // Pages of two, followed through next_url until next is null: every record once, in order.
  std::vector<std::string> ids;
  std::string next_url = "/v1/records/personnel?owner=P01&limit=2";
  for (int page = 0; page < 200 && !next_url.empty(); ++page) {
    Json listed = Expect(Call("GET", next_url, "", ""), 200);
    EXPECT_LE(listed["records"].size(), 2u);
    for (const auto& record : listed["records"]) ids.push_back(record["id"]);
    next_url = listed["next_url"].is_null() ? "" : listed["next_url"].get<std::string>();
    EXPECT_EQ(listed["next"].is_null(), next_url.empty());
  }
  std::vector<std::string> mine;
  for (const auto& id : ids) {
    if (id.starts_with("P01-1")) mine.push_back(id);
  }
  EXPECT_EQ(mine, (std::vector<std::string>{"P01-101", "P01-102", "P01-103", "P01-104", "P01-105",
                                            "P01-106"}));
  EXPECT_TRUE(next_url.empty()) << "the last page says there is no more";

  Json history = Expect(Call("GET", "/v1/records/personnel/P01-101/history", "", ""), 200);
  ASSERT_EQ(history["history"].size(), 2u) << history;
  EXPECT_EQ(history["history"][0]["actor"], "app1");
  EXPECT_EQ(history["history"][1]["actor"], "P01-007");
  EXPECT_EQ(history["history"][1]["changes"]["phone"]["new"], "13800000000");

  Json deleted = Expect(Call("DELETE", "/v1/records/personnel/P01-101"), 200);
  EXPECT_EQ(deleted["deleted"], true);
  Json gone = Expect(Call("GET", "/v1/records/personnel/P01-101"), 404);
  EXPECT_TRUE(gone["error"].get<std::string>().find("does not exist") != std::string::npos);
  EXPECT_EQ(Expect(Call("GET", "/v1/records/personnel/P01-101/history"), 200)["history"].size(), 3u)
      << "the delete is in the history";
}

TEST_F(AppApiTest, EveryErrorHasItsStatusAndField) {
  Json no_actor =
      Expect(Call("PUT", "/v1/records/personnel/P01-201", R"({"name":"王芳"})", ""), 400);
  EXPECT_EQ(no_actor["field"], "X-Actor");
  EXPECT_NE(no_actor["error"].get<std::string>().find("X-Actor"), std::string::npos);
  EXPECT_EQ(Expect(Call("DELETE", "/v1/records/personnel/P01-201", "", ""), 400)["field"],
            "X-Actor");
  EXPECT_EQ(
      Expect(Call("PUT", "/v1/records/personnel/P01-201", R"({"role":"boss"})"), 400)["field"],
      "role")
      << "the record's own validation, as syncctl put";
  EXPECT_EQ(Expect(Call("PUT", "/v1/records/personnel/P01-201", "{\"name\":"), 400)["field"],
            "body");
  EXPECT_EQ(Expect(Call("GET", "/v1/records/people/P01-201"), 400)["field"], "table");
  EXPECT_EQ(Expect(Call("GET", "/v1/records/registration/123"), 400)["field"], "id");
  EXPECT_EQ(Expect(Call("GET", "/v1/records/personnel/%FF%00"), 400)["field"], "id")
      << "hostile bytes in the path answer valid JSON";
  EXPECT_EQ(Expect(Call("GET", "/v1/records/personnel?limit=0"), 400)["field"], "limit");
  Expect(Call("GET", "/v1/records/personnel/P01-299"), 404);
  Expect(Call("GET", "/v1/records/personnel/P01-299/history"), 404);
  Expect(Call("DELETE", "/v1/records/personnel/P01-299"), 404);
  // Out of this station's scope (owner P02), and units (written at the hub only): 403.
  Json out_of_scope =
      Expect(Call("PUT", "/v1/records/personnel/P02-201?owner=P02", R"({"name":"王芳"})"), 403);
  EXPECT_NE(out_of_scope["error"].get<std::string>().find("out of scope"), std::string::npos);
  Expect(Call("PUT", "/v1/records/unit/P05", R"({"name":"P05"})"), 403);
  Expect(Call("GET", "/v1/records/personnel/P02-201"), 404);  // the refused write left nothing
  // A look-up at the hub from a station that has none: the hub is unavailable.
  Json no_hub = Expect(Call("GET", "/v1/records/personnel/P02-201?remote=true"), 503);
  EXPECT_NE(no_hub["error"].get<std::string>().find("hub"), std::string::npos);
  // A body over the bound: 413, before anything reads it.
  Json too_big =
      Expect(Call("PUT", "/v1/records/personnel/P01-202",
                  fmt::format(R"({{"name":"{}"}})", std::string(kHttpRequestBytesMax, 'a'))),
             413);
  EXPECT_FALSE(too_big["error"].get<std::string>().empty());
  Expect(Call("GET", "/v1/records/personnel/P01-202"), 404);
  Json no_route = Expect(Call("POST", "/v1/records/personnel/P01-202"), 404);
  EXPECT_FALSE(no_route["error"].get<std::string>().empty());
  Expect(Call("GET", "/v1/records/personnel/" + std::string(100, 'a')), 404);
}

TEST_F(AppApiTest, HttpAndSyncctlShareOneStore) {
  Expect(Call("PUT", "/v1/records/personnel/P01-301", R"({"name":"赵敏","role":"civilian"})"), 200);
  const auto got = station_->Ctl({"get", "personnel", "P01-301"});
  ASSERT_EQ(got.exit_code, 0) << got.err;
  EXPECT_EQ(Json::parse(got.out)["fields"]["name"], "赵敏");
  ASSERT_EQ(station_->Ctl({"put", "personnel", "P01-302", R"({"name":"钱进","role":"officer"})"})
                .exit_code,
            0);
  Json via_http = Expect(Call("GET", "/v1/records/personnel/P01-302"), 200);
  EXPECT_EQ(via_http["actor"], "tester");
  // The same refusal through both doors: a write out of scope is exit 4 and 403.
  const auto refused =
      station_->Ctl({"put", "personnel", "P02-301", R"({"name":"x"})", "--owner", "P02"});
  EXPECT_EQ(refused.exit_code, 4) << refused.err;
}

// A write answered 200 is durable: eight clients write at once, syncd is killed with SIGKILL
// right after the last answer, and every acknowledged record is there after the restart.
TEST_F(AppApiTest, AWriteAnswered200SurvivesKill9) {
  constexpr int kClients = 8;
  constexpr int kWritesEach = 10;
  std::atomic<int> acknowledged = 0;
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      for (int i = 0; i < kWritesEach; ++i) {
        auto result = Call("PUT", fmt::format("/v1/records/personnel/P01-9{}{:02}", c, i),
                           fmt::format(R"({{"name":"写入{}","role":"officer"}})", i));
        if (result && result->status == 200) ++acknowledged;
      }
    });
  }
  for (auto& client : clients) client.join();
  ASSERT_EQ(acknowledged.load(), kClients * kWritesEach);
  station_->Kill();
  ASSERT_TRUE(station_->Start()) << station_->Log();
  for (int c = 0; c < kClients; ++c) {
    for (int i = 0; i < kWritesEach; ++i) {
      Json record =
          Expect(Call("GET", fmt::format("/v1/records/personnel/P01-9{}{:02}", c, i)), 200);
      EXPECT_EQ(record["fields"]["name"], fmt::format("写入{}", i));
    }
  }
}

}  // namespace
}  // namespace stationsync
