#include "tools/syncctl/status_commands.h"

#include <chrono>
#include <iostream>
#include <thread>

#include <fmt/format.h>

#include "sync/codec/status_json.h"

namespace stationsync {
namespace {

using nlohmann::ordered_json;

bool IsHub(const NodeStatus& status) {
  return status.role == "hub";
}

std::string Ago(const StationLink& link) {
  if (link.never_seen) return "never";
  const uint64_t ms = link.last_seen_ms;
  if (ms < 1000) return fmt::format("{} ms ago", ms);
  if (ms < 60'000) return fmt::format("{} s ago", ms / 1000);
  if (ms < 3'600'000) return fmt::format("{} min ago", ms / 60'000);
  return fmt::format("{} h ago", ms / 3'600'000);
}

void PrintStationTable(const std::vector<StationLink>& stations) {
  fmt::print("\n");
  if (stations.empty()) {
    fmt::print("(no station units in the registry)\n");
    return;
  }
  constexpr auto kRow = "{:<16} {:<9} {:<12} {:>8} {:>10} {:>9} {:>9} {:>8}\n";
  fmt::print(kRow, "station", "connected", "last seen", "lag", "pending_up", "up", "down",
             "rejected");
  for (const auto& link : stations) {
    fmt::print(kRow, link.unit, link.connected ? "yes" : "no", Ago(link), link.lag_records,
               link.pending_up, link.up_total, link.down_total, link.rejected_total);
  }
}

void PrintStatus(const NodeStatus& status) {
  const ordered_json json = StatusJson(status);  // items() refers to it: keep it alive
  for (const auto& [key, value] : json.items()) {
    if (key != "stations") fmt::print("{:<15} {}\n", key + ":", value.dump());
  }
  if (IsHub(status)) PrintStationTable(status.stations);
}

}  // namespace

int CmdStatus(const GlobalFlags& flags) {
  auto client = MakeClient(flags);
  if (!client) return 2;
  auto status = client->GetStatus();
  if (!status.ok()) return Report(status.status());
  if (flags.json) {
    PrintLine(StatusJson(*status));
  } else {
    PrintStatus(*status);
  }
  return 0;
}

std::vector<std::string> NotSyncedReasons(const NodeStatus& status) {
  std::vector<std::string> reasons;
  auto pending = [&reasons](const std::string& who, uint64_t pending_up, uint64_t lag_records) {
    if (pending_up != 0 || lag_records != 0) {
      reasons.push_back(
          fmt::format("{}pending_up {}, lag_records {}", who, pending_up, lag_records));
    }
  };
  if (!IsHub(status)) {
    if (!status.hub_connected) reasons.push_back("hub not connected");
    pending("", status.pending_up, status.lag_records);
    return reasons;
  }
  for (const auto& link : status.stations) {
    if (!link.connected) reasons.push_back(fmt::format("station {}: not connected", link.unit));
    pending(fmt::format("station {}: ", link.unit), link.pending_up, link.lag_records);
  }
  return reasons;
}

int CmdWaitSynced(const GlobalFlags& flags, double timeout_s) {
  using SteadyClock = std::chrono::steady_clock;
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
  const auto deadline = SteadyClock::now() + timeout;
  // Each poll is bounded too, so a daemon that stops answering cannot hold us past the deadline
  // by more than one poll.
  GlobalFlags poll_flags = flags;
  poll_flags.timeout_s = std::min(1.0, timeout_s);
  auto client = MakeClient(poll_flags);
  if (!client) return 2;
  std::vector<std::string> reasons;
  while (true) {
    auto status = client->GetStatus();
    if (status.ok()) {
      reasons = NotSyncedReasons(*status);
      if (reasons.empty()) {
        std::cout << (flags.json ? R"({"synced":true})" : "synced") << '\n';
        return 0;
      }
    } else if (status.status().code() == Code::kUnavailable) {
      reasons = {"daemon unreachable: " + status.status().message()};
    } else {
      return Report(status.status());  // a daemon that answers with an error will not recover
    }
    if (SteadyClock::now() + std::chrono::milliseconds(kWaitSyncedPollMs) >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(kWaitSyncedPollMs));
  }
  if (reasons.size() == 1) {
    std::cerr << fmt::format("syncctl: not synced after {} s: {}\n", timeout_s, reasons.front());
  } else {
    std::cerr << fmt::format("syncctl: not synced after {} s:\n", timeout_s);
    for (const auto& reason : reasons) std::cerr << "  " << reason << '\n';
  }
  return 1;
}

}  // namespace stationsync
