//! custom_wasm's preparation in the browser gives the bytes it gives natively: the pinned
//! module's hash (`edgenet_sandbox::vectors`), and the same refusals.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use edgenet_core::ErrorCode;
use edgenet_sandbox::vectors::{PINNED_HASH, PINNED_WAT};
use edgenet_sandbox::{Limits, prepare};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn the_pinned_module_prepares_to_the_same_hash_as_natively() {
    let p = prepare(&wat::parse_str(PINNED_WAT).unwrap(), &Limits::default()).unwrap();
    let hex: String = p.hash.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, PINNED_HASH);
}

#[wasm_bindgen_test]
fn an_import_is_refused_here_too() {
    let module = wat::parse_str(r#"(module (import "env" "f" (func)))"#).unwrap();
    assert_eq!(
        prepare(&module, &Limits::default()).unwrap_err().code(),
        "EN-602"
    );
}
