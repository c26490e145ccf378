#!/usr/bin/env bash
# Idle live viewers: server memory per connection and pings answered, for
# orgallery and, in the same run with the same client, the Node `ws` peer.
#   scripts/idle.sh VIEWERS [SOURCES]
#   scripts/idle.sh 50000 4      # viewers from 127.0.0.2 … 127.0.0.5
# Both servers get the same file-descriptor limit (200000 or the hard limit);
# orgallery runs with --max-connections/--max-live-per-address sized for the
# run. The client is orgallery-idle (crates/loadgen/src/idle_main.rs).
# Environment: SKIP_BUILD=1 reuses the release binaries, PEER=0 skips Node,
# CARGO_TARGET_DIR as in load.sh.
set -euo pipefail
VIEWERS="${1:-10000}"
SOURCES="${2:-4}"
[[ "$VIEWERS" =~ ^[0-9]+$ && "$SOURCES" =~ ^[0-9]+$ && "$SOURCES" -ge 1 && "$SOURCES" -le 250 ]] ||
  { echo "idle.sh: usage: idle.sh VIEWERS [SOURCES 1..250]" >&2; exit 2; }
cd "$(dirname "$0")/.."
ROOT="$PWD"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$CARGO_TARGET_DIR/release"
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  timeout 1800 cargo build --release -p orgallery -p orgallery-load >&2
fi
HARD="$(ulimit -Hn)"
if [[ "$HARD" == unlimited || "$HARD" -ge 200000 ]]; then ulimit -n 200000; else ulimit -n "$HARD"; fi
if (( $(ulimit -n) < VIEWERS + 100 )); then
  echo "idle.sh: warning: ulimit -n is $(ulimit -n) (hard $HARD), below $VIEWERS viewers + 100: a server cannot hold them all" >&2
fi
SRC="$(seq -s, -f '127.0.0.%g' 2 $((SOURCES + 1)))"

DATA="$(mktemp -d -t orgallery-idle.XXXXXX)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  sleep 1
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  rm -rf "$DATA"
}
trap cleanup EXIT
wait_line() { # file sed-expression → first match, 30 s at most
  local v=""
  for _ in $(seq 1 300); do
    v="$(sed -n "$2" "$1" | head -n 1)"
    [[ -n "$v" ]] && break
    sleep 0.1
  done
  echo "$v"
}

SP="surgeon-$RANDOM$RANDOM"; VP="student-$RANDOM$RANDOM"
timeout 60 "$BIN/orgallery" --data "$DATA" user add --username idle-surgeon --role surgeon --password "$SP" >&2
timeout 60 "$BIN/orgallery" --data "$DATA" user add --username idle-student --role student --password "$VP" >&2
ORGALLERY_LOG=warn "$BIN/orgallery" --data "$DATA" serve --listen 127.0.0.1:0 \
  --max-connections $((VIEWERS + 1000)) --max-live-per-address $((VIEWERS + 1000)) >"$DATA/server.log" 2>&1 &
PIDS+=($!)
ADDR="$(wait_line "$DATA/server.log" 's#^listening on http://\([0-9.:]*\).*#\1#p')"
[[ -n "$ADDR" ]] || { cat "$DATA/server.log" >&2; exit 1; }
echo "== orgallery (pid ${PIDS[0]}, $ADDR): $VIEWERS idle viewers from $SRC" >&2
set +e
timeout 900 "$BIN/orgallery-idle" --url "http://$ADDR" --surgeon "idle-surgeon:$SP" --viewer "idle-student:$VP" \
  --viewers "$VIEWERS" --source-ips "$SRC" --server-pid "${PIDS[0]}" --json >"$DATA/orgallery.json"
RC=$?
set -e
echo "orgallery: $(cat "$DATA/orgallery.json")"
kill -TERM "${PIDS[0]}" 2>/dev/null || true

if [[ "${PEER:-1}" != 0 ]]; then
  [[ -d scripts/peer/node_modules/ws ]] || timeout 300 npm install --prefix scripts/peer --no-audit --no-fund >&2
  node scripts/peer/ws-idle.mjs 0 >"$DATA/peer.log" 2>&1 &
  PIDS+=($!)
  PORT="$(wait_line "$DATA/peer.log" 's#^listening on \([0-9]*\)#\1#p')"
  [[ -n "$PORT" ]] || { cat "$DATA/peer.log" >&2; exit 1; }
  echo "== node ws peer (pid ${PIDS[1]}, port $PORT): $VIEWERS idle connections from $SRC" >&2
  set +e
  timeout 900 "$BIN/orgallery-idle" --ws-url "ws://127.0.0.1:$PORT/" \
    --viewers "$VIEWERS" --source-ips "$SRC" --server-pid "${PIDS[1]}" --json >"$DATA/peer.json"
  PRC=$?
  set -e
  echo "node-ws: $(cat "$DATA/peer.json")"
  (( RC == 0 )) && RC=$PRC
fi
exit "$RC"
