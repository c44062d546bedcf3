#!/usr/bin/env bash
# Builds the browser package into pkg/: the wasm adapter with wasm-pack (wasm-opt from npm's
# binaryen) into pkg/wasm/, then the bundles into pkg/dist/ with esbuild:
#   edgenet.min.js             the script tag (IIFE, sets window.EdgeNet)
#   edgenet.mjs                the ESM entry (`import { init } from 'edgenet'`)
#   edgenet-coordinator.js     the coordinator Worker
#   edgenet-compute.js         the compute Workers
#   edgenet-gpu.js             the optional WebGPU module's glue (pkg/wasm/edgenet_gpu_bg.wasm),
#                              loaded by a compute Worker only after GPU consent
#   edgenet-embed.js           the embedding module's glue (pkg/wasm/edgenet_embed_bg.wasm), loaded by
#                              one compute Worker when a text task arrives (built for speed, not size)
#   edgenet-embed-gpu.js       its WebGPU build's glue (edgenet_embed_gpu_bg.wasm), instead, for a page
#                              that forces backend 'gpu' and has GPU consent
#   edgenet-collections.js     the collections client with its glue (edgenet_collections_bg.wasm),
#                              loaded by the coordinator on a page's first collection task
#   edgenet-sandbox.js         custom_wasm's preparation with its glue (edgenet_sandbox_bg.wasm),
#                              loaded by a compute Worker on its first custom_wasm task
#   edgenet-sandbox-worker.js  the sandbox Worker a custom_wasm module runs in
# Skips wasm-pack when nothing under crates/ changed since the last build.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

# wasm_module CRATE OUT_NAME [PROFILE [CARGO_ARGS…]]: wasm-pack CRATE into pkg/wasm/OUT_NAME*
# unless it is up to date.
wasm_module() {
    local profile="${3:-wasm-release}"
    local cargo_args=("${@:4}")
    local out="$ROOT/pkg/wasm/$2_bg.wasm"
    if [ ! -f "$out" ] || [ -n "$(find crates Cargo.toml Cargo.lock -newer "$out" -type f -print -quit)" ]; then
        step "wasm: $1 (wasm-pack, profile $profile)"
        local log
        log="$(mktemp)"
        # A failed build must fail here: the previous module would otherwise pass for a new one.
        # Into a folder of its own, then only this module's files are copied: wasm-pack's wasm-opt
        # step writes `<crate>_bg.wasm` names of its own, which clobbered a sibling build's module.
        local staging="$ROOT/target/wasm-pack/$2"
        rm -rf "$staging"
        if ! wasm-pack build "$1" --target web --profile "$profile" --out-dir "$staging" \
            --out-name "$2" --no-pack -- "${cargo_args[@]}" >"$log" 2>&1; then
            cat "$log" >&2
            rm -f "$log"
            exit 1
        fi
        grep -vE '^\[INFO\]|wasm-pack version' "$log" || true
        rm -f "$log"
        mkdir -p "$ROOT/pkg/wasm"
        for f in "$2.js" "$2.d.ts" "$2_bg.wasm" "$2_bg.wasm.d.ts"; do
            cp "$staging/$f" "$ROOT/pkg/wasm/$f"
        done
        [ -f "$out" ] || { echo "wasm-pack produced no $out" >&2; exit 1; }
        touch "$out"
    else
        note "$2 wasm up to date"
    fi
}
wasm="$ROOT/pkg/wasm/edgenet_bg.wasm"
compute_wasm="$ROOT/pkg/wasm/edgenet_compute_bg.wasm"
gpu_wasm="$ROOT/pkg/wasm/edgenet_gpu_bg.wasm"
embed_wasm="$ROOT/pkg/wasm/edgenet_embed_bg.wasm"
embed_gpu_wasm="$ROOT/pkg/wasm/edgenet_embed_gpu_bg.wasm"
collections_wasm="$ROOT/pkg/wasm/edgenet_collections_bg.wasm"
sandbox_wasm="$ROOT/pkg/wasm/edgenet_sandbox_bg.wasm"
wasm_module crates/wasm edgenet
wasm_module crates/wasm-compute edgenet_compute
wasm_module crates/wasm-gpu edgenet_gpu
wasm_module crates/wasm-embed edgenet_embed wasm-speed
wasm_module crates/wasm-embed edgenet_embed_gpu wasm-speed --features webgpu
wasm_module crates/wasm-collections edgenet_collections
wasm_module crates/wasm-sandbox edgenet_sandbox

step "bundles (esbuild)"
# Source maps beside each bundle (fetched by devtools only).
common=(--bundle --minify --sourcemap --target=es2020 --log-level=warning --log-override:empty-import-meta=silent)
esbuild pkg/src/script-tag.js "${common[@]}" --format=iife --outfile=pkg/dist/edgenet.min.js
esbuild pkg/src/edgenet.js "${common[@]}" --format=esm --outfile=pkg/dist/edgenet.mjs
esbuild pkg/src/coordinator/index.js "${common[@]}" --format=iife --outfile=pkg/dist/edgenet-coordinator.js
esbuild pkg/src/compute.js "${common[@]}" --format=iife --outfile=pkg/dist/edgenet-compute.js
esbuild pkg/src/gpu.js "${common[@]}" --format=iife --outfile=pkg/dist/edgenet-gpu.js
esbuild pkg/src/embed.js "${common[@]}" --format=iife --outfile=pkg/dist/edgenet-embed.js
esbuild pkg/src/embed-gpu.js "${common[@]}" --format=iife --outfile=pkg/dist/edgenet-embed-gpu.js
esbuild pkg/src/collections.js "${common[@]}" --format=iife --outfile=pkg/dist/edgenet-collections.js
esbuild pkg/src/sandbox.js "${common[@]}" --format=iife --outfile=pkg/dist/edgenet-sandbox.js
esbuild pkg/src/sandbox-worker.js "${common[@]}" --format=iife --outfile=pkg/dist/edgenet-sandbox-worker.js
# The relay dashboard (www/dashboard.html) with uPlot; not part of the npm package.
esbuild www/src/dashboard.js --bundle --minify --format=esm --target=es2020 --outdir=www/dist --entry-names=dashboard --log-level=warning
for f in pkg/dist/*.js pkg/dist/*.mjs "$wasm" "$compute_wasm" "$gpu_wasm" "$embed_wasm" "$embed_gpu_wasm" "$collections_wasm" "$sandbox_wasm"; do
    [ -f "$f" ] || continue
    note "$(basename "$f"): $(wc -c <"$f") bytes, $(gzip -9c "$f" | wc -c) gzip"
done
