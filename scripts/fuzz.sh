#!/usr/bin/env bash
# Runs every fuzz target for a bounded time (default 60 s each) with cargo-fuzz on nightly.
#   scripts/fuzz.sh            all targets, 60 s each
#   scripts/fuzz.sh 600 hub_frames
# A crash leaves its input in fuzz/artifacts/<target>/; copy it to fuzz/regressions/<target>/ so
# the plain tests (crates/*/tests/fuzz_regressions.rs) keep checking it on stable.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT/fuzz"
seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(decode_messages hub_frames hub_actions cluster_frames decode_untrusted tokenize decode_index prepare_wasm prepare_smith)
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
for t in "${targets[@]}"; do
    step "fuzz $t for ${seconds}s"
    mkdir -p "corpus/$t"
    cp -n "regressions/$t/"* "corpus/$t/" 2>/dev/null || true
    cargo +nightly fuzz run "$t" "corpus/$t" -- -max_total_time="$seconds" -max_len=65536
done
