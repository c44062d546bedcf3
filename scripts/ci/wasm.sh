#!/usr/bin/env bash
# wasm-bindgen tests in headless Chromium: committed vectors, the adapter, the kernels on WebAssembly SIMD, the ledger (curve bits equal to native), and custom_wasm's preparation (the pinned hash).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
cd "$ROOT"
wasm_test -p edgenet-wasm --test vectors --test kernels --test webgpu --test ledger --test sandbox -- --nocapture
