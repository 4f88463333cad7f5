// syncd --log-format json (sync/base/json_log.h): every line is one JSON object with time,
// level, unit, event and fields; LogEvent's event and fields reach the line and plain spdlog
// calls are event "log"; a peer's text with newlines or bytes that are not UTF-8 stays one valid
// line; and a real syncd logging JSON writes nothing else to its log.
#include "sync/base/json_log.h"

#include <fstream>
#include <set>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <spdlog/sinks/ostream_sink.h>

#include "tests/support/process.h"

namespace stationsync {
namespace {

using testing::BinPath;
using testing::TempDir;
using Json = nlohmann::json;

// Each line parsed, failing the test for a line that is not a JSON object with every key.
std::vector<Json> ParseLines(const std::string& text) {
  std::vector<Json> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    const Json json = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    EXPECT_TRUE(json.is_object()) << "not a JSON object: " << line;
    if (!json.is_object()) continue;
    for (const char* key : {"time", "level", "unit", "event", "fields", "message"}) {
      EXPECT_TRUE(json.contains(key)) << key << " missing in " << line;
    }
    EXPECT_TRUE(json["fields"].is_object()) << line;
    lines.push_back(json);
  }
  return lines;
}

TEST(JsonLog, EventsFieldsAndPlainLinesAsOneJsonObjectALine) {
  std::ostringstream out;
  const auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>(
      "json-test", std::make_shared<spdlog::sinks::ostream_sink_mt>(out)));
  InstallJsonLogFormat("P01");
  LogEvent(spdlog::level::info, "backup_written", {{"path", "/b"}, {"files", 7}},
           "backup written to {}: {} files", "/b", 7);
  spdlog::warn("a peer said {}", std::string("two\nlines and \xff\xfe bad bytes"));
  spdlog::set_default_logger(previous);

  const std::vector<Json> lines = ParseLines(out.str());
  ASSERT_EQ(lines.size(), 2u) << out.str();
  EXPECT_EQ(lines[0]["level"], "info");
  EXPECT_EQ(lines[0]["unit"], "P01");
  EXPECT_EQ(lines[0]["event"], "backup_written");
  EXPECT_EQ(lines[0]["fields"], (Json{{"path", "/b"}, {"files", 7}}));
  EXPECT_EQ(lines[0]["message"], "backup written to /b: 7 files");
  EXPECT_EQ(lines[1]["level"], "warning");
  EXPECT_EQ(lines[1]["event"], "log");
  EXPECT_EQ(lines[1]["fields"], Json::object());
  EXPECT_EQ(lines[1]["message"].get<std::string>().substr(0, 16), "a peer said two\n");
  // RFC 3339, UTC, milliseconds: 2024-03-01T00:30:00.123Z
  const std::string time = lines[0]["time"];
  ASSERT_EQ(time.size(), 24u) << time;
  EXPECT_EQ(time[10], 'T');
  EXPECT_EQ(time.back(), 'Z');
}

TEST(JsonLog, ARealSyncdLogsOnlyJsonLinesWithItsEvents) {
  TempDir dir;
  const std::string api = "ipc://" + dir / "api.sock";
  testing::Process syncd({BinPath("syncd"), "station", "--unit", "P01", "--data", dir / "data",
                          "--api", api, "--http", "off", "--log-format", "json"},
                         dir / "syncd.log");
  ApiClient client(api, std::chrono::seconds(5), "tester");
  ASSERT_TRUE(testing::WaitUntil([&] { return client.Ping().ok(); }, std::chrono::seconds(30)));
  ASSERT_TRUE(client.Backup(dir / "backup").ok());
  EXPECT_EQ(client.Backup(dir / "backup").status().code(), Code::kRefused);  // an error line
  syncd.Signal(SIGTERM);
  ASSERT_EQ(syncd.Wait(std::chrono::seconds(30)), 0);

  std::ifstream in(dir / "syncd.log");
  std::stringstream text;
  text << in.rdbuf();
  const std::vector<Json> lines = ParseLines(text.str());
  std::set<std::string> events;
  for (const Json& line : lines) {
    EXPECT_EQ(line["unit"], "P01") << line.dump();
    events.insert(line["event"].get<std::string>());
  }
  for (const char* event : {"ready", "backup_written", "backup_refused", "stopping"}) {
    EXPECT_TRUE(events.contains(event)) << event << " missing in:\n" << text.str();
  }
  for (const Json& line : lines) {
    if (line["event"] == "ready") {
      EXPECT_EQ(line["fields"]["role"], "station") << line.dump();
    }
  }
}

}  // namespace
}  // namespace stationsync
