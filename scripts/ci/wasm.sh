#!/usr/bin/env bash
# wasm-bindgen tests in headless Chromium: committed vectors, the adapter, and the kernels on WebAssembly SIMD.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
cd "$ROOT"
wasm_test -p edgenet-wasm --test vectors --test kernels --test webgpu -- --nocapture
