#!/usr/bin/env bash
# Builds the browser package into pkg/: the wasm adapter with wasm-pack (wasm-opt from npm's
# binaryen) into pkg/wasm/, then the bundles into pkg/dist/ with esbuild:
#   edgenet.min.js             the script tag (IIFE, sets window.EdgeNet)
#   edgenet.mjs                the ESM entry (`import { init } from 'edgenet'`)
#   edgenet-coordinator.js     the coordinator Worker
#   edgenet-compute.js         the compute Workers
# Skips wasm-pack when nothing under crates/ changed since the last build.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

wasm="$ROOT/pkg/wasm/edgenet_bg.wasm"
if [ ! -f "$wasm" ] || [ -n "$(find crates Cargo.toml Cargo.lock -newer "$wasm" -type f -print -quit)" ]; then
    step "wasm (wasm-pack, profile wasm-release)"
    wasm-pack build crates/wasm --target web --profile wasm-release --out-dir ../../pkg/wasm \
        --out-name edgenet --no-pack 2>&1 | grep -vE '^\[INFO\]|wasm-pack version' || true
    [ -f "$wasm" ] || { echo "wasm-pack produced no $wasm" >&2; exit 1; }
    touch "$wasm"
else
    note "wasm up to date"
fi

step "bundles (esbuild)"
common=(--bundle --minify --target=es2020 --log-level=warning --log-override:empty-import-meta=silent)
esbuild pkg/src/script-tag.js "${common[@]}" --format=iife --outfile=pkg/dist/edgenet.min.js
esbuild pkg/src/edgenet.js "${common[@]}" --format=esm --outfile=pkg/dist/edgenet.mjs
esbuild pkg/src/coordinator.js "${common[@]}" --format=iife --outfile=pkg/dist/edgenet-coordinator.js
esbuild pkg/src/compute.js "${common[@]}" --format=iife --outfile=pkg/dist/edgenet-compute.js
for f in pkg/dist/*.js pkg/dist/*.mjs "$wasm"; do
    note "$(basename "$f"): $(wc -c <"$f") bytes, $(gzip -9c "$f" | wc -c) gzip"
done
