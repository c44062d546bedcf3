//! The committed vectors (tests/vectors/core-v1.json) hold on this platform, byte for byte.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use edgenet_core::test_vectors;

#[test]
fn committed_vectors_match_and_verify() {
    let vectors = test_vectors::committed().unwrap();
    let checks = test_vectors::check_vectors(&vectors).unwrap();
    assert!(checks >= 20, "only {checks} checks ran");
}

#[test]
fn vectors_detect_a_changed_byte() {
    let mut vectors = test_vectors::committed().unwrap();
    let sig = &mut vectors.signatures[1].signature;
    sig.replace_range(0..2, if sig.starts_with("00") { "01" } else { "00" });
    assert!(test_vectors::check_vectors(&vectors).is_err());
}

#[test]
fn made_here_checks_here() {
    let made = test_vectors::make(&mut edgenet_core::rng::os_rng(), "native");
    test_vectors::check_made(&made).unwrap();
    let mut tampered = made.clone();
    tampered.plaintext.replace_range(
        0..2,
        if made.plaintext.starts_with("00") {
            "01"
        } else {
            "00"
        },
    );
    assert!(test_vectors::check_made(&tampered).is_err());
}
