#!/usr/bin/env bash
# The live demo behind `tools/run demo`: generates the 临朐 data set, starts the 城里 station,
# imports everything with a progress bar, and shows queries, a history and a rejected bad write.
# Everything runs on this machine (ipc:// sockets in a temporary directory) and is cleaned up.
# Usage: tools/demo.sh BIN_DIR
set -euo pipefail

BIN="$1"
WORK="$(mktemp -d /tmp/stationsync-demo.XXXXXX)"
SYNCD_PID=""

cleanup() {
  if [ -n "$SYNCD_PID" ] && kill -0 "$SYNCD_PID" 2>/dev/null; then
    kill -TERM "$SYNCD_PID" 2>/dev/null || true
    wait "$SYNCD_PID" 2>/dev/null || true
  fi
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

step "Generating the 临朐县 data set (syncgen --profile linqu --seed 2020)"
show "$BIN/syncgen" --profile linqu --seed 2020 --out "$WORK/gen"
CHENGLI=$(first_id '城里派出所' "$WORK/gen/units.jsonl")
echo "城里派出所 is unit $CHENGLI"

step "Starting the 城里 station (syncd station --unit $CHENGLI)"
export SYNCD_API="ipc://$WORK/api.sock" SYNCD_ACTOR="demo-import"
"$BIN/syncd" station --unit "$CHENGLI" --data "$WORK/station" --api "$SYNCD_API" \
  2>"$WORK/syncd.log" &
SYNCD_PID=$!
for _ in $(seq 100); do
  "$BIN/syncctl" --timeout 1 ping >/dev/null 2>&1 && break
  sleep 0.1
done
show "$BIN/syncctl" ping

step "Importing units and every station's records (validated first, stored in durable batches)"
show "$BIN/syncctl" import "$WORK/gen/units.jsonl"
cat "$WORK"/gen/records-*.jsonl >"$WORK/all-records.jsonl"
echo "$(wc -l <"$WORK/all-records.jsonl") records in the data set"
show "$BIN/syncctl" import "$WORK/all-records.jsonl"
show "$BIN/syncctl" status

step "Queries"
RESIDENT=$(first_id "\"owner\":\"$CHENGLI\".*\"relation\":\"head\"" "$WORK/gen/records-$CHENGLI.jsonl")
HOUSEHOLD=$(grep -m1 "\"id\":\"$RESIDENT\"" "$WORK/gen/records-$CHENGLI.jsonl" |
  sed 's/.*"household":"\([^"]*\)".*/\1/')
echo "-- the household $HOUSEHOLD:"
show "$BIN/syncctl" list registration --household "$HOUSEHOLD"
echo "-- three cases of 城里:"
show "$BIN/syncctl" list case --owner "$CHENGLI" --limit 3
OFFICER=$(first_id '"table":"personnel"' "$WORK/gen/records-$CHENGLI.jsonl")
show "$BIN/syncctl" get personnel "$OFFICER"

step "An officer updates a resident; the history keeps who changed what, where and when"
show "$BIN/syncctl" --actor "$OFFICER" put registration "$RESIDENT" '{"address":"城里社区幸福路8号","status":"active"}'
show "$BIN/syncctl" history registration "$RESIDENT"

step "A bad write is rejected (its birth date disagrees with the id number) and nothing changes"
set +e
show "$BIN/syncctl" --actor "$OFFICER" put registration "$RESIDENT" '{"birth_date":"1901-01-01"}'
code=$?
set -e
echo "exit code $code (2: invalid input)"
[ "$code" -eq 2 ]
show "$BIN/syncctl" get registration "$RESIDENT"

step "Stopping the station (SIGTERM: clean shutdown)"
kill -TERM "$SYNCD_PID"
wait "$SYNCD_PID"
echo "syncd exited with $?"
SYNCD_PID=""
echo
echo "Demo finished."
