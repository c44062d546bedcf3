# Shared helpers for scripts/*.sh (sourced, not run).
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROOT
export PATH="$HOME/.cargo/bin:$ROOT/node_modules/.bin:$PATH"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
note() { printf '    %s\n' "$*"; }

# The wasm-bindgen version pinned in Cargo.toml; the CLI must match it exactly.
wasm_bindgen_pin() {
    sed -n 's/^wasm-bindgen = "=\(.*\)"/\1/p' "$ROOT/Cargo.toml"
}

# Runs wasm-bindgen tests in headless Chromium through cargo (webdriver.json in the crate root
# passes Chromium's flags). Extra arguments go to cargo test.
wasm_test() {
    CHROMEDRIVER=/usr/bin/chromedriver \
    CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
    WASM_BINDGEN_TEST_TIMEOUT=120 \
        cargo test --target wasm32-unknown-unknown "$@"
}

# Where setup.sh unpacks the embedding model (all-MiniLM-L6-v2: safetensors, tokenizer, config).
model_dir() {
    printf '%s' "${EDGENET_MODEL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/edgenet/models/all-MiniLM-L6-v2}"
}
