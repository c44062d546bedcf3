//! The `prepare_wasm` fuzz target's kept inputs (`fuzz/regressions/prepare_wasm/`), replayed on
//! stable.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

#[test]
fn prepare_wasm_cases() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/regressions/prepare_wasm");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        edgenet_sandbox::fuzz_targets::prepare_untrusted(
            &std::fs::read(entry.unwrap().path()).unwrap(),
        );
        n += 1;
    }
    assert!(n > 0);
}
