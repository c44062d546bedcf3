#!/usr/bin/env bash
# Every Rust unit and integration test, natively; then the embedding model's GPU encoder (a
# feature no workspace member turns on) against the reference on lavapipe.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
cd "$ROOT"
cargo test --workspace
cargo test -p edgenet-embed --features gpu --test gpu
