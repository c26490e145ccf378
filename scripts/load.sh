#!/usr/bin/env bash
# Load the live channel on this machine, loopback only:
#   scripts/load.sh VIEWERS RATE DURATION [extra orgallery-load flags...]
#   scripts/load.sh 1000 10 30s
#   scripts/load.sh 10000 10 30s --json
#
# Builds the release binaries, makes a throwaway data directory with a
# surgeon and a student, starts `orgallery serve` on 127.0.0.1 (ephemeral
# port) with a high file-descriptor limit, runs orgallery-load against it with
# --server-pid (for VmRSS per idle viewer), then stops the server with SIGTERM
# and removes everything. Every step is bounded with `timeout`.
#
# Environment: SIZE (bytes per update, default 1024), CARGO_TARGET_DIR (default ./target), ORGALLERY_LOG (server log
# filter, default "warn" so that logging is not what gets measured),
# LOAD_NICE=-10 to run server and tool at that niceness, each in its own
# session whose autogroup gets the same niceness (root only). With autogroup
# scheduling, plain `nice` does not help against other sessions' work (builds)
# on a shared machine; the report's "whole machine" CPU shows such work.
# SKIP_BUILD=1 to use the binaries already in $CARGO_TARGET_DIR/release, KEEP_LOG=1 to print the server log's tail at the end.
# SAMPLE_EVERY=SECONDS with SAMPLE_OUT=FILE: while the tool runs, append one line per interval to FILE:
# "unix_time rss_kib open_fds tasks_main tasks_gates viewers" (VmRSS and fds from /proc, tasks and viewers from /metrics).
set -euo pipefail

VIEWERS="${1:-1000}"
RATE="${2:-10}"
DURATION="${3:-30s}"
shift $(($# < 3 ? $# : 3))

cd "$(dirname "$0")/.."
ROOT="$PWD"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$CARGO_TARGET_DIR/release"

# Duration in whole seconds, for the timeouts only (orgallery-load parses it itself).
case "$DURATION" in
*ms) DUR_S=1 ;;
*m) DUR_S=$(( ${DURATION%m} * 60 )) ;;
*h) DUR_S=$(( ${DURATION%h} * 3600 )) ;;
*s) DUR_S="${DURATION%s}" ;;
*) DUR_S="$DURATION" ;;
esac
DUR_S="${DUR_S%.*}"
[[ "$DUR_S" =~ ^[0-9]+$ ]] || { echo "load.sh: bad duration $DURATION" >&2; exit 2; }
[[ "$VIEWERS" =~ ^[0-9]+$ ]] || { echo "load.sh: bad viewer count $VIEWERS" >&2; exit 2; }

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  echo "== building release binaries" >&2
  timeout 1800 cargo build --release -p orgallery -p orgallery-load >&2
fi

# File descriptors: 200000, or the hard limit when that is lower. The server
# inherits this from the script; orgallery-load raises its own soft limit too.
HARD="$(ulimit -Hn)"
if [[ "$HARD" == unlimited || "$HARD" -ge 200000 ]]; then
  ulimit -n 200000
else
  ulimit -n "$HARD"
fi
if (( $(ulimit -n) < VIEWERS + 200 )); then
  echo "load.sh: warning: ulimit -n is $(ulimit -n), below $VIEWERS viewers + 200" >&2
fi

NICE=()
if [[ -n "${LOAD_NICE:-}" ]]; then
  NICE=(setsid nice -n "$LOAD_NICE")
fi
# The pid that `timeout` runs as its child.
child_of() {
  tr ' ' '\n' <"/proc/$1/task/$1/children" 2>/dev/null | head -n 1 || true
}
prioritize() {
  if [[ -n "${LOAD_NICE:-}" && -n "$1" && -w "/proc/$1/autogroup" ]]; then
    echo "$LOAD_NICE" >"/proc/$1/autogroup" 2>/dev/null || true
  fi
}

DATA="$(mktemp -d -t orgallery-load.XXXXXX)"
SERVER_PID=""
TIMEOUT_PID=""
cleanup() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 150); do
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
  fi
  if [[ -n "${TIMEOUT_PID:-}" ]]; then
    wait "$TIMEOUT_PID" 2>/dev/null || true
  fi
  if [[ "${KEEP_LOG:-0}" == 1 && -f "$DATA/server.log" ]]; then
    echo "== server log (tail)" >&2
    tail -n 40 "$DATA/server.log" >&2 || true
  fi
  rm -rf "$DATA"
}
trap cleanup EXIT

SURGEON_PASS="surgeon-$RANDOM$RANDOM-pass"
STUDENT_PASS="student-$RANDOM$RANDOM-pass"
echo "== accounts in $DATA" >&2
timeout 60 "$BIN/orgallery" --data "$DATA" user add --username load-surgeon --role surgeon --password "$SURGEON_PASS" >&2
timeout 60 "$BIN/orgallery" --data "$DATA" user add --username load-student --role student --password "$STUDENT_PASS" >&2

