#include "tools/syncctl/status_commands.h"

#include <chrono>
#include <iostream>
#include <thread>

#include <fmt/format.h>

namespace stationsync {
namespace {

using nlohmann::ordered_json;

bool IsHub(const NodeStatus& status) {
  return status.role == "hub";
}

ordered_json StationJson(const StationLink& link) {
  ordered_json out;
  out["unit"] = link.unit;
  out["connected"] = link.connected;
  out["last_seen_ms"] = link.last_seen_ms;
  out["lag_records"] = link.lag_records;
  out["pending_up"] = link.pending_up;
  out["up_total"] = link.up_total;
  out["down_total"] = link.down_total;
  out["rejected_total"] = link.rejected_total;
  out["never_seen"] = link.never_seen;
  out["scope"] = link.scope;
  out["key"] = link.key.empty() ? ordered_json(nullptr) : ordered_json(link.key);
  out["refused_total"] = link.refused_total;
  out["last_refusal"] = link.last_refusal;
  return out;
}

ordered_json StatusJson(const NodeStatus& status) {
  ordered_json out;
  out["role"] = status.role;
  if (IsHub(status)) {
    out["records"] = status.records;
    out["conflicts_open"] = status.conflicts_open;
    out["stations"] = ordered_json::array();
    for (const auto& link : status.stations) out["stations"].push_back(StationJson(link));
    out["unit"] = status.unit;
    out["node"] = status.node;
    out["last_seq"] = status.last_seq;
    out["public_key"] = status.public_key;
    out["refused_unknown_key_total"] = status.refused_unknown_key_total;
    out["refused_handshake_total"] = status.refused_handshake_total;
    out["last_handshake_refusal"] = status.last_handshake_refusal;
    return out;
  }
  // The station's keys before sync came first; scripts may rely on their order.
  out["unit"] = status.unit;
  out["node"] = status.node;
  out["records"] = status.records;
  out["pending_up"] = status.pending_up;
  out["hub_connected"] = status.hub_connected;
  out["last_seq"] = status.last_seq;
  out["lag_records"] = status.lag_records;
  out["conflicts_open"] = status.conflicts_open;
  out["scope"] = status.scope;
  out["public_key"] = status.public_key;
  out["hub_refusal"] = status.hub_refusal;
  out["clock_ahead_ms"] = status.clock_ahead_ms;
  return out;
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
