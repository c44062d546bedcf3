#!/usr/bin/env bash
# wasm-bindgen tests in headless Chromium: committed vectors, the adapter, the kernels on WebAssembly SIMD, and the ledger (curve bits equal to native).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
cd "$ROOT"
wasm_test -p edgenet-wasm --test vectors --test kernels --test webgpu --test ledger -- --nocapture
