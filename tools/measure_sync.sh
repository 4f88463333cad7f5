#!/usr/bin/env bash
# Measures sync on this machine, N times (default 3), and prints each run and the medians:
#  - initial sync: the hub holds the 临朐 data set; the four urban stations start empty and get
#    their scopes (snapshot); records/s = records in those scopes / time until the hub's
#    wait-synced returns (polled every 150 ms); each run measures it with CURVE (as in
#    production) and then in plaintext (--insecure), so the ratio is the cost of CURVE;
#  - write-at-station to visible-at-hub latency at 20 writes/s (syncbench latency, 300 writes).
# Uses the release build: tools/run build first.
# Usage: tools/measure_sync.sh [RUNS]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$ROOT/build/bin"
RUNS="${1:-3}"
WORK="$(mktemp -d /tmp/stationsync-measure.XXXXXX)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
export SYNCD_ACTOR=measure
wait_api() {
  for _ in $(seq 100); do "$BIN/syncctl" --api "$1" --timeout 1 ping >/dev/null 2>&1 && return; sleep 0.1; done
  echo "no daemon at $1" >&2
  exit 1
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

"$BIN/syncgen" --profile linqu --seed 2020 --out "$WORK/gen" 2>/dev/null
URBAN=(370724510000 370724520000 370724530000 370724540000)
grep -v '"kind":"station"' "$WORK/gen/units.jsonl" >"$WORK/units.jsonl"
for unit in "${URBAN[@]}"; do grep "\"id\":\"$unit\"" "$WORK/gen/units.jsonl" >>"$WORK/units.jsonl"; done
cat "$WORK"/gen/records-*.jsonl >"$WORK/all.jsonl"
scoped=0
for unit in "${URBAN[@]}"; do scoped=$((scoped + $(wc -l <"$WORK/gen/records-$unit.jsonl"))); done

rates=() plain_rates=() ratios=() p50s=() p99s=()
for run in $(seq "$RUNS"); do
 for mode in plain curve; do
  [ "$mode" = curve ] && tag=$run || tag="$run-plain"
  hub_api="ipc://$WORK/hub$tag.api"
  sync="ipc://$WORK/hub$tag.sync"
  insecure=()
  [ "$mode" = plain ] && insecure=(--insecure)
  "$BIN/syncd" hub --data "$WORK/hub$tag" --listen "$sync" --api "$hub_api" "${insecure[@]}" \
    2>/dev/null &
  PIDS+=($!)
  wait_api "$hub_api"
  "$BIN/syncctl" --api "$hub_api" import "$WORK/units.jsonl" >/dev/null
  "$BIN/syncctl" --api "$hub_api" import "$WORK/all.jsonl" >/dev/null
  for unit in "${URBAN[@]}"; do  # CURVE: a key per station, enrolled before the clock starts
    [ "$mode" = plain ] && break
    "$BIN/syncctl" keygen --out "$WORK/$unit-$tag.cert" >/dev/null
    "$BIN/syncctl" --api "$hub_api" unit enroll "$unit" "@$WORK/$unit-$tag.cert" >/dev/null
  done
  start=$(date +%s%N)
  for unit in "${URBAN[@]}"; do
    api="ipc://$WORK/$unit-$tag.api"
    keys=("${insecure[@]}")
    [ "$mode" = curve ] && keys=(--hub-key "@$WORK/hub$tag/node.cert" --key "$WORK/$unit-$tag.cert_secret")
    "$BIN/syncd" station --unit "$unit" --data "$WORK/$unit-$tag" --api "$api" --hub "$sync" \
      "${keys[@]}" 2>/dev/null &
    PIDS+=($!)
  done
  "$BIN/syncctl" --api "$hub_api" wait-synced --timeout 600 >/dev/null
  ms=$((($(date +%s%N) - start) / 1000000))
  rate=$((scoped * 1000 / ms))
  if [ "$mode" = plain ]; then
    plain_rate=$rate
    echo "run $run: plaintext initial sync of $scoped records to 4 empty stations in $ms ms ($rate records/s)"
    plain_rates+=("$rate")
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    PIDS=()
    continue
  fi
  ratios+=("$(awk -v c="$rate" -v p="$plain_rate" 'BEGIN {printf "%.3f", c / p}')")
  latency=$("$BIN/syncbench" latency --station "ipc://$WORK/${URBAN[0]}-$run.api" --hub "$hub_api" \
    --unit "${URBAN[0]}" --writes 300 --rate 20)
  p50=$(sed 's/.*p50 \([0-9.]*\) ms.*/\1/' <<<"$latency")
  p99=$(sed 's/.*p99 \([0-9.]*\) ms.*/\1/' <<<"$latency")
  echo "run $run: CURVE initial sync of $scoped records to 4 empty stations in $ms ms ($rate records/s, ${ratios[-1]} of plaintext); $latency"
  rates+=("$rate") p50s+=("$p50") p99s+=("$p99")
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  PIDS=()
 done
done
echo "median over $RUNS runs: initial sync with CURVE $(printf '%s\n' "${rates[@]}" | median) records/s," \
  "plaintext $(printf '%s\n' "${plain_rates[@]}" | median) records/s, CURVE/plaintext" \
  "$(printf '%s\n' "${ratios[@]}" | median);" \
  "latency p50 $(printf '%s\n' "${p50s[@]}" | median) ms, p99 $(printf '%s\n' "${p99s[@]}" | median) ms"
