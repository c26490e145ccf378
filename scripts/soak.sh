#!/usr/bin/env bash
# Soak the live channel: VIEWERS viewers (default 1,000) and RATE updates/s
# (default 10) for DURATION (default 1h, at most 1h), sampling the server's
# VmRSS, open descriptors and tokio task count every SAMPLE_EVERY seconds
# (default 60), then a summary: first, last, min and max of each.
#   scripts/soak.sh 1h
#   scripts/soak.sh 10m 1000 10
# Runs scripts/load.sh (same environment: SKIP_BUILD=1, LOAD_NICE, ...); the
# samples go to SAMPLE_OUT (default soak-samples.txt in the current directory)
# and the load report to stderr. Exit code is load.sh's.
set -euo pipefail
DURATION="${1:-1h}"
VIEWERS="${2:-1000}"
RATE="${3:-10}"
shift $(($# < 3 ? $# : 3))
HERE="$(cd "$(dirname "$0")" && pwd)"
export SAMPLE_EVERY="${SAMPLE_EVERY:-60}"
export SAMPLE_OUT="${SAMPLE_OUT:-$PWD/soak-samples.txt}"
: >"$SAMPLE_OUT"
set +e
"$HERE/load.sh" "$VIEWERS" "$RATE" "$DURATION" --viewer-threads 1 "$@"
RC=$?
set -e
echo "== samples ($SAMPLE_OUT): unix_time rss_kib open_fds tasks_main tasks_gates viewers" >&2
cat "$SAMPLE_OUT" >&2
# Summary over the samples taken while all viewers were connected.
awk -v want="$VIEWERS" '
  /^#/ { next }
  $6 == want {
    n++
    for (i = 2; i <= 5; i++) {
      if (n == 1) { first[i] = $i; lo[i] = $i; hi[i] = $i }
      if ($i < lo[i]) lo[i] = $i
      if ($i > hi[i]) hi[i] = $i
      last[i] = $i
    }
  }
  END {
    split("x rss_kib open_fds tasks_main tasks_gates", name, " ")
    printf "== %d samples with %d viewers connected\n", n, want
    for (i = 2; i <= 5; i++) printf "%-12s first %s last %s min %s max %s\n", name[i], first[i], last[i], lo[i], hi[i]
  }' "$SAMPLE_OUT" >&2
exit "$RC"
