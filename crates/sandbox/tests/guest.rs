//! The Rust guest (`edgenet-guest`'s `word_count` example), built for wasm32-unknown-unknown,
//! prepared and run by the reference runner, gives the bytes the same function gives natively.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::path::PathBuf;
use std::process::Command;

use edgenet_core::kinds::TaskKind;
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

/// A custom_wasm task of the Rust guest and the WAT guest, over inputs that answer and inputs
/// that trap, run by the executor on both runners: the same result bytes, each run what the
/// guest gives natively.
#[test]
fn a_task_gives_the_same_result_bytes_on_wasmtime_and_on_the_reference_runner() {
    use edgenet_core::kinds::Executor;
    use edgenet_core::kinds::custom_wasm::{CustomWasm, WasmEnd, WasmRuns};
    use edgenet_sandbox::executor::{Reference, WasmExecutor};
    use edgenet_sandbox::wasmtime_runner::Wasmtime;

    let runners = || {
        (
            WasmExecutor::new(Reference),
            WasmExecutor::new(Wasmtime::new(std::time::Duration::from_secs(60)).unwrap()),
        )
    };
    let (reference, native) = runners();
    let texts: Vec<Vec<u8>> = (0..40)
        .map(|i| format!("item {i} and {} more", i % 7).into_bytes())
        .collect();
    let task = CustomWasm {
        module: build_guest(),
        inputs: texts.clone(),
        fuel: 50_000_000,
        memory_mib: 16,
    };
    let payload = task.encode().unwrap();
    let a = reference.run(TaskKind::CUSTOM_WASM, &payload).unwrap();
    assert_eq!(a, native.run(TaskKind::CUSTOM_WASM, &payload).unwrap());
    let runs = WasmRuns::decode(&a).unwrap();
    for (run, text) in runs.runs.iter().zip(&texts) {
        assert_eq!(
            run.end,
            WasmEnd::Output(edgenet_guest::samples::word_count(text))
        );
    }
    // The WAT guest: an answer, an endless loop, a recursion without end, a division by zero.
    let wat = wat::parse_str(include_str!("../guests/reverse.wat")).unwrap();
    let task = CustomWasm {
        module: wat,
        inputs: vec![b"abc".to_vec(), vec![0xff], vec![0xfe], vec![0xfd]],
        fuel: 200_000,
        memory_mib: 1,
    };
    let payload = task.encode().unwrap();
    let a = reference.run(TaskKind::CUSTOM_WASM, &payload).unwrap();
    assert_eq!(a, native.run(TaskKind::CUSTOM_WASM, &payload).unwrap());
    let ends: Vec<WasmEnd> = WasmRuns::decode(&a)
        .unwrap()
        .runs
        .into_iter()
        .map(|r| r.end)
        .collect();
    assert_eq!(
        ends,
        [
            WasmEnd::Output(b"cba".to_vec()),
            WasmEnd::Trap(611),
            WasmEnd::Trap(612),
            WasmEnd::Trap(610)
        ]
    );
    // A module the sandbox refuses is the task's error, with its code.
    let importing = wat::parse_str(r#"(module (import "env" "f" (func)))"#).unwrap();
    let bad = CustomWasm {
        module: importing,
        ..task
    };
    let err = native
        .run(TaskKind::CUSTOM_WASM, &bad.encode().unwrap())
        .unwrap_err();
    assert_eq!(err.code, "EN-602");
}
