#!/usr/bin/env bash
# Measures the 临朐 merge on this machine, N times (default 3) at each of two sizes, and prints
# each run and the medians. A run: a fresh hub holds the bureau's units and the four urban
# stations' records; the four stations start empty and get their own scopes (initial sync, not
# timed); then `merge --into 城里 南关 北关 城关 --as suboffice` at the hub, and the time from that
# command until all four stations' digests equal the hub's digest of the group (all five polled
# together every 50 ms). Sizes: the demo's data set (syncgen scale 1), then 4x (scale 4).
# Uses the release build: tools/run build first.
# Usage: tools/measure_merge.sh [RUNS]
#   BIN=DIR: binaries from elsewhere (default build/bin); SCALES="0.1 0.4": other sizes.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${BIN:-$ROOT/build/bin}"
RUNS="${1:-3}"
read -r -a SCALES <<<"${SCALES:-1 4}"
WORK="$(mktemp -d /tmp/stationsync-measure.XXXXXX)"
PIDS=()
stop_all() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  PIDS=()
}
cleanup() {
  stop_all
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
# The "root" and "records" of a digest --json line, as "ROOT RECORDS SCOPE".
digest_key() { sed -n 's/.*"scope":\[\([^]]*\)\].*"records":\([0-9]*\).*"root":"\([0-9a-f]*\)".*/\3 \2 \1/p'; }

URBAN=(370724510000 370724520000 370724530000 370724540000)
INTO="${URBAN[0]}"

# measure SCALE: RUNS merges of a fresh cluster holding the scale's data set.
measure() {
  local scale="$1" gen="$WORK/gen-$1"
  "$BIN/syncgen" --profile linqu --seed 2020 --scale "$scale" --out "$gen" 2>/dev/null
  grep -v '"kind":"station"' "$gen/units.jsonl" >"$gen/registry.jsonl"
  for unit in "${URBAN[@]}"; do grep "\"id\":\"$unit\"" "$gen/units.jsonl" >>"$gen/registry.jsonl"; done
  local unit
  for unit in "${URBAN[@]}"; do cat "$gen/records-$unit.jsonl"; done >"$gen/urban.jsonl"
  local lines bytes
  lines=$(wc -l <"$gen/urban.jsonl")
  bytes=$(wc -c <"$gen/urban.jsonl")
  local times=() records=""
  for run in $(seq "$RUNS"); do
    local dir="$WORK/s$scale-r$run"
    mkdir -p "$dir"
    local hub_api="ipc://$dir/hub.api" sync="ipc://$dir/hub.sync"
    "$BIN/syncd" hub --data "$dir/hub" --listen "$sync" --api "$hub_api" 2>>"$dir/hub.log" &
    PIDS+=($!)
    wait_api "$hub_api"
    for file in registry urban; do
      "$BIN/syncctl" --api "$hub_api" import "$gen/$file.jsonl" >"$dir/import.log" 2>&1 || {
        cat "$dir/import.log" >&2
        exit 1
      }
    done
    for unit in "${URBAN[@]}"; do  # CURVE, as in production: a key per station, enrolled
      "$BIN/syncctl" keygen --out "$dir/$unit.cert" >/dev/null
      "$BIN/syncctl" --api "$hub_api" unit enroll "$unit" "@$dir/$unit.cert" >/dev/null
      "$BIN/syncd" station --unit "$unit" --data "$dir/$unit" --api "ipc://$dir/$unit.api" \
        --hub "$sync" --hub-key "@$dir/hub/node.cert" --key "$dir/$unit.cert_secret" \
        2>>"$dir/$unit.log" &
      PIDS+=($!)
    done
    for unit in "${URBAN[@]}"; do wait_api "ipc://$dir/$unit.api"; done
    "$BIN/syncctl" --api "$hub_api" wait-synced --timeout 900 >/dev/null

    local start ms=""
    start=$(date +%s%N)
    "$BIN/syncctl" --api "$hub_api" merge --into "$INTO" "${URBAN[@]:1}" --as suboffice >/dev/null
    for _ in $(seq 12000); do # at most 10 min
      local polls=()
      "$BIN/syncctl" --api "$hub_api" digest --scope "$INTO" --json >"$dir/d.hub" 2>/dev/null &
      polls+=($!)
      for unit in "${URBAN[@]}"; do
        "$BIN/syncctl" --api "ipc://$dir/$unit.api" digest --json >"$dir/d.$unit" 2>/dev/null &
        polls+=($!)
      done
      for pid in "${polls[@]}"; do wait "$pid" || true; done
      local want
      want=$(digest_key <"$dir/d.hub")
      local equal=1
      [[ "$want" == *,*,*,* ]] || equal=0 # the hub already sees a group of four
      for unit in "${URBAN[@]}"; do
        [ "$(digest_key <"$dir/d.$unit")" = "$want" ] || equal=0
      done
      if [ "$equal" = 1 ]; then
        ms=$((($(date +%s%N) - start) / 1000000))
        records=$(cut -d' ' -f2 <<<"$want")
        break
      fi
      sleep 0.05
    done
    [ -n "$ms" ] || {
      echo "scale $scale run $run: the digests did not converge within 10 min" >&2
      exit 1
    }
    echo "scale $scale run $run: merge of 4 stations ($records records in the group) converged in $ms ms"
    times+=("$ms")
    stop_all
    rm -rf "$dir"
  done
  echo "scale $scale: data set $lines records ($((bytes / 1024)) KiB of JSON lines), group digest $records records;" \
    "median over $RUNS runs: $(printf '%s\n' "${times[@]}" | median) ms from merge to equal digests"
}

for scale in "${SCALES[@]}"; do measure "$scale"; done
