#!/usr/bin/env bash
# Load three nodes of a teaching network on this machine, loopback only:
#   scripts/load-cluster.sh VIEWERS RATE DURATION [extra orgallery-load flags...]
#   scripts/load-cluster.sh 3000 10 30s --json
#
# Builds the release binaries, starts a throwaway PostgreSQL and JetStream
# NATS (scripts/services.sh), creates a surgeon and a student in the shared
# store, starts three `orgallery serve` nodes (node-a, node-b, node-c) on one
# shared data directory with --database-url and --nats-url, and runs
# orgallery-load: the session is created and published on node-a (which
# then writes it), and the viewers are spread round-robin over the three
# nodes, with release-to-receipt latency reported per node. Then it stops
# everything and removes it. Every step is bounded with `timeout`.
#
# Environment: SIZE (bytes per update, default 1024), CARGO_TARGET_DIR,
# ORGALLERY_LOG (default "warn"), SKIP_BUILD=1, KEEP_LOG=1 (print the nodes'
# log tails at the end), NO_NATS=1 (the nodes share only the store: the
# comparison that shows what the bus is for).
set -euo pipefail

VIEWERS="${1:-3000}"
RATE="${2:-10}"
DURATION="${3:-30s}"
shift $(($# < 3 ? $# : 3))
[[ "$VIEWERS" =~ ^[0-9]+$ ]] || { echo "load-cluster.sh: bad viewer count $VIEWERS" >&2; exit 2; }
DUR_S="${DURATION%s}"
DUR_S="${DUR_S%.*}"
[[ "$DUR_S" =~ ^[0-9]+$ ]] || { echo "load-cluster.sh: give the duration in seconds, e.g. 30s" >&2; exit 2; }

cd "$(dirname "$0")/.."
ROOT="$PWD"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$CARGO_TARGET_DIR/release"
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  echo "== building release binaries" >&2
  timeout 1800 cargo build --release -p orgallery -p orgallery-load >&2
fi

HARD="$(ulimit -Hn)"
if [[ "$HARD" == unlimited || "$HARD" -ge 200000 ]]; then ulimit -n 200000; else ulimit -n "$HARD"; fi

DATA="$(mktemp -d -t orgallery-cluster.XXXXXX)"
PIDS=()
SERVICES=""
cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
  if [[ "${KEEP_LOG:-0}" == 1 ]]; then
    for n in a b c; do
      [[ -f "$DATA/node-$n.log" ]] && { echo "== node-$n log (tail)" >&2; tail -n 20 "$DATA/node-$n.log" >&2; }
    done
  fi
  [[ -n "$SERVICES" ]] && scripts/services.sh stop "$SERVICES" >/dev/null 2>&1 || true
  rm -rf "$DATA"
}
trap cleanup EXIT

echo "== PostgreSQL and NATS" >&2
eval "$(timeout 120 scripts/services.sh start)"
SERVICES="$ORGALLERY_SERVICES_DIR"
DB="$ORGALLERY_TEST_POSTGRES"
NATS="$ORGALLERY_TEST_NATS"

SURGEON_PASS="surgeon-$RANDOM$RANDOM-pass"
STUDENT_PASS="student-$RANDOM$RANDOM-pass"
timeout 60 "$BIN/orgallery" --data "$DATA" --database-url "$DB" user add --username load-surgeon --role surgeon --password "$SURGEON_PASS" >&2
timeout 60 "$BIN/orgallery" --data "$DATA" --database-url "$DB" user add --username load-student --role student --password "$STUDENT_PASS" >&2

BUS=(--nats-url "$NATS")
[[ "${NO_NATS:-0}" == 1 ]] && BUS=()
URLS=()
for n in a b c; do
  ORGALLERY_LOG="${ORGALLERY_LOG:-warn}" timeout --signal=TERM $((DUR_S + 1200)) \
    "$BIN/orgallery" --data "$DATA" --database-url "$DB" serve --listen 127.0.0.1:0 --rtc-port 0 \
    --rtc-public-ip 127.0.0.1 --image-ocr off --node-id "node-$n" "${BUS[@]}" \
    --max-connections $((VIEWERS + 1000)) --max-live-per-address $((VIEWERS + 1000)) >"$DATA/node-$n.log" 2>&1 &
  PIDS+=($!)
  ADDR=""
  for _ in $(seq 1 300); do
    ADDR="$(sed -n 's#^listening on http://\([0-9.:]*\).*#\1#p' "$DATA/node-$n.log" | head -n 1)"
    [[ -n "$ADDR" ]] && break
    sleep 0.1
  done
  [[ -n "$ADDR" ]] || { echo "load-cluster.sh: node-$n did not start:" >&2; cat "$DATA/node-$n.log" >&2; exit 1; }
  URLS+=("http://$ADDR")
done
echo "== nodes ${URLS[*]}; orgallery-load: $VIEWERS viewers, $RATE/s, $DURATION" >&2

set +e
timeout --signal=INT --kill-after=30 $((DUR_S + 600)) "$BIN/orgallery-load" \
  --url "${URLS[0]}" --viewer-url "${URLS[0]}" --viewer-url "${URLS[1]}" --viewer-url "${URLS[2]}" \
  --surgeon "load-surgeon:$SURGEON_PASS" --viewer "load-student:$STUDENT_PASS" \
  --viewers "$VIEWERS" --rate "$RATE" --size "${SIZE:-1024}" --duration "$DURATION" "$@"
RC=$?
set -e
echo "== orgallery-load exited $RC; stopping the nodes" >&2
exit "$RC"
