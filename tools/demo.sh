#!/usr/bin/env bash
# The live demo behind `tools/run demo`: generates the 临朐 data set, starts a hub holding the
# four urban stations' records, provisions each station a CURVE key pair and enrols it at the
# hub, starts the four stations empty (a station with a key the hub never enrolled is refused),
# and shows the initial sync, writes
# flowing both ways, a station offline catching up (lag back to 0), a conflict listed and
# resolved, a rejected bad write, and the 2020 merge of the four stations into 城里 (all four
# stations' digests equal to the hub's digest of the group), two offline members each adding a
# person and a note to one case (both survive: merge by meaning), then `syncctl check` finding the
# planted duplicates and broken references of the merged group, `syncctl person merge` of one
# planted duplicate, and `syncctl verify` of a member against the hub. It ends with the dashboard's
# URL and, when stdin is a terminal, keeps the nodes running until Enter. Everything runs on this machine
# (ipc:// sockets in a temporary directory) and is cleaned up. The hub serves HTTP on
# 127.0.0.1:$DEMO_HTTP_PORT (default 7780); the stations run with --http off.
# Usage: tools/demo.sh BIN_DIR
set -euo pipefail

BIN="$1"
WORK="$(mktemp -d /tmp/stationsync-demo.XXXXXX)"
declare -A PIDS=()  # node -> syncd pid

