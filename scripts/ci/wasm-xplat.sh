#!/usr/bin/env bash
# Same bytes everywhere, both directions:
#   native makes a signature + envelope  ->  wasm in headless Chromium verifies and opens them,
#   wasm makes its own                   ->  native verifies and opens those.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
cd "$ROOT"

dir="$ROOT/target/xplat"
rm -rf "$dir" && mkdir -p "$dir"

step "native makes"
EDGENET_XPLAT_OUT="$dir/native-made.json" \
    cargo test -p edgenet-core --test xplat -- --ignored --exact native_makes

step "wasm (headless Chromium) checks native's and makes its own"
# The native record is compiled into the wasm test (option_env!), so the browser needs no file access.
EDGENET_XPLAT_NATIVE_MADE="$(cat "$dir/native-made.json")" \
    wasm_test -p edgenet-wasm --test xplat -- --nocapture | tee "$dir/wasm-run.log"
grep -o 'EDGENET-XPLAT-WASM-MADE {.*}' "$dir/wasm-run.log" | head -n 1 | cut -d' ' -f2- > "$dir/wasm-made.json"
[ -s "$dir/wasm-made.json" ] || { echo "the wasm test printed no record" >&2; exit 1; }

step "native checks wasm's"
EDGENET_XPLAT_IN="$dir/wasm-made.json" \
    cargo test -p edgenet-core --test xplat -- --ignored --exact wasm_made_verifies_natively --nocapture
