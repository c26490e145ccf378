#!/usr/bin/env bash
# Fuzz every client-reachable parser with cargo-fuzz (libFuzzer), SECONDS per
# target (default 60), on the machine's stable toolchain (RUSTC_BOOTSTRAP=1
# lets cargo-fuzz pass its -Z flags; no sanitizer, -s none: Rust is memory
# safe, we hunt panics, hangs and runaway memory).
#   scripts/fuzz.sh                # every target, 60 s each
#   scripts/fuzz.sh 600 sdp_offer  # one target, 10 min
# New inputs land in fuzz/corpus/<target>/ (run `scripts/fuzz.sh cmin` to
# shrink them before committing); a crash lands in fuzz/artifacts/<target>/
# and is replayed by `cargo test` (src/fuzzing.rs) once committed.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
export RUSTC_BOOTSTRAP=1
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
if [[ "${1:-}" == cmin ]]; then
  for t in $(cargo fuzz list); do cargo fuzz cmin -s none "$t" "corpus/$t"; done
  exit 0
fi
SECONDS_EACH="${1:-60}"
shift || true
TARGETS=("$@")
[[ ${#TARGETS[@]} -gt 0 ]] || mapfile -t TARGETS < <(cargo fuzz list)
cargo fuzz build -s none
for t in "${TARGETS[@]}"; do
  echo "== $t: ${SECONDS_EACH}s" >&2
  cargo fuzz run -s none "$t" "corpus/$t" -- \
    -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1
done
