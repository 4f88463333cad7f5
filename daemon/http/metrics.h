// syncd's metrics in the Prometheus text exposition format (version 0.0.4), as GET /metrics
// serves them. A pure function of plain values, so it is tested without a daemon.
//
// Invariants (checked by `promtool check metrics` in tests/http_test.cc):
//  1. every name starts with "stationsync_", and each family has one HELP and one TYPE line
//     before its samples;
//  2. counters end in "_total", and only counters do; units are base units (seconds, bytes);
//  3. label values are escaped (backslash, double quote, newline);
//  4. histogram buckets are cumulative, end with le="+Inf", and equal _count there.
//
// Families (labels in braces; hub: only at the hub; station: only at a station):
//   stationsync_node_info{role,unit,node}               1
//   stationsync_records                                  live records (status "records")
//   stationsync_records_stored{table}                    records by table, tombstones included
//   stationsync_log_last_seq                             the log position (status "last_seq")
//   stationsync_conflicts_open                           (status "conflicts_open")
//   stationsync_loop_age_seconds                         since the daemon's loop last turned
//   stationsync_write_commit_seconds                     histogram: the API's group commits
//   stationsync_wal_sync_seconds                         histogram: syncs of the RocksDB WAL
//   stationsync_store_{live_data,sst,memtable,wal}_bytes RocksDB's sizes (Replica::Sizes)
//   station: stationsync_hub_connected, stationsync_lag_records,
//            stationsync_pending_up_records, stationsync_clock_ahead_seconds
//   hub, per station {unit}: stationsync_station_connected, _last_seen_seconds (since heard
//            from; absent if never), _lag_records, _lag_seconds, _pending_up_records,
//            _changes_up_total, _changes_down_total, _rejected_changes_total{reason=
//            "out_of_scope"|"invalid"}, _refusals_total, _snapshot_in_progress,
//            _snapshot_progress_ratio (0..1; 0 when none in progress)
//   hub: stationsync_handshakes_refused_total{reason="unknown_key"|"failed"}
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "daemon/latency_histogram.h"
#include "sync/codec/api_codec.h"
#include "sync/records/record.h"
#include "sync/storage/replica.h"

namespace stationsync {

struct MetricsInput {
  NodeStatus status;                          // as GET /status reports it
  std::map<Table, uint64_t> stored_by_table;  // empty: the family is left out
  StoreSizes store;
  LatencyHistogram write_latency;
  LatencyHistogram wal_sync_latency;
  uint64_t loop_age_ms = 0;
};

std::string FormatMetrics(const MetricsInput& input);

// A label value escaped for the text format (invariant 3).
std::string EscapeLabelValue(const std::string& value);

}  // namespace stationsync
