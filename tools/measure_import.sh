#!/usr/bin/env bash
# Measures the import rate of the 临朐 data set into a fresh hub (a station holds only its own
# records), N times (default 3), and prints each run's records/s and the median. Uses the
# release build: tools/run build first.
# Usage: tools/measure_import.sh [RUNS]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$ROOT/build/bin"
RUNS="${1:-3}"
WORK="$(mktemp -d /tmp/stationsync-measure.XXXXXX)"
PID=""
cleanup() {
  [ -n "$PID" ] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

"$BIN/syncgen" --profile linqu --seed 2020 --out "$WORK/gen" 2>/dev/null
cat "$WORK/gen/units.jsonl" "$WORK"/gen/records-*.jsonl >"$WORK/all.jsonl"
rates=()
for run in $(seq "$RUNS"); do
  api="ipc://$WORK/api$run.sock"
  "$BIN/syncd" hub --data "$WORK/hub$run" --listen "ipc://$WORK/sync$run" --api "$api" 2>/dev/null &
  PID=$!
  for _ in $(seq 100); do "$BIN/syncctl" --api "$api" --timeout 1 ping >/dev/null 2>&1 && break; sleep 0.1; done
  summary=$("$BIN/syncctl" --api "$api" --actor measure import "$WORK/all.jsonl" 2>&1 | tail -1)
  rate=$(sed 's/.*(\([0-9]*\) records\/s).*/\1/' <<<"$summary")
  echo "run $run: $summary"
  rates+=("$rate")
  kill -TERM "$PID"
  wait "$PID" || true
  PID=""
done
median=$(printf '%s\n' "${rates[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
echo "median import rate: $median records/s over $RUNS runs ($(wc -l <"$WORK/all.jsonl") records)"
