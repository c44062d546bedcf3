//! Cross-platform exchange with the wasm build (run by `scripts/ci/wasm-xplat.sh`, which passes files
//! through environment variables; ignored in a plain `cargo test`).
//!
//! 1. `native_makes`: writes a signature and an envelope made natively to `$EDGENET_XPLAT_OUT`.
//! 2. The wasm test in headless Chromium verifies and opens them, and makes its own.
//! 3. `wasm_made_verifies_natively`: checks what wasm made, read from `$EDGENET_XPLAT_IN`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use edgenet_core::test_vectors::{self, Made};

fn env_path(name: &str) -> std::path::PathBuf {
    std::env::var_os(name)
        .unwrap_or_else(|| panic!("{name} is not set: run scripts/ci/wasm-xplat.sh"))
        .into()
}

#[test]
#[ignore = "driven by scripts/ci/wasm-xplat.sh"]
fn native_makes() {
    let made = test_vectors::make(&mut edgenet_core::rng::os_rng(), "native");
    test_vectors::check_made(&made).unwrap();
    std::fs::write(
        env_path("EDGENET_XPLAT_OUT"),
        serde_json::to_string(&made).unwrap(),
    )
    .unwrap();
}

#[test]
#[ignore = "driven by scripts/ci/wasm-xplat.sh"]
fn wasm_made_verifies_natively() {
    let text = std::fs::read_to_string(env_path("EDGENET_XPLAT_IN")).unwrap();
    let made: Made = serde_json::from_str(text.trim()).unwrap();
    assert!(
        made.platform.starts_with("wasm"),
        "expected a wasm-made record, got {:?}",
        made.platform
    );
    test_vectors::check_made(&made).unwrap();
    println!(
        "verified signature and opened envelope made on {}",
        made.platform
    );
}
