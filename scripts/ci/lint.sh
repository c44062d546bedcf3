#!/usr/bin/env bash
# Formatting and clippy, warnings denied, for native and wasm32 targets; the JS shim type-checked
# with tsc; the scripts with shellcheck.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
cd "$ROOT"
cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings
cargo clippy -p edgenet-embed --features gpu --all-targets -- -D warnings
# The pure crates must also build for the browser. Their dev-dependencies (proptest) do not, so
# only the libraries are checked there; the wasm crate's tests are wasm-only and checked in full.
cargo clippy -p edgenet-core -p edgenet-proto -p edgenet-kernels -p edgenet-sandbox --target wasm32-unknown-unknown -- -D warnings
cargo clippy -p edgenet-wasm --target wasm32-unknown-unknown --all-targets -- -D warnings
cargo clippy -p edgenet-wasm-gpu --target wasm32-unknown-unknown -- -D warnings
cargo clippy -p edgenet-wasm-compute -p edgenet-wasm-collections -p edgenet-wasm-sandbox --target wasm32-unknown-unknown -- -D warnings
cargo clippy -p edgenet-embed -p edgenet-wasm-embed --target wasm32-unknown-unknown -- -D warnings

# The browser package's JS: every file in pkg/src is // @ts-check; tsc checks them against the
# wasm-bindgen typings, which scripts/build.sh writes (it skips what is up to date).
"$ROOT/scripts/build.sh" >/dev/null
tsc --noEmit -p pkg
# The scripts themselves.
shellcheck -x -P SCRIPTDIR -P SCRIPTDIR/.. scripts/*.sh scripts/ci/*.sh .ci/run
