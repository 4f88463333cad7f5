// The dashboard (GET /, daemon/http/assets/dashboard.html) in a real browser: headless Chromium
// (Debian's `chromium`, installed by tools/run) loads a hub's page while its stations sync, runs
// the page's script, and the test reads the rendered DOM: every station's row with the lag the
// hub reports, and a station killed with SIGKILL shown as disconnected within seconds. A
// screenshot of the page is kept as an artifact (its path is printed). Also: /dashboard.json's
// shape and the page's own bounds, without a browser.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <regex>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "daemon/http/dashboard_json.h"
#include "daemon/http/dashboard_page.h"
#include "daemon/http/recent_events.h"
#include "daemon/http/status_history.h"

#include "tests/support/http_client.h"
#include "tests/support/process.h"

namespace stationsync {
namespace {

using testing::BinPath;
using testing::DaemonRole;
using testing::HttpCall;
using testing::RunCommand;
using testing::StationDaemon;
using testing::TempDir;
using testing::WaitUntil;
using Json = nlohmann::json;

constexpr char kChromium[] = "/usr/bin/chromium";

// Where artifacts go: $STATIONSYNC_TEST_ARTIFACTS, else test-artifacts/ beside the build's bin/.
std::filesystem::path ArtifactDir() {
  const char* env = std::getenv("STATIONSYNC_TEST_ARTIFACTS");
  std::filesystem::path dir =
      env != nullptr && *env != '\0'
          ? std::filesystem::path(env)
          : std::filesystem::path(BinPath("syncd")).parent_path().parent_path() / "test-artifacts";
  std::filesystem::create_directories(dir);
  return dir;
}

// Headless Chromium on `url` with a fresh profile; `action` is --dump-dom or --screenshot=FILE.
testing::CommandResult Chromium(const std::string& url, const std::string& action) {
  TempDir profile;
  return RunCommand(
      {kChromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
       "--disable-background-networking", "--disable-component-update", "--disable-sync",
       "--user-data-dir=" + profile.path(), "--virtual-time-budget=5000", "--window-size=1280,900",
       action, url},
      "", std::chrono::seconds(90));
}

// The data-* attributes of the rendered <tr data-unit="..."> rows, by unit.
std::map<std::string, std::map<std::string, std::string>> StationRows(const std::string& dom) {
  std::map<std::string, std::map<std::string, std::string>> rows;
  static const std::regex kRow(R"re(<tr data-unit="([^"]+)"([^>]*)>)re");
  static const std::regex kAttribute(R"re(data-([a-z-]+)="([^"]*)")re");
  for (auto it = std::sregex_iterator(dom.begin(), dom.end(), kRow); it != std::sregex_iterator();
       ++it) {
    auto& attributes = rows[(*it)[1].str()];
    const std::string rest = (*it)[2].str();
    for (auto a = std::sregex_iterator(rest.begin(), rest.end(), kAttribute);
         a != std::sregex_iterator(); ++a) {
      attributes[(*a)[1].str()] = (*a)[2].str();
    }
  }
  return rows;
}

TEST(DashboardPage, IsOneSelfContainedPage) {
  const std::string page(DashboardPage());
  EXPECT_TRUE(page.starts_with("<!doctype html>"));
  EXPECT_NE(page.find("name=\"viewport\""), std::string::npos) << "readable on a phone";
  EXPECT_NE(page.find("@media (max-width"), std::string::npos) << "a layout for narrow screens";
  EXPECT_NE(page.find("/dashboard.json"), std::string::npos);
  // (The one http:// in it is the SVG namespace, a name, never fetched.)
  for (const char* outside :
       {"https://", "src=\"http", "href=\"http", "url(http", "//cdn", "<link ", "<script src"}) {
    EXPECT_EQ(page.find(outside), std::string::npos) << "an outside asset: " << outside;
  }
  EXPECT_EQ(page.find("innerHTML"), std::string::npos) << "daemon text goes in as text only";
  EXPECT_EQ(page.find("EventSource"), std::string::npos) << "a held request never lets "
                                                            "--virtual-time-budget end";
}

// Chinese shows as boxes unless a CJK font the page names is on the machine (fonts-noto-cjk,
// which tools/run installs): each CJK family the CSS names must be one fontconfig knows.
TEST(DashboardPage, NamesCjkFontsTheMachineHas) {
  const std::string page(DashboardPage());
  // Each quoted name holding "CJK": from the quote before each "CJK" to the quote after it (no
  // std::regex: its recursion overflows the stack on a page this long under ASan).
  std::set<std::string> families;
  for (size_t at = page.find("CJK"); at != std::string::npos; at = page.find("CJK", at + 3)) {
    const size_t open = page.rfind('"', at);
    const size_t close = page.find('"', at);
    if (open == std::string::npos || close == std::string::npos) continue;
    families.insert(page.substr(open + 1, close - open - 1));
  }
  EXPECT_TRUE(families.contains("Noto Sans CJK SC")) << "the body's font stack";
  EXPECT_TRUE(families.contains("Noto Sans Mono CJK SC")) << "the audit lines' font stack";
  for (const std::string& name : families) {
    const auto listed = RunCommand({"/usr/bin/fc-list", name + ":lang=zh-cn", "family"});
    EXPECT_EQ(listed.exit_code, 0) << listed.err;
    EXPECT_NE(listed.out.find(name), std::string::npos)
        << name << " is not installed (apt-get install fonts-noto-cjk): " << listed.out;
  }
}

// /dashboard.json's links and /status's stations come from one function (StationLinkToJson):
// each link holds the very object /status shows for its station, then the figures /status leaves
// out.
TEST(DashboardData, ALinkIsTheStatusStationPlusItsProgress) {
  StationLink link;
  link.unit = "P03";
  link.connected = true;
  link.last_seen_ms = 1200;
  link.lag_records = 7;
  link.pending_up = 2;
  link.up_total = 30;
  link.down_total = 40;
  link.rejected_total = 1;
  link.never_seen = false;
  link.scope = {"P03", "P04"};
  link.key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
  link.refused_total = 3;
  link.last_refusal = "clock ahead";
  link.lag_ms = 4500;
  link.snapshotting = true;
  link.snapshot_records_total = 1000;
  link.snapshot_records_left = 250;
  DashboardInput input;
  input.status.role = "hub";
  input.status.stations = {link};
  input.sync.stations = {link};
  const nlohmann::ordered_json data = DashboardJson(input);
  const nlohmann::ordered_json& station = data["status"]["stations"][0];
  ASSERT_EQ(data["links"].size(), 1u);
  nlohmann::ordered_json shown = data["links"][0];
  EXPECT_EQ(shown["lag_ms"], 4500);
  EXPECT_EQ(shown["snapshotting"], true);
  EXPECT_EQ(shown["snapshot_records_total"], 1000);
  EXPECT_EQ(shown["snapshot_records_left"], 250);
  for (const char* extra :
       {"lag_ms", "snapshotting", "snapshot_records_total", "snapshot_records_left"}) {
    EXPECT_FALSE(station.contains(extra)) << extra << " is not part of /status";
    shown.erase(extra);
  }
  EXPECT_EQ(shown.dump(), station.dump()) << "the same keys, values and order";
  EXPECT_EQ(station["scope"], Json::array({"P03", "P04"}));
  EXPECT_EQ(station["key"], link.key);
}

TEST(DashboardHistory, KeepsAnHourOfStepsAndAnswersWhatIsNewer) {
  StatusHistory history;
  SyncStatus sync;
  StationLink link;
  link.unit = "P01";
  link.lag_records = 3;
  sync.stations = {link};
  for (uint64_t i = 0; i < kHistorySamplesMax + 10; ++i) {
    history.Add(1000 + i * kHistoryStepMs, sync, i);
    history.Add(1000 + i * kHistoryStepMs + 1, sync, i);  // within the step: not kept
  }
  const uint64_t now = 1000 + (kHistorySamplesMax + 10) * kHistoryStepMs;
  const Json all = history.Since(0, now);
  ASSERT_EQ(all["samples"].size(), kHistorySamplesMax);
  EXPECT_EQ(all["last_n"], kHistorySamplesMax + 10);
  EXPECT_EQ(all["samples"][0]["n"], 11) << "the oldest dropped";
  EXPECT_EQ(all["samples"].back()["stations"]["P01"][1], 3);
  EXPECT_EQ(all["samples"].back()["age_ms"], kHistoryStepMs);
  const Json newer = history.Since(kHistorySamplesMax + 8, now);
  EXPECT_EQ(newer["samples"].size(), 2u);
}

TEST(DashboardEvents, KeepsAuditLinesAndWarningsOnly) {
  EXPECT_TRUE(IsAuditLine(spdlog::level::info, "audit: station P01 (actor x) looked up ..."));
  EXPECT_TRUE(IsAuditLine(spdlog::level::warn, "refused a sync handshake"));
  EXPECT_FALSE(IsAuditLine(spdlog::level::info, "station P01 linked"));
  RecentEventsCapture capture;
  for (size_t i = 0; i < kRecentEventsMax + 5; ++i) spdlog::warn("audit: line {}", i);
  spdlog::info("an ordinary line");
  spdlog::info("audit: {}", std::string(kRecentEventBytesMax * 2, 'x'));
  const auto events = capture.sink().Recent();
  ASSERT_EQ(events.size(), kRecentEventsMax);
  EXPECT_EQ(events.front().text, "audit: line 6");
  EXPECT_LE(events.back().text.size(), kRecentEventBytesMax + 40) << "clipped";
  EXPECT_EQ(events.back().level, "info");
  EXPECT_EQ(capture.sink().Recent(events.back().seq - 1).size(), 1u);
}

// syncbench's fleet runs many stations in one process, each loop making its capture on its own
// thread while the others log (an ASan double free in the logger's sink list, CI of stop 20).
TEST(DashboardEvents, CapturesMadeOnManyThreadsAtOnceEachSeeTheirLines) {
  RecentEventsCapture first;  // as in a process: the first before other threads log
  constexpr size_t kThreads = 8;
  constexpr size_t kRounds = 50;
  std::vector<size_t> seen(kThreads, 0);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([t, &seen] {
      for (size_t round = 0; round < kRounds; ++round) {
        RecentEventsCapture capture;
        const std::string line = fmt::format("audit: thread {} round {}", t, round);
        spdlog::warn("{}", line);
        for (const RecentEvent& event : capture.sink().Recent()) seen[t] += event.text == line;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (size_t t = 0; t < kThreads; ++t) EXPECT_EQ(seen[t], kRounds) << "thread " << t;
  EXPECT_EQ(first.sink().Recent().size(), kRecentEventsMax) << "the first saw every thread's";
}

// A hub with stations P01, P02 (syncing) and P03 (stopped, with changes waiting for it), HTTP on.
class DashboardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(std::filesystem::exists(kChromium))
        << kChromium
        << " is missing: the dashboard test needs Debian's chromium (tools/run installs it; "
           "by hand: apt-get install -y chromium)";
    DaemonRole role;
    role.hub = true;
    role.sync = testing::FreeTcpEndpoint();
    role.http = true;
    hub_ = std::make_unique<StationDaemon>("hub", "", role);
    ASSERT_TRUE(hub_->Start()) << hub_->Log();
    for (const char* unit : {"P01", "P02", "P03"}) {
      ASSERT_EQ(hub_->Ctl({"unit", "put", unit,
                           fmt::format(R"({{"name":"{} 派出所","kind":"station"}})", unit)})
                    .exit_code,
                0);
      auto station = StationDaemon::Station(unit, *hub_);
      ASSERT_EQ(station->Enroll(*hub_), 0);
      ASSERT_TRUE(station->Start()) << station->Log();
      ASSERT_EQ(station
                    ->Ctl({"put", "personnel", fmt::format("{}-001", unit),
                           R"({"name":"张伟","role":"officer"})"})
                    .exit_code,
                0);
      stations_[unit] = std::move(station);
    }
    for (auto& [unit, station] : stations_) {
      const auto synced = station->Ctl({"wait-synced", "--timeout", "60"});
      ASSERT_EQ(synced.exit_code, 0) << unit << ": " << synced.err << station->Log();
    }
    // A conflict: P03-001 renamed at the hub and, while P03 cannot reach it, at P03.
    StationDaemon& p03 = *stations_["P03"];
    ASSERT_EQ(p03.Stop(), 0);
    ASSERT_EQ(hub_->Ctl({"put", "personnel", "P03-001", R"js({"name":"张伟(总部)"})js"}).exit_code,
              0);
    const std::string hub_endpoint = p03.role().sync;
    p03.role().sync = testing::FreeTcpEndpoint();  // nothing listens there
    ASSERT_TRUE(p03.Start()) << p03.Log();
    ASSERT_EQ(p03.Ctl({"put", "personnel", "P03-001", R"js({"name":"张伟(派出所)"})js"}).exit_code,
              0);
    ASSERT_EQ(p03.Stop(), 0);
    p03.role().sync = hub_endpoint;
    ASSERT_TRUE(p03.Start()) << p03.Log();
    const auto synced = p03.Ctl({"wait-synced", "--timeout", "60"});
    ASSERT_EQ(synced.exit_code, 0) << synced.err << p03.Log();
    // P03 stops cleanly (the hub sees it go at once); five changes in its scope wait for it.
    ASSERT_EQ(p03.Stop(), 0);
    for (int i = 2; i <= 6; ++i) {
      ASSERT_EQ(hub_->Ctl({"put", "personnel", fmt::format("P03-{:03}", i),
                           R"({"name":"李娜","role":"officer"})", "--owner", "P03"})
                    .exit_code,
                0);
    }
  }

  std::string Url() const { return "http://" + hub_->http_address() + "/"; }

  // The hub's own view of each station (its /status), once the figures settled.
  std::map<std::string, Json> HubStations() {
    std::map<std::string, Json> out;
    auto status = HttpCall(*hub_, "GET", "/status");
    last_status_ = status ? status->body : httplib::to_string(status.error());
    if (!status || status->status != 200) return out;
    const Json parsed = Json::parse(status->body);  // outlives the loop (a temporary would not)
    for (const auto& station : parsed["stations"]) {
      out[station["unit"].get<std::string>()] = station;
    }
    return out;
  }

  std::unique_ptr<StationDaemon> hub_;
  std::map<std::string, std::unique_ptr<StationDaemon>> stations_;
  std::string last_status_;  // the last /status answer HubStations() read, for failure messages
};

TEST_F(DashboardTest, ABrowserShowsEveryStationsLagAndAStationGoingDown) {
  // The hub's figures: P03 is down with 5 changes waiting; the others linked, nothing waiting.
  std::map<std::string, Json> hub_view;
  ASSERT_TRUE(WaitUntil(
      [&] {
        hub_view = HubStations();
        return hub_view.size() == 3 && hub_view["P03"]["lag_records"] == 5 &&
               hub_view["P03"]["connected"] == false && hub_view["P01"]["connected"] == true &&
               hub_view["P02"]["connected"] == true && hub_view["P01"]["lag_records"] == 0 &&
               hub_view["P02"]["lag_records"] == 0;
      },
      std::chrono::seconds(30)))
      << Json(hub_view).dump() << "\n"
      << last_status_;

  // P01's replica verified against the hub (its last verify is shown; P02 has none).
  const auto verified = hub_->Ctl({"verify", "--station", "P01"});
  ASSERT_EQ(verified.exit_code, 0) << verified.err << stations_["P01"]->Log();
  // An audit line: P01 looks up a record outside its scope at the hub.
  const auto looked = stations_["P01"]->Ctl({"get", "--remote", "personnel", "P03-002"});
  ASSERT_EQ(looked.exit_code, 0) << looked.err;
  // A station keeps writing while the page loads: its own changes go up, none wait for it.
  std::atomic<bool> writing = true;
  std::thread writer([&] {
    auto client = stations_["P01"]->Client("P01-001");
    for (int i = 100; writing.load() && i < 10'000; ++i) {
      RecordPatch patch{Table::kPersonnel, fmt::format("P01-{}", i), "", {}};
      patch.fields["name"] = std::string("王芳");
      patch.fields["role"] = std::string("officer");
      (void)client->Put(patch);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  const auto dumped = Chromium(Url(), "--dump-dom");
  const std::filesystem::path screenshot = ArtifactDir() / "dashboard_hub.png";
  std::filesystem::remove(screenshot);
  const auto shot = Chromium(Url(), "--screenshot=" + screenshot.string());
  writing = false;
  writer.join();

  ASSERT_EQ(dumped.exit_code, 0) << dumped.err;
  const auto rows = StationRows(dumped.out);
  ASSERT_EQ(rows.size(), 3u) << dumped.out;
  for (const auto& [unit, expected] : hub_view) {
    SCOPED_TRACE(unit);
    ASSERT_TRUE(rows.contains(unit)) << dumped.out;
    const auto& row = rows.at(unit);
    EXPECT_EQ(row.at("lag"), std::to_string(expected["lag_records"].get<uint64_t>()));
    EXPECT_EQ(row.at("connected"), expected["connected"].get<bool>() ? "true" : "false");
  }
  EXPECT_NE(std::stod(rows.at("P03").at("lag-seconds")), 0.0) << "five changes are waiting";
  EXPECT_EQ(rows.at("P01").at("verify"), "clean");
  EXPECT_EQ(rows.at("P01").at("verify-differences"), "0");
  EXPECT_EQ(rows.at("P02").at("verify"), "never");
  EXPECT_FALSE(rows.at("P02").contains("verify-differences"));
  EXPECT_NE(dumped.out.find("data-role=\"hub\""), std::string::npos) << "the script ran";
  // The open conflict with both values, and the look-up's audit line.
  EXPECT_NE(dumped.out.find("<tr data-conflict="), std::string::npos) << dumped.out;
  EXPECT_NE(dumped.out.find("张伟(总部)"), std::string::npos) << dumped.out;
  EXPECT_NE(dumped.out.find("张伟(派出所)"), std::string::npos) << dumped.out;
  EXPECT_NE(dumped.out.find("looked up personnel P03-002"), std::string::npos) << dumped.out;

  EXPECT_EQ(shot.exit_code, 0) << shot.err;
  ASSERT_TRUE(std::filesystem::exists(screenshot)) << shot.err;
  EXPECT_GT(std::filesystem::file_size(screenshot), 10'000u);
  std::cout << "dashboard screenshot: " << screenshot.string() << std::endl;
  RecordProperty("screenshot", screenshot.string());

  // P02 dies (SIGKILL: no goodbye). The page shows it disconnected once the hub notices the
  // silence (SessionOptions::silence_ms, 5 s), bounded here at 30 s.
  stations_["P02"]->Kill();
  const auto killed_at = std::chrono::steady_clock::now();
  std::map<std::string, std::string> p02;
  std::string last_dom;
  const bool shown_down = WaitUntil(
      [&] {
        const auto again = Chromium(Url(), "--dump-dom");
        last_dom = again.out;
        const auto now_rows = StationRows(again.out);
        if (!now_rows.contains("P02")) return false;
        p02 = now_rows.at("P02");
        return p02["connected"] == "false";
      },
      std::chrono::seconds(30));
  EXPECT_TRUE(shown_down) << last_dom;
  std::cout << "P02 shown disconnected "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - killed_at)
                   .count()
            << " ms after SIGKILL" << std::endl;
  EXPECT_EQ(StationRows(last_dom)["P01"]["connected"], "true");
}

TEST_F(DashboardTest, TheDataCarriesWhatStatusLeavesOut) {
  // A refused write at the hub's API is not an audit line; a station's look-up is.
  const auto looked = stations_["P01"]->Ctl({"get", "--remote", "personnel", "P03-002"});
  ASSERT_EQ(looked.exit_code, 0) << looked.err;
  Json data;
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto answer = HttpCall(*hub_, "GET", "/dashboard.json");
        if (!answer || answer->status != 200) return false;
        data = Json::parse(answer->body);
        for (const auto& event : data["events"]) {
          if (event["text"].get<std::string>().find("looked up personnel P03-002") !=
              std::string::npos) {
            return true;
          }
        }
        return false;
      },
      std::chrono::seconds(20)))
      << data.dump();
  EXPECT_EQ(data["status"]["role"], "hub");
  ASSERT_EQ(data["links"].size(), 3u);
  for (const auto& link : data["links"]) {
    if (link["unit"] == "P03") {
      EXPECT_GT(link["lag_ms"].get<uint64_t>(), 0u);
    }
  }
  EXPECT_GE(data["history"]["samples"].size(), 1u);
  ASSERT_EQ(data["conflicts_open"], 1);
  ASSERT_EQ(data["conflicts"].size(), 1u);
  const Json& conflict = data["conflicts"][0];
  EXPECT_EQ(conflict["record"], "P03-001");
  EXPECT_EQ(conflict["field"], "name");
  EXPECT_EQ(std::set<std::string>({conflict["kept"]["value"], conflict["lost"]["value"]}),
            std::set<std::string>({"张伟(总部)", "张伟(派出所)"}));
  EXPECT_EQ(data["conflicts_by_node"]["P03"], 1);
  // The newer-than cursors: nothing new since the newest seq.
  const uint64_t newest = data["events"].back()["seq"];
  auto newer = HttpCall(*hub_, "GET", fmt::format("/dashboard.json?events_after={}", newest));
  ASSERT_TRUE(newer);
  EXPECT_TRUE(Json::parse(newer->body)["events"].empty());
}

// A station's page shows its own link: not connected (its hub is nowhere), with its lag and
// its pending changes.
TEST(DashboardStation, ShowsItsOwnLinkAndLag) {
  ASSERT_TRUE(std::filesystem::exists(kChromium))
      << kChromium << " is missing: tools/run installs it (apt-get install -y chromium)";
  DaemonRole role;
  role.http = true;
  role.sync = testing::FreeTcpEndpoint();  // a hub that never answers
  role.insecure = true;
  StationDaemon station("P07", "", role);
  ASSERT_TRUE(station.Start()) << station.Log();
  ASSERT_EQ(
      station.Ctl({"put", "personnel", "P07-001", R"({"name":"张伟","role":"officer"})"}).exit_code,
      0);
  const auto dumped = Chromium("http://" + station.http_address() + "/", "--dump-dom");
  ASSERT_EQ(dumped.exit_code, 0) << dumped.err;
  static const std::regex kLink(R"re(<table class="cards" id="link"([^>]*)>)re");
  std::smatch link;
  ASSERT_TRUE(std::regex_search(dumped.out, link, kLink)) << dumped.out;
  const std::string attributes = link[1].str();
  EXPECT_NE(attributes.find(R"(data-unit="P07")"), std::string::npos) << attributes;
  EXPECT_NE(attributes.find(R"(data-connected="false")"), std::string::npos) << attributes;
  EXPECT_NE(attributes.find(R"(data-lag="0")"), std::string::npos) << attributes;
  EXPECT_NE(attributes.find(R"(data-pending-up="1")"), std::string::npos) << attributes;
  EXPECT_EQ(dumped.out.find("<tr data-unit="), std::string::npos) << "no station table";
}

}  // namespace
}  // namespace stationsync
