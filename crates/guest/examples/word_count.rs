//! A `custom_wasm` guest: `edgenet_guest::samples::word_count` behind the entry-point ABI. Built
//! for wasm32-unknown-unknown by `crates/sandbox/tests/guest.rs` (and by hand with
//! `cargo build --release --target wasm32-unknown-unknown -p edgenet-guest --example word_count`).

edgenet_guest::entry!(edgenet_guest::samples::word_count);