echo "== starting the server (ulimit -n $(ulimit -n))" >&2
# A scrape token for /metrics that does not expire during a long run.
METRICS_TOKEN="metrics-$RANDOM$RANDOM$RANDOM"
# The edge limits sized for this many viewers from one address (the defaults are 20,000 connections, 1,000 per address).
ORGALLERY_LOG="${ORGALLERY_LOG:-warn}" ORGALLERY_METRICS_TOKEN="$METRICS_TOKEN" \
  timeout --signal=TERM $((DUR_S + 1200)) \
  "${NICE[@]}" "$BIN/orgallery" --data "$DATA" serve --listen 127.0.0.1:0 \
  --max-connections $((VIEWERS + 1000)) --max-live-per-address $((VIEWERS + 1000)) >"$DATA/server.log" 2>&1 &
TIMEOUT_PID=$!
# `timeout` runs the server as its child: find the server's own pid for VmRSS.
ADDR=""
for _ in $(seq 1 300); do
  ADDR="$(sed -n 's#^listening on http://\([0-9.:]*\).*#\1#p' "$DATA/server.log" | head -n 1)"
  [[ -n "$ADDR" ]] && break
  kill -0 "$TIMEOUT_PID" 2>/dev/null || break
  sleep 0.1
done
if [[ -z "$ADDR" ]]; then
  echo "load.sh: the server did not start; its log:" >&2
  cat "$DATA/server.log" >&2
  SERVER_PID="$TIMEOUT_PID"
  exit 1
fi
SERVER_PID="$(child_of "$TIMEOUT_PID")"
[[ -n "$SERVER_PID" ]] || SERVER_PID="$TIMEOUT_PID"
prioritize "$SERVER_PID"
case "$ADDR" in
127.*) ;;
*) echo "load.sh: refusing non-loopback address $ADDR" >&2; exit 1 ;;
esac
echo "== server pid $SERVER_PID on $ADDR; orgallery-load: $VIEWERS viewers, $RATE/s, $DURATION" >&2

# One line "unix_time rss_kib open_fds tasks_main tasks_gates viewers [label]" to $SAMPLE_OUT.
sample_once() {
  local rss fds m tm tg vw
  rss="$(awk '/^VmRSS:/ {print $2}' "/proc/$SERVER_PID/status" 2>/dev/null || true)"
  fds="$(ls "/proc/$SERVER_PID/fd" 2>/dev/null | wc -l)"
  m="$(timeout 10 curl -s -H "Authorization: Bearer $METRICS_TOKEN" "http://$ADDR/metrics" || true)"
  tm="$(sed -n 's/^orgallery_runtime_alive_tasks{runtime="main"} //p' <<<"$m")"
  tg="$(sed -n 's/^orgallery_runtime_alive_tasks{runtime="gates"} //p' <<<"$m")"
  vw="$(sed -n 's/^orgallery_viewers //p' <<<"$m")"
  echo "$(date +%s) ${rss:-?} $fds ${tm:-?} ${tg:-?} ${vw:-?} ${1:-}" >>"$SAMPLE_OUT"
}
SAMPLER_PID=""
if [[ -n "${SAMPLE_EVERY:-}" && -n "${SAMPLE_OUT:-}" ]]; then
  echo "# unix_time rss_kib open_fds tasks_main tasks_gates viewers [label]" >>"$SAMPLE_OUT"
  sample_once before
  (
    while kill -0 "$SERVER_PID" 2>/dev/null; do
      sleep "$SAMPLE_EVERY"
      sample_once
    done
  ) &
  SAMPLER_PID=$!
fi

set +e
timeout --signal=INT --kill-after=30 $((DUR_S + 600)) \
  "${NICE[@]}" "$BIN/orgallery-load" \
  --url "http://$ADDR" \
  --surgeon "load-surgeon:$SURGEON_PASS" \
  --viewer "load-student:$STUDENT_PASS" \
  --viewers "$VIEWERS" --rate "$RATE" --size "${SIZE:-1024}" --duration "$DURATION" \
  --server-pid "$SERVER_PID" "$@" &
LOAD_TIMEOUT_PID=$!
sleep 0.2
prioritize "$(child_of "$LOAD_TIMEOUT_PID")"
wait "$LOAD_TIMEOUT_PID"
RC=$?
if [[ -n "$SAMPLER_PID" ]]; then
  kill "$SAMPLER_PID" 2>/dev/null || true
  sleep 3
  sample_once after-close
fi
# How late items left the delay gate (release time - deadline), from /metrics
# with an admin token minted by `orgallery token` from the same data dir.
ADMIN_TOKEN="$(timeout 30 "$BIN/orgallery" --data "$DATA" token --sub load-metrics --role admin --ttl 5m 2>/dev/null)"
echo "== gate lateness (orgallery_gate_lateness_seconds)" >&2
timeout 10 curl -s -H "Authorization: Bearer $ADMIN_TOKEN" "http://$ADDR/metrics" | grep '^orgallery_gate_lateness' >&2 || true
set -e
echo "== orgallery-load exited $RC; stopping the server" >&2
exit "$RC"