cleanup() {
  for node in "${!PIDS[@]}"; do
    kill -TERM "${PIDS[$node]}" 2>/dev/null || true
  done
  for node in "${!PIDS[@]}"; do
    wait "${PIDS[$node]}" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

step() { printf '\n\033[1;34m== %s\033[0m\n' "$*"; }
show() {
  printf '\033[2m$ %s\033[0m\n' "$*"
  "$@"
}
# The id of the first JSON line matching a pattern.
first_id() { grep -m1 "$1" "$2" | sed 's/^{"table":"[a-z]*","id":"\([^"]*\)".*/\1/'; }
api() { echo "ipc://$WORK/$1.api"; }
ctl() {
  local node="$1"
  shift
  "$BIN/syncctl" --api "$(api "$node")" "$@"
}
# ctl, echoing the command with the node's name.
at() {
  local node="$1"
  shift
  printf '\033[2m[%s]$ syncctl %s\033[0m\n' "$node" "$*"
  ctl "$node" "$@"
}
wait_api() {
  for _ in $(seq 100); do
    ctl "$1" --timeout 1 ping >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "syncd $1 did not start; its log:" >&2
  cat "$WORK/$1.log" >&2
  return 1
}
SYNC="ipc://$WORK/hub.sync"
HTTP="127.0.0.1:${DEMO_HTTP_PORT:-7780}"
export SYNCD_ACTOR=demo-admin
start_hub() {
  "$BIN/syncd" hub --data "$WORK/hub" --listen "$SYNC" --api "$(api hub)" --http "$HTTP" \
    2>>"$WORK/hub.log" &
  PIDS[hub]=$!
  wait_api hub
}
# start_station NAME UNIT [--offline]: with --offline, no --hub (the link is down). The station
# runs with its provisioned key ($WORK/keys/NAME.cert_secret) and checks the hub's key.
start_station() {
  local hub_flags=(--hub "$SYNC" --hub-key "@$WORK/hub/node.cert")
  [ "${3:-}" = "--offline" ] && hub_flags=()
  "$BIN/syncd" station --unit "$2" --data "$WORK/$1" --api "$(api "$1")" "${hub_flags[@]}" \
    --key "$WORK/keys/$1.cert_secret" --http off 2>>"$WORK/$1.log" &
  PIDS[$1]=$!
  wait_api "$1"
}
stop() {
  kill -TERM "${PIDS[$1]}"
  wait "${PIDS[$1]}"
  unset "PIDS[$1]"
}

cat <<INTRO

StationSync demo: one hub and four police stations of 临朐县, on this machine, with realistic data.
It shows, in order:
  1. provisioning: each station gets a CURVE key pair enrolled at the hub; an impostor is refused;
  2. the initial sync of four empty stations, and writes flowing both ways;
  3. a station offline while headquarters writes, catching up when it returns;
  4. a conflict (an officer's phone changed at two places), listed and resolved;
  5. a bad write rejected with nothing changed;
  6. the 2020 merge of the four stations into one with three sub-offices: every digest equal;
     then two members, both offline, each add a person and a note to one case: both survive;
  7. admins' checks after the merge: persons registered twice, broken references; one person
     merged from two registrations; and a station's replica verified against the hub (a hash
     tree, kilobytes exchanged);
  8. the hub's HTTP side: health, metrics and the operators' dashboard at http://$HTTP/
INTRO

step "Generating the 临朐县 data set (syncgen --profile linqu --seed 2020)"
show "$BIN/syncgen" --profile linqu --seed 2020 --out "$WORK/gen"
unit_of() { first_id "$1派出所" "$WORK/gen/units.jsonl"; }
declare -A UNIT=([chengli]=$(unit_of 城里) [nanguan]=$(unit_of 南关) [beiguan]=$(unit_of 北关)
  [chengguan]=$(unit_of 城关))
STATIONS=(chengli nanguan beiguan chengguan)
for s in "${STATIONS[@]}"; do echo "$s: unit ${UNIT[$s]}"; done

step "Starting the hub and registering the bureau, the patrol unit and the four urban stations"
start_hub
KEEP="${UNIT[chengli]}\|${UNIT[nanguan]}\|${UNIT[beiguan]}\|${UNIT[chengguan]}\|\"kind\":\"bureau\"\|\"kind\":\"patrol\""
grep "$KEEP" "$WORK/gen/units.jsonl" >"$WORK/units.jsonl"
at hub import "$WORK/units.jsonl"
at hub unit list

step "The hub holds the four stations' records (imported at headquarters)"
for s in "${STATIONS[@]}"; do cat "$WORK/gen/records-${UNIT[$s]}.jsonl"; done >"$WORK/urban.jsonl"
echo "$(wc -l <"$WORK/urban.jsonl") records"
at hub import "$WORK/urban.jsonl"

step "Provisioning: a CURVE key pair per station, its public key enrolled at the hub"
mkdir -p "$WORK/keys"
echo "-- the hub made its own pair on first start; stations check it with --hub-key:"
show cat "$WORK/hub/node.cert"
for s in "${STATIONS[@]}"; do
  printf '\033[2m$ syncctl keygen --out keys/%s.cert\033[0m\n' "$s"
  "$BIN/syncctl" keygen --out "$WORK/keys/$s.cert"
  at hub unit enroll "${UNIT[$s]}" "@$WORK/keys/$s.cert" | grep -o '"public_key":"[^"]*"'
done
ls -l "$WORK/keys"

step "A station whose key the hub never enrolled is refused at the handshake"
"$BIN/syncctl" keygen --out "$WORK/keys/impostor.cert" >/dev/null
"$BIN/syncd" station --unit "${UNIT[chengli]}" --data "$WORK/impostor" --api "$(api impostor)" \
  --hub "$SYNC" --hub-key "@$WORK/hub/node.cert" --key "$WORK/keys/impostor.cert_secret" \
  --http off 2>>"$WORK/impostor.log" &
PIDS[impostor]=$!
wait_api impostor
for _ in $(seq 50); do
  ctl impostor status --json | grep -q '"hub_refusal":"[^"]' && break
  sleep 0.1
done
at impostor status
at hub status --json | grep -o '"refused_unknown_key_total":[0-9]*'
stop impostor

step "Starting the four stations, empty: each gets a snapshot of its own scope"
started=$(date +%s%N)
for s in "${STATIONS[@]}"; do start_station "$s" "${UNIT[$s]}"; done
at hub wait-synced --timeout 150
echo "initial sync of $(wc -l <"$WORK/urban.jsonl") records to 4 stations: $((($(date +%s%N) - started) / 1000000)) ms"
at hub status
at chengli status

step "Writes flow both ways"
RESIDENT=$(first_id '"relation":"head"' "$WORK/gen/records-${UNIT[chengli]}.jsonl")
OFFICER=$(first_id '"table":"personnel"' "$WORK/gen/records-${UNIT[chengli]}.jsonl")
at chengli --actor "$OFFICER" put registration "$RESIDENT" '{"address":"城里社区幸福路8号"}'
CASE=$(first_id '"table":"case"' "$WORK/gen/records-${UNIT[nanguan]}.jsonl")
at hub --actor hq-dispatch put case "$CASE" '{"status":"investigating","lead_officer":"HQ-07"}'
at hub wait-synced --timeout 60
echo "-- the station's write, read at the hub:"
at hub get registration "$RESIDENT"
echo "-- the hub's write, read at 南关:"
at nanguan get case "$CASE"

step "北关 goes offline; headquarters keeps writing to its records"
stop beiguan
BG_CASE=$(first_id '"table":"case"' "$WORK/gen/records-${UNIT[beiguan]}.jsonl")
at hub --actor hq-dispatch put case "$BG_CASE" '{"status":"closed"}'
BG_OFFICER=$(first_id '"table":"personnel"' "$WORK/gen/records-${UNIT[beiguan]}.jsonl")
at hub --actor hq-personnel put personnel "$BG_OFFICER" '{"post":"值班长"}'
echo "-- the hub notices the silence (no heartbeat for 5 s):"
for _ in $(seq 100); do
  ctl hub status --json | grep -q "\"unit\":\"${UNIT[beiguan]}\",\"connected\":false" && break
  sleep 0.1
done
at hub status
echo "-- 北关 comes back and catches up:"
start_station beiguan "${UNIT[beiguan]}"
at beiguan wait-synced --timeout 60
at hub wait-synced --timeout 60
at hub status
at beiguan get case "$BG_CASE"

step "A conflict: 城关 (offline) and headquarters both change one officer's phone"
CG_OFFICER=$(first_id '"table":"personnel"' "$WORK/gen/records-${UNIT[chengguan]}.jsonl")
stop chengguan
start_station chengguan "${UNIT[chengguan]}" --offline
at chengguan --actor "$CG_OFFICER" put personnel "$CG_OFFICER" '{"phone":"0536-3111111"}'
at hub --actor hq-personnel put personnel "$CG_OFFICER" '{"phone":"0536-3222222"}'
stop chengguan
start_station chengguan "${UNIT[chengguan]}"
at chengguan wait-synced --timeout 60
at hub wait-synced --timeout 60
at hub conflicts
at chengguan conflicts
CONFLICT=$(ctl hub conflicts --json | head -1 | sed 's/^{"id":"\([^"]*\)".*/\1/')
at hub --actor hq-personnel conflicts resolve "$CONFLICT" --take lost
at hub wait-synced --timeout 60
at chengguan get personnel "$CG_OFFICER"
at chengguan conflicts

step "A bad write is rejected (its birth date disagrees with the id number) and nothing changes"
set +e
at chengli --actor "$OFFICER" put registration "$RESIDENT" '{"birth_date":"1901-01-01"}'
code=$?
set -e
echo "exit code $code (2: invalid input)"
[ "$code" -eq 2 ]

step "The 2020 merge: 南关, 北关 and 城关 become sub-offices of 城里"
echo "-- before: each station holds only its own unit's records (its digest: scope, count, root)"
for s in "${STATIONS[@]}"; do at "$s" digest --json; done
started=$(date +%s%N)
at hub merge --into "${UNIT[chengli]}" "${UNIT[nanguan]}" "${UNIT[beiguan]}" "${UNIT[chengguan]}" \
  --as suboffice
at hub unit list
echo "-- the registry changed, not the records: each station's scope is now the group, backfilled"
echo "   by snapshot and then streamed"
for s in "${STATIONS[@]}"; do ctl "$s" wait-synced --timeout 120 >/dev/null; done
at hub wait-synced --timeout 120
echo "merge backfilled to 4 stations in $((($(date +%s%N) - started) / 1000000)) ms"
echo "-- after: the four stations' digests and the hub's digest of the group"
for s in "${STATIONS[@]}"; do at "$s" digest --json | tee "$WORK/digest-$s"; done
at hub digest --scope "${UNIT[chengli]}" --json | tee "$WORK/digest-hub"
for s in "${STATIONS[@]}"; do # the last line of each file: the digest (before it, the command)
  if [ "$(tail -1 "$WORK/digest-$s")" != "$(tail -1 "$WORK/digest-hub")" ]; then
    echo "$s's digest differs from the hub's digest of the group" >&2
    exit 1
  fi
done
echo "all five digests are equal: every member holds exactly the hub's records of the group"
echo "-- so 北关 now answers for a resident registered at 城里:"
at beiguan get registration "$RESIDENT"

step "Merging by meaning: 北关 and 城关, both offline, add a person and a note to one case"
echo "-- a case's involved list is a set and its notes only grow (schema/records.capnp \$merge):"
echo "   concurrent additions all survive, where a last-writer-wins field would keep one"
JOINT_CASE=$(first_id '"table":"case"' "$WORK/gen/records-${UNIT[chengli]}.jsonl")
BG_PERSON=$(first_id '"table":"registration"' "$WORK/gen/records-${UNIT[beiguan]}.jsonl")
CG_PERSON=$(first_id '"table":"registration"' "$WORK/gen/records-${UNIT[chengguan]}.jsonl")
at hub get case "$JOINT_CASE"
# add_to_case NAME PERSON NOTE: the station's list with PERSON added, its notes with NOTE appended.
add_to_case() {
  local record involved notes
  record=$(ctl "$1" get case "$JOINT_CASE")
  involved=$(sed -n 's/.*"involved":\[\([^]]*\)\].*/\1/p' <<<"$record")
  notes=$(sed -n 's/.*"notes":"\(\([^"\\]\|\\.\)*\)".*/\1/p' <<<"$record")
  at "$1" --actor "$1-officer" put case "$JOINT_CASE" \
    "{\"involved\":[${involved:+$involved,}\"$2\"],\"notes\":\"$notes$3\"}" >/dev/null
}
for s in beiguan chengguan; do
  stop "$s"
  start_station "$s" "${UNIT[$s]}" --offline
done
add_to_case beiguan "$BG_PERSON" "\\n北关：走访证人。"
add_to_case chengguan "$CG_PERSON" "\\n城关：嫌疑人到案。"
echo "-- both back online:"
for s in beiguan chengguan; do
  stop "$s"
  start_station "$s" "${UNIT[$s]}"
done
for s in beiguan chengguan; do ctl "$s" wait-synced --timeout 60 >/dev/null; done
at hub wait-synced --timeout 60
for s in hub beiguan chengguan; do
  record=$(ctl "$s" get case "$JOINT_CASE")
  for person in "$BG_PERSON" "$CG_PERSON"; do
    grep -q "\"$person\"" <<<"$record" || { echo "$s lost $person from the case" >&2; exit 1; }
  done
done
at hub get case "$JOINT_CASE"
echo "both persons and both notes are at the hub, 北关 and 城关; the history names who added each:"
at hub history case "$JOINT_CASE" | tail -2

step "Admins check the merged group's records: duplicates and broken references (syncctl check)"
echo "-- four stations' books are one now; syncgen planted the problems such a merge exposes"
printf '\033[2m[hub]$ syncctl check --scope %s\033[0m\n' "${UNIT[chengli]}"
set +e
ctl hub check --scope "${UNIT[chengli]}" >"$WORK/check.out"
code=$?
set -e
for kind in duplicate_person household_without_head household_multiple_heads dangling_involved; do
  grep -m1 "^$kind" "$WORK/check.out" || true
done
echo "   ..."
sed -n '/^checked/,$p' "$WORK/check.out"
echo "exit code $code (1: problems found)"
[ "$code" -eq 1 ]

step "Admins merge one duplicate person into one record (syncctl person merge)"
set +e
ctl hub check --scope "${UNIT[chengli]}" --json >"$WORK/check.json"
set -e
PAIR=$(grep -m1 '"kind":"duplicate_person"' "$WORK/check.json")
KEEP=$(echo "$PAIR" | grep -o '"id":"[0-9X]*"' | sed -n 1p | cut -d'"' -f4)
DUP=$(echo "$PAIR" | grep -o '"id":"[0-9X]*"' | sed -n 2p | cut -d'"' -f4)
echo "$PAIR"
echo "-- first what it would change: KEEP's empty fields filled from DUPLICATE's, every case and"
echo "   officer naming DUPLICATE rewritten to KEEP, DUPLICATE a tombstone pointing at KEEP"
at hub person merge "$KEEP" "$DUP" --dry-run
at hub person merge "$KEEP" "$DUP"
at beiguan wait-synced --timeout 60
echo "-- a station asked for the old number answers with the kept record, and says so:"
at beiguan get registration "$DUP"
printf '[2m[hub]$ syncctl check --scope %s | tail -1[0m
' "${UNIT[chengli]}"
set +e
ctl hub check --scope "${UNIT[chengli]}" | sed -n '/^checked/,$p'
set -e
echo "-- one duplicate_person fewer; \`syncctl person unmerge $DUP\` would undo the merge"

step "Admins verify a station's replica against the hub's view of its scope (syncctl verify)"
echo "-- 北关 compares hash-tree sums with the hub over the sync link and descends only where they"
echo "   differ; --deep recomputes its sums from its stored records first (damage behind its back)"
at beiguan verify --json
echo "-- the hub can ask a station to verify (here --deep) and keeps the result in its status:"
at hub verify --station "${UNIT[beiguan]}" --deep --json
printf '\033[2m[hub]$ syncctl status --json | grep -o last_verify...\033[0m\n'
ctl hub status --json | grep -o '"last_verify":{[^}]*}' | head -1
echo "exit code 0: equal (1 would list each differing record with both versions; --repair fixes them)"

step "The hub over HTTP: health, readiness and Prometheus metrics (syncd --http $HTTP)"
if command -v curl >/dev/null; then
  show curl -s "http://$HTTP/healthz"
  show curl -s "http://$HTTP/readyz"
  printf '\033[2m$ curl -s http://%s/metrics | grep station_lag\033[0m\n' "$HTTP"
  curl -s "http://$HTTP/metrics" | grep '^stationsync_station_lag'
else
  echo "(curl is not installed: open http://$HTTP/metrics in a browser)"
fi

echo
echo "The operators' dashboard: http://$HTTP/ (the hub's status: http://$HTTP/status)"
if [ -t 0 ]; then
  echo "The hub and the four stations keep running; press Enter to stop them."
  read -r _
fi

step "Stopping everything (SIGTERM: clean shutdown)"
for node in "${STATIONS[@]}" hub; do stop "$node"; done
echo
echo "Demo finished."
