//! The committed core vectors hold in the browser, through the same checks as natively, and the
//! adapter's exported functions work end to end. Run: `wasm-pack test --headless --chrome crates/wasm`.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use edgenet_core::test_vectors;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn committed_vectors_hold_in_the_browser() {
    let vectors = test_vectors::committed().unwrap();
    let checks = test_vectors::check_vectors(&vectors).unwrap();
    assert!(checks >= 20, "only {checks} checks ran");
}

#[wasm_bindgen_test]
fn adapter_round_trip() {
    let alice = edgenet_wasm::generate_secret_key();
    let bob = edgenet_wasm::generate_secret_key();
    assert_eq!(alice.len(), 32);
    assert_ne!(alice, bob, "getrandom gave the same key twice");
    let alice_id = edgenet_wasm::node_id(&alice).unwrap();
    let sig = edgenet_wasm::sign(&alice, b"hello").unwrap();
    edgenet_wasm::verify(&alice_id, b"hello", &sig).unwrap();
    assert!(edgenet_wasm::verify(&alice_id, b"hellO", &sig).is_err());

    let sealed = edgenet_wasm::seal(
        &alice,
        &edgenet_wasm::exchange_key(&bob).unwrap(),
        b"task",
        b"payload",
    )
    .unwrap();
    let alice_xk = edgenet_wasm::exchange_key(&alice).unwrap();
    assert_eq!(
        edgenet_wasm::open(&bob, &alice_xk, b"task", &sealed).unwrap(),
        b"payload"
    );
    assert!(edgenet_wasm::open(&bob, &alice_xk, b"other", &sealed).is_err());
    assert!(edgenet_wasm::open(&alice, &alice_xk, b"task", &sealed).is_err());

    let text = edgenet_wasm::export_key(&alice, None).unwrap();
    assert_eq!(edgenet_wasm::import_key(&text, None).unwrap(), alice);
    assert!(edgenet_wasm::node_id(&[1, 2, 3]).is_err());
}
