// http-writes: local applications writing through the app API (PUT /v1/records/..., JSON over
// HTTP) with --clients concurrent clients, each answered only once its write is durable, beside
// `syncctl import` of the same records into the same kind of node in the same run (the
// baseline: the fastest way records enter a node today, batches of 1,000 per durable commit).
#include <fstream>
#include <memory>
#include <vector>

#include <fmt/format.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "tools/syncbench/benches.h"
#include "tools/syncbench/cluster.h"
#include "tools/syncbench/concurrent_writes.h"

namespace stationsync::bench {
namespace {

struct Put {
  std::string path;  // /v1/records/TABLE/ID?owner=OWNER
  std::string body;  // the fields, as JSON
};

// The import file's records as app API writes (ids and owners are codes or digits: nothing to
// escape in the path).
Result<std::vector<Put>> LoadPuts(const std::string& records_path) {
  std::ifstream in(records_path);
  if (!in) return Internal("cannot read " + records_path);
  std::vector<Put> puts;
  for (std::string line; std::getline(in, line);) {
    const auto json = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!json.is_object()) return Internal("a bench record is not a JSON object: " + line);
    puts.push_back({fmt::format("/v1/records/{}/{}?owner={}", json.value("table", ""),
                                json.value("id", ""), json.value("owner", "")),
                    json["fields"].dump()});
  }
  return puts;
}

}  // namespace

Status HttpWrites(const BenchOptions& options, size_t clients, size_t records, Report& report) {
  std::string source;
  auto data = Data(options, records, 1, &source);
  if (!data.ok()) return data.status();
  auto puts = LoadPuts(data->records_path);
  if (!puts.ok()) return puts.status();
  for (int run = 1; run <= options.runs; ++run) {
    const std::string dir = RunDir(options, "http-writes", run);
    // The baseline: syncctl import of the same records into a fresh hub.
    auto importer = StartHub(dir + "/import", *data, /*with_records=*/false);
    if (!importer.ok()) return importer.status();
    const auto import_start = Clock::now();
    auto imported = (*importer)->Ctl({"import", data->records_path}, "", kLongCommand);
    if (imported.exit_code != 0) return Failed("syncctl import", imported);
    const double import_rate = static_cast<double>(puts->size()) / SecondsSince(import_start);
    (*importer)->Stop();

    auto hub = StartHub(dir + "/http", *data, /*with_records=*/false, /*http=*/true);
    if (!hub.ok()) return hub.status();
    const std::string address = (*hub)->http_address();
    const size_t colon = address.rfind(':');
    const std::string host = address.substr(0, colon);
    const int port = std::stoi(address.substr(colon + 1));
    auto timed = RunConcurrentWrites(clients, puts->size(), [&](size_t c) -> WriteOne {
      // One keep-alive connection per client, as an application would hold.
      auto client = std::make_shared<httplib::Client>(host, port);
      client->set_keep_alive(true);
      client->set_tcp_nodelay(true);  // as curl and browsers do: headers and body go at once
      client->set_read_timeout(30);
      const httplib::Headers headers{{"X-Actor", fmt::format("bench-app-{}", c)}};
      return [&puts, client, headers](size_t i) {
        const Put& put = (*puts)[i];
        auto answer = client->Put(put.path.c_str(), headers, put.body, "application/json");
        if (answer && answer->status == 200) return Status::Ok();
        return Internal(answer ? fmt::format("{} {}: {}", put.path, answer->status, answer->body)
                               : httplib::to_string(answer.error()));
      };
    });
    if (!timed.ok()) return Internal("an HTTP write failed: " + timed.status().message());
    const double seconds = timed->seconds;
    // Every acknowledged record is there (the count includes the units imported first).
    auto status = (*hub)->Client("syncbench")->GetStatus();
    if (!status.ok()) return status.status();
    if (status->records < puts->size()) {
      return Internal(fmt::format("the hub holds {} records after {} acknowledged writes",
                                  status->records, puts->size()));
    }
    (*hub)->Stop();
    const std::vector<double>& all = timed->latencies_ms;
    Add(report, {"http_durable_write_rate", static_cast<double>(puts->size()) / seconds, "writes/s",
                 "syncctl_import_rate", import_rate});
    Add(report, {"http_durable_write_p50_ms", Quantile(all, 0.50), "ms", "", 0});
    Add(report, {"http_durable_write_p99_ms", Quantile(all, 0.99), "ms", "", 0});
    std::filesystem::remove_all(dir);
  }
  return Status::Ok();
}

}  // namespace stationsync::bench
