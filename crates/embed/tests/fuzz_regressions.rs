//! The `tokenize` fuzz target's kept inputs (`fuzz/regressions/tokenize/`), replayed on stable.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

#[test]
fn tokenize_cases() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/regressions/tokenize");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        edgenet_embed::fuzz_targets::tokenize(&std::fs::read(entry.unwrap().path()).unwrap());
        n += 1;
    }
    assert!(n > 0);
}
