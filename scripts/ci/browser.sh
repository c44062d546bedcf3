#!/usr/bin/env bash
# Browser end-to-end tests: the browser package built with scripts/build.sh, served by the real
# relay, driven in headless Chromium (playwright-core) against native nodes, with node's test runner.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
cd "$ROOT"
cargo build -q -p edgenet-relay -p edgenet-node
"$ROOT/scripts/build.sh"
node --test --test-concurrency=1 tests/browser/
