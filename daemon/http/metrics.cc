// See metrics.h.
#include "daemon/http/metrics.h"

#include <algorithm>
#include <cassert>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace stationsync {
namespace {

using Labels = std::vector<std::pair<std::string, std::string>>;

// Appends families to a text exposition; each family's samples follow its header.
class Exposition {
 public:
  void Family(const std::string& name, const char* type, const char* help) {
    assert(name.starts_with("stationsync_"));
    assert((std::string_view(type) == "counter") == name.ends_with("_total"));
    family_ = name;
    out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  }
  void Sample(double value, const Labels& labels = {}, const std::string& suffix = "") {
    out_ += family_ + suffix;
    if (!labels.empty()) {
      out_ += '{';
      for (size_t i = 0; i < labels.size(); ++i) {
        if (i > 0) out_ += ',';
        out_ += fmt::format("{}=\"{}\"", labels[i].first, EscapeLabelValue(labels[i].second));
      }
      out_ += '}';
    }
    out_ += fmt::format(" {}\n", value);
  }
  void Histogram(const LatencyHistogram& histogram) {
    uint64_t cumulative = 0;
    for (size_t i = 0; i < LatencyHistogram::kBoundsUs.size(); ++i) {
      cumulative += histogram.buckets[i];
      const double le = static_cast<double>(LatencyHistogram::kBoundsUs[i]) / 1e6;
      Sample(static_cast<double>(cumulative), {{"le", fmt::format("{}", le)}}, "_bucket");
    }
    cumulative += histogram.buckets.back();
    assert(cumulative == histogram.count);
    Sample(static_cast<double>(cumulative), {{"le", "+Inf"}}, "_bucket");
    Sample(static_cast<double>(histogram.sum_us) / 1e6, {}, "_sum");
    Sample(static_cast<double>(histogram.count), {}, "_count");
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
  std::string family_;
};

double Num(uint64_t value) {
  return static_cast<double>(value);
}
double Seconds(uint64_t ms) {
  return static_cast<double>(ms) / 1000.0;
}

void NodeFamilies(const MetricsInput& in, Exposition& out) {
  const NodeStatus& status = in.status;
  out.Family("stationsync_node_info", "gauge", "This node: its role, unit and node id.");
  out.Sample(1, {{"role", status.role}, {"unit", status.unit}, {"node", status.node}});
  out.Family("stationsync_records", "gauge", "Live records in the replica (status records).");
  out.Sample(Num(status.records));
  if (!in.stored_by_table.empty()) {
    out.Family("stationsync_records_stored", "gauge",
               "Records stored by table, tombstones of deleted records included.");
    for (const auto& [table, count] : in.stored_by_table) {
      out.Sample(Num(count), {{"table", std::string(TableName(table))}});
    }
  }
  out.Family("stationsync_log_last_seq", "gauge",
             "Sequence number of the newest change-log entry (status last_seq).");
  out.Sample(Num(status.last_seq));
  out.Family("stationsync_conflicts_open", "gauge", "Conflicts waiting for a person to resolve.");
  out.Sample(Num(status.conflicts_open));
  out.Family("stationsync_loop_age_seconds", "gauge", "Time since the daemon's loop last turned.");
  out.Sample(Seconds(in.loop_age_ms));
  out.Family("stationsync_write_commit_seconds", "histogram",
             "Durable group commits of local writes (Replica::Write of one loop turn).");
  out.Histogram(in.write_latency);
  out.Family("stationsync_wal_sync_seconds", "histogram",
             "Syncs (fsync, fdatasync) of RocksDB's write-ahead log: what a durable write waits "
             "for.");
  out.Histogram(in.wal_sync_latency);
  out.Family("stationsync_store_live_data_bytes", "gauge", "RocksDB's estimate of live data.");
  out.Sample(Num(in.store.live_data_bytes));
  out.Family("stationsync_store_sst_bytes", "gauge", "RocksDB table files of the current version.");
  out.Sample(Num(in.store.sst_bytes));
  out.Family("stationsync_store_memtable_bytes", "gauge", "RocksDB memtables.");
  out.Sample(Num(in.store.memtable_bytes));
  out.Family("stationsync_store_wal_bytes", "gauge", "RocksDB write-ahead log files.");
  out.Sample(Num(in.store.wal_bytes));
}

void StationFamilies(const NodeStatus& status, Exposition& out) {
  out.Family("stationsync_hub_connected", "gauge", "1 while linked to the hub.");
  out.Sample(status.hub_connected ? 1 : 0);
  out.Family("stationsync_lag_records", "gauge",
             "Hub changes in this station's scope it does not hold yet, as the hub last said.");
  out.Sample(Num(status.lag_records));
  out.Family("stationsync_pending_up_records", "gauge",
             "Local changes the hub has not acknowledged.");
  out.Sample(Num(status.pending_up));
  out.Family("stationsync_clock_ahead_seconds", "gauge",
             "This station's clock minus the hub's, as last measured.");
  out.Sample(static_cast<double>(status.clock_ahead_ms) / 1000.0);
}

// One family per figure, with a sample for each station.
template <typename Value>
void PerStation(const NodeStatus& status, Exposition& out, const std::string& name,
                const char* type, const char* help, Value value) {
  out.Family("stationsync_station_" + name, type, help);
  for (const StationLink& link : status.stations) {
    if (auto sample = value(link)) out.Sample(*sample, {{"unit", link.unit}});
  }
}

void HubFamilies(const NodeStatus& status, Exposition& out) {
  using Opt = std::optional<double>;
  PerStation(status, out, "connected", "gauge", "1 while the station is linked.",
             [](const StationLink& l) { return Opt(l.connected ? 1 : 0); });
  PerStation(
      status, out, "last_seen_seconds", "gauge",
      "Time since the station was last heard from (absent if never since the hub started).",
      [](const StationLink& l) { return l.never_seen ? Opt() : Opt(Seconds(l.last_seen_ms)); });
  PerStation(status, out, "lag_records", "gauge",
             "Changes in the station's scope it has not acknowledged.",
             [](const StationLink& l) { return Opt(Num(l.lag_records)); });
  PerStation(status, out, "lag_seconds", "gauge",
             "Age of the oldest change in the station's scope it has not acknowledged.",
             [](const StationLink& l) { return Opt(Seconds(l.lag_ms)); });
  PerStation(status, out, "pending_up_records", "gauge",
             "The station's own changes the hub has not acknowledged, as last reported.",
             [](const StationLink& l) { return Opt(Num(l.pending_up)); });
  PerStation(status, out, "changes_up_total", "counter",
             "Changes received from the station since the hub started.",
             [](const StationLink& l) { return Opt(Num(l.up_total)); });
  PerStation(status, out, "changes_down_total", "counter",
             "Records sent to the station since the hub started.",
             [](const StationLink& l) { return Opt(Num(l.down_total)); });
  out.Family("stationsync_station_rejected_changes_total", "counter",
             "Changes from the station refused since the hub started, by reason.");
  for (const StationLink& link : status.stations) {
    out.Sample(Num(link.rejected_out_of_scope_total),
               {{"unit", link.unit}, {"reason", "out_of_scope"}});
    out.Sample(Num(link.rejected_invalid_total), {{"unit", link.unit}, {"reason", "invalid"}});
  }
  PerStation(status, out, "refusals_total", "counter",
             "Links or batches of the station refused since the hub started (wrong unit, clock "
             "ahead, revoked key, look-up rate).",
             [](const StationLink& l) { return Opt(Num(l.refused_total)); });
  PerStation(status, out, "snapshot_in_progress", "gauge",
             "1 while a snapshot of the station's scope is being sent.",
             [](const StationLink& l) { return Opt(l.snapshotting ? 1 : 0); });
  PerStation(status, out, "snapshot_progress_ratio", "gauge",
             "Share of the snapshot in progress the station acknowledged (0 when none).",
             [](const StationLink& l) {
               if (!l.snapshotting || l.snapshot_records_total == 0) return Opt(0);
               const uint64_t done = l.snapshot_records_total -
                                     std::min(l.snapshot_records_left, l.snapshot_records_total);
               return Opt(Num(done) / Num(l.snapshot_records_total));
             });
  out.Family("stationsync_handshakes_refused_total", "counter",
             "Sync handshakes refused since the hub started: a key no station holds "
             "(unknown_key), or a failure before a key was offered (failed).");
  out.Sample(Num(status.refused_unknown_key_total), {{"reason", "unknown_key"}});
  out.Sample(Num(status.refused_handshake_total), {{"reason", "failed"}});
}

}  // namespace

std::string EscapeLabelValue(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string FormatMetrics(const MetricsInput& input) {
  Exposition out;
  NodeFamilies(input, out);
  if (input.status.role == "hub") {
    HubFamilies(input.status, out);
  } else {
    StationFamilies(input.status, out);
  }
  return out.Take();
}

}  // namespace stationsync
