//! Cross-platform half of `scripts/ci/wasm-xplat.sh`: verifies and opens what the native build made
//! (passed at compile time in `EDGENET_XPLAT_NATIVE_MADE`), then makes a signature and an envelope
//! here and prints them on one line for the native side to check.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use edgenet_core::test_vectors::{self, Made};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Marks the line the script extracts from the runner's output.
const MARKER: &str = "EDGENET-XPLAT-WASM-MADE ";

#[wasm_bindgen_test]
// A clear failure at run time beats env!()'s compile error, which would break every wasm test build.
#[allow(clippy::option_env_unwrap)]
fn native_made_opens_here_and_wasm_makes_for_native() {
    let native = option_env!("EDGENET_XPLAT_NATIVE_MADE")
        .expect("EDGENET_XPLAT_NATIVE_MADE is not set: run scripts/ci/wasm-xplat.sh");
    let made: Made = serde_json::from_str(native).unwrap();
    assert_eq!(made.platform, "native");
    test_vectors::check_made(&made).unwrap();

    let mine = test_vectors::make(&mut edgenet_core::rng::os_rng(), "wasm32-chromium");
    test_vectors::check_made(&mine).unwrap();
    console_log!("{MARKER}{}", serde_json::to_string(&mine).unwrap());
}
