//! Inputs the fuzzers found interesting (crashes once fixed, and seeds), kept as plain tests.
//! Files live in `fuzz/regressions/<target>/`; `scripts/fuzz.sh` explains how they get there.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use std::path::Path;

fn each_case(target: &str, f: impl Fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/regressions")
        .join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
        f(&std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())));
        n += 1;
    }
    n
}

#[test]
fn decode_messages_cases() {
    assert!(
        each_case(
            "decode_messages",
            edgenet_proto::fuzz_targets::decode_messages
        ) > 0
    );
}

#[test]
fn hub_frames_cases() {
    assert!(each_case("hub_frames", edgenet_proto::fuzz_targets::hub_frames) > 0);
}

#[test]
fn cluster_frames_cases() {
    assert!(
        each_case(
            "cluster_frames",
            edgenet_proto::fuzz_targets::cluster_frames
        ) > 0
    );
}

#[test]
fn decode_untrusted_cases() {
    assert!(
        each_case(
            "decode_untrusted",
            edgenet_core::fuzz_targets::decode_untrusted
        ) > 0
    );
}
