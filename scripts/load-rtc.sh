#!/usr/bin/env bash
# Load live video on this machine, loopback only:
#   scripts/load-rtc.sh VIEWERS DELAY_SECONDS DURATION_SECONDS [extra orgallery-rtc-load flags...]
#   scripts/load-rtc.sh 200 0 20          # glass-to-glass with delay 0
#   scripts/load-rtc.sh 200 2 20 --json   # release accuracy against a 2 s delay
#
# Builds the release binaries, makes a throwaway data directory with a
# surgeon and a student (`orgallery user add`), starts `orgallery serve` on
# 127.0.0.1 (ephemeral HTTP port, one UDP port for WebRTC, candidates on
# 127.0.0.1), waits for its `listening on` line, creates, consents (video and
# audio, no archive: no recording) and starts a session with the chosen delay
# through the API, runs orgallery-rtc-load against it (one WHIP publisher, N
# WHEP viewers, the UDP floor), then stops the server with SIGTERM and
# removes everything. Every step is bounded with `timeout`.
#
# Environment: CARGO_TARGET_DIR (default ./target), ORGALLERY_LOG (server log
# filter, default "warn"), RTC_PORT (UDP port, default 0 = any free one),
# SKIP_BUILD=1 to use the binaries already built, KEEP_LOG=1 to print the
# server log's tail at the end, LOAD_NICE=-10 to run server and tool at that
# niceness, each in its own session whose autogroup gets it too (root only;
# as in scripts/load.sh: with autogroup scheduling plain `nice` does not help
# against other sessions' builds on a shared machine).
set -euo pipefail

VIEWERS="${1:-200}"
DELAY="${2:-0}"
DURATION="${3:-20}"
shift $(($# < 3 ? $# : 3))

[[ "$VIEWERS" =~ ^[0-9]+$ ]] || { echo "load-rtc.sh: bad viewer count $VIEWERS" >&2; exit 2; }
[[ "$DELAY" =~ ^[0-9]+$ ]] || { echo "load-rtc.sh: bad delay $DELAY" >&2; exit 2; }
[[ "$DURATION" =~ ^[0-9]+$ ]] || { echo "load-rtc.sh: bad duration $DURATION (whole seconds)" >&2; exit 2; }

cd "$(dirname "$0")/.."
ROOT="$PWD"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$CARGO_TARGET_DIR/release"

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  echo "== building release binaries" >&2
  timeout 2400 cargo build --release -p orgallery -p orgallery-load >&2
fi

# One socket per viewer, plus HTTP: well under the usual limits, but be sure.
HARD="$(ulimit -Hn)"
if [[ "$HARD" == unlimited || "$HARD" -ge 65536 ]]; then ulimit -n 65536; else ulimit -n "$HARD"; fi

# A free UDP port for the media engine, unless one was given.
if [[ -z "${RTC_PORT:-}" || "${RTC_PORT}" == 0 ]]; then
  RTC_PORT="$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
fi

NICE=()
if [[ -n "${LOAD_NICE:-}" ]]; then
  NICE=(setsid nice -n "$LOAD_NICE")
fi
prioritize() {
  if [[ -n "${LOAD_NICE:-}" && -n "$1" && -w "/proc/$1/autogroup" ]]; then
    echo "$LOAD_NICE" >"/proc/$1/autogroup" 2>/dev/null || true
  fi
}
child_of() {
  tr ' ' '\n' <"/proc/$1/task/$1/children" 2>/dev/null | head -n 1 || true
}

DATA="$(mktemp -d -t orgallery-load-rtc.XXXXXX)"
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
METRICS_TOKEN="metrics-$RANDOM$RANDOM$RANDOM$RANDOM"
echo "== accounts in $DATA" >&2
timeout 60 "$BIN/orgallery" --data "$DATA" user add --username load-surgeon --role surgeon --password "$SURGEON_PASS" >&2
timeout 60 "$BIN/orgallery" --data "$DATA" user add --username load-student --role student --password "$STUDENT_PASS" >&2

echo "== starting the server (UDP $RTC_PORT)" >&2
ORGALLERY_LOG="${ORGALLERY_LOG:-warn}" ORGALLERY_METRICS_TOKEN="$METRICS_TOKEN" \
  timeout --signal=TERM $((DURATION + DELAY * 2 + 600)) \
  "${NICE[@]}" "$BIN/orgallery" --data "$DATA" serve --listen 127.0.0.1:0 --rtc-port "$RTC_PORT" --rtc-public-ip 127.0.0.1 \
  --rtc-max-viewers $((VIEWERS + 10)) --max-whep-per-address $((VIEWERS + 10)) >"$DATA/server.log" 2>&1 &
TIMEOUT_PID=$!
ADDR=""
for _ in $(seq 1 300); do
  ADDR="$(sed -n 's#^listening on http://\([0-9.:]*\).*#\1#p' "$DATA/server.log" | head -n 1)"
  [[ -n "$ADDR" ]] && break
  kill -0 "$TIMEOUT_PID" 2>/dev/null || break
  sleep 0.1
done
if [[ -z "$ADDR" ]]; then
  echo "load-rtc.sh: the server did not start; its log:" >&2
  cat "$DATA/server.log" >&2
  SERVER_PID="$TIMEOUT_PID"
  exit 1
fi
SERVER_PID="$(child_of "$TIMEOUT_PID")"
[[ -n "$SERVER_PID" ]] || SERVER_PID="$TIMEOUT_PID"
prioritize "$SERVER_PID"
case "$ADDR" in
127.*) ;;
*) echo "load-rtc.sh: refusing non-loopback address $ADDR" >&2; exit 1 ;;
esac
URL="http://$ADDR"
echo "== server pid $SERVER_PID on $ADDR, media on udp/$RTC_PORT" >&2

