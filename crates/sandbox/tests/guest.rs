//! The Rust guest (`edgenet-guest`'s `word_count` example), built for wasm32-unknown-unknown,
//! prepared and run by the reference runner, gives the bytes the same function gives natively.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::path::PathBuf;
use std::process::Command;

use edgenet_sandbox::runner::{Ended, run};
use edgenet_sandbox::{Limits, prepare};

/// Builds the example guest (in a target folder of its own, so the build that runs this test is
/// not waited on) and returns its bytes.
fn build_guest() -> Vec<u8> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let target = root.join("target/guests");
    let status = Command::new(env!("CARGO"))
        .current_dir(&root)
        .env("CARGO_TARGET_DIR", &target)
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-unknown-unknown",
            "-p",
            "edgenet-guest",
            "--example",
            "word_count",
        ])
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::read(target.join("wasm32-unknown-unknown/release/examples/word_count.wasm")).unwrap()
}

#[test]
fn the_rust_guest_agrees_with_itself_run_natively() {
    let module = build_guest();
    let prepared = prepare(&module, &Limits::default()).unwrap();
    let texts: [&[u8]; 4] = [
        b"",
        b"the cat and the hat",
        "δ δ δelta, the end; the END".as_bytes(),
        &[0xff, b'a', 0xfe, b'a', b' ', b'b'],
    ];
    for text in texts {
        let r = run(&prepared, text, 100_000_000, &Limits::default());
        let want = edgenet_guest::samples::word_count(text);
        assert_eq!(r.ended, Ended::Output(want), "{text:?}");
        assert!(r.fuel_used > 0);
        assert_eq!(r, run(&prepared, text, 100_000_000, &Limits::default()));
    }
    // A larger input costs more fuel.
    let small = run(&prepared, b"a b c", 100_000_000, &Limits::default()).fuel_used;
    let big_text = "a b c ".repeat(1000);
    let big = run(
        &prepared,
        big_text.as_bytes(),
        100_000_000,
        &Limits::default(),
    )
    .fuel_used;
    assert!(big > 100 * small / 2, "{small} {big}");
}
