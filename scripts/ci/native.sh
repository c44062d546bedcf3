#!/usr/bin/env bash
# Every Rust unit and integration test, natively.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
cd "$ROOT"
cargo test --workspace