# JSON field from stdin (no jq needed).
field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
login() {
  timeout 15 curl -sf -H 'content-type: application/json' \
    -d "{\"username\":\"$1\",\"password\":\"$2\"}" "$URL/api/auth/login" | field access_token
}
SURGEON_TOKEN="$(login load-surgeon "$SURGEON_PASS")"
STUDENT_TOKEN="$(login load-student "$STUDENT_PASS")"
api() { # METHOD PATH JSON
  timeout 15 curl -sf -X "$1" -H "authorization: Bearer $SURGEON_TOKEN" -H 'content-type: application/json' \
    -d "$3" "$URL$2"
}
SESSION="$(api POST /api/sessions "{\"title\":\"rtc load\",\"delay_seconds\":$DELAY,\"audience\":[\"student\",\"clinician\"]}" | field id)"
api PUT "/api/sessions/$SESSION/consent" \
  '{"reference":"LOAD-RTC","scope":{"text":true,"images":true,"video":true,"audio":true,"archive":false}}' >/dev/null
api POST "/api/sessions/$SESSION/start" '{}' >/dev/null
echo "== session $SESSION live, delay $DELAY s; orgallery-rtc-load: $VIEWERS viewers, $DURATION s" >&2

set +e
RTC_LOAD_PUBLISHER_TOKEN="$SURGEON_TOKEN" RTC_LOAD_VIEWER_TOKEN="$STUDENT_TOKEN" RTC_LOAD_METRICS_TOKEN="$METRICS_TOKEN" \
  timeout --signal=INT --kill-after=20 $((DURATION + DELAY * 2 + 300)) \
  "${NICE[@]}" "$BIN/orgallery-rtc-load" --url "$URL" --session "$SESSION" --server-pid "$SERVER_PID" \
  --viewers "$VIEWERS" --delay "$DELAY" --duration "$DURATION" "$@" &
LOAD_TIMEOUT_PID=$!
sleep 0.2
prioritize "$(child_of "$LOAD_TIMEOUT_PID")"
wait "$LOAD_TIMEOUT_PID"
RC=$?
set -e
echo "== orgallery-rtc-load exited $RC; stopping the server" >&2
exit "$RC"
