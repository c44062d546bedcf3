#!/usr/bin/env bash
# wasm-bindgen tests in headless Chromium: committed vectors and the adapter.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
cd "$ROOT"
wasm_test -p edgenet-wasm --test vectors
