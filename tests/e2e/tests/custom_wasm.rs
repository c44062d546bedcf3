//! custom_wasm across the real binaries: the Rust guest (`edgenet-guest`'s `word_count`) mapped
//! over inputs by `edgenet-node submit --kind custom-wasm`, run by native nodes on wasmtime,
//! every run what the guest gives natively; a lying node outvoted; a job of 1,000 inputs back in
//! order; and bad input refused at each door with its code while honest work goes on.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use edgenet_e2e::{Relay, Worker, free_port, node, submit, wait_until};
use edgenet_node::wasm_job::WasmReport;

const WAIT: Duration = Duration::from_secs(30);

/// The example guest built for wasm32 (in a target folder of its own, as the sandbox's tests
/// build it), written to `dir`.
fn guest(dir: &Path) -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let target = root.join("target/guests");
    let status = Command::new(env!("CARGO"))
        .current_dir(&root)
        .env("CARGO_TARGET_DIR", &target)
        .args(["build", "--release", "--target", "wasm32-unknown-unknown"])
        .args(["-p", "edgenet-guest", "--example", "word_count"])
        .status()
        .unwrap();
    assert!(status.success());
    let built = target.join("wasm32-unknown-unknown/release/examples/word_count.wasm");
    let module = dir.join("word_count.wasm");
    std::fs::copy(built, &module).unwrap();
    module
}

/// `n` text inputs in a folder, named so that their order is their number.
fn inputs(dir: &Path, n: usize) -> (PathBuf, Vec<Vec<u8>>) {
    let folder = dir.join(format!("inputs-{n}"));
    std::fs::create_dir_all(&folder).unwrap();
    let texts: Vec<Vec<u8>> = (0..n)
        .map(|i| format!("input {i}: the {} of {} and the {i}", i % 13, i % 5).into_bytes())
        .collect();
    for (i, t) in texts.iter().enumerate() {
        std::fs::write(folder.join(format!("{i:05}.txt")), t).unwrap();
    }
    (folder, texts)
}

/// `submit --kind custom-wasm … --json`, parsed.
fn submit_wasm(dir: &Path, relay: &Relay, args: &[&str]) -> WasmReport {
    let out = submit_wasm_raw(dir, relay, args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn submit_wasm_raw(dir: &Path, relay: &Relay, args: &[&str]) -> std::process::Output {
    let url = relay.ws_url();
    let mut all = vec!["submit", "--relay", &url, "--json", "--timeout-s", "30"];
    all.extend_from_slice(&["--kind", "custom-wasm"]);
    all.extend_from_slice(args);
    node(&dir.join("submitter.key"), &all)
}

/// Every run of a report is the guest's own answer for its input, in order.
fn assert_runs(report: &WasmReport, texts: &[Vec<u8>]) {
    assert_eq!(report.runs.len(), texts.len());
    for (i, (run, text)) in report.runs.iter().zip(texts).enumerate() {
        assert_eq!(run.input, format!("{i:05}.txt"));
        let want = String::from_utf8(edgenet_guest::samples::word_count(text)).unwrap();
        assert_eq!(run.output.as_deref(), Some(want.as_str()), "run {i}");
        assert!(run.fuel_used > 0 && run.error.is_none() && run.trap.is_none());
    }
}

#[test]
fn nodes_run_the_rust_guest_a_big_job_comes_back_in_order_and_a_liar_is_outvoted() {
    let dir = tempfile::tempdir().unwrap();
    let module = guest(dir.path());
    let module = module.to_str().unwrap();
    let relay = Relay::start(dir.path(), free_port(), &[]);
    let honest: Vec<Worker> = (0..3)
        .map(|i| Worker::start(dir.path(), &format!("honest{i}"), &relay.ws_url(), &[]))
        .collect();
    wait_until(WAIT, "3 peers", || relay.peer_count() == 3);

    // A job of 1,000 inputs at redundancy 1: spread over the three, every result in order.
    let (folder, texts) = inputs(dir.path(), 1000);
    let job = submit_wasm(
        dir.path(),
        &relay,
        &["--module", module, "--inputs", folder.to_str().unwrap()]
            .into_iter()
            .chain(["--redundancy", "1", "--fuel", "20000000", "--memory", "32"])
            .collect::<Vec<_>>(),
    );
    assert!(job.verified);
    assert_runs(&job, &texts);
    assert_eq!(job.tasks, 8, "1,000 inputs in batches of 125");
    assert!(
        job.agreeing.len() >= 2,
        "the tasks went to several nodes: {:?}",
        job.agreeing
    );
    assert_eq!(job.spot_checked, 8);
    assert_eq!(job.matches_local, Some(true));
    assert_eq!(
        job.fuel_used,
        job.runs.iter().map(|r| r.fuel_used).sum::<u64>()
    );
    // /metrics counts the kind like any other.
    let (_, metrics) = relay.get_raw("/metrics");
    assert!(
        metrics.contains("edgenet_tasks_submitted_total{kind=\"custom_wasm\"} 8"),
        "{metrics}"
    );

    // A liar joins; at redundancy 4 all four run every task, and the liar is outvoted.
    let liar = Worker::start(
        dir.path(),
        "liar",
        &relay.ws_url(),
        &["--fault-inject", "wrong-result"],
    );
    wait_until(WAIT, "4 peers", || relay.peer_count() == 4);
    let (folder, texts) = inputs(dir.path(), 12);
    let report = submit_wasm(
        dir.path(),
        &relay,
        &[
            "--module",
            module,
            "--inputs",
            folder.to_str().unwrap(),
            "--redundancy",
            "4",
        ],
    );
    assert!(report.verified);
    assert_runs(&report, &texts);
    assert_eq!(report.outvoted, vec![liar.id.clone()]);
    let mut agreeing = report.agreeing.clone();
    agreeing.sort();
    let mut want: Vec<String> = honest.iter().map(|w| w.id.clone()).collect();
    want.sort();
    assert_eq!(agreeing, want);
}

#[test]
fn bad_input_is_refused_at_each_door_and_honest_work_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(dir.path(), free_port(), &[]);
    // A node that does not run submitters' modules, beside one that does.
    let refusing = Worker::start(
        dir.path(),
        "no-wasm",
        &relay.ws_url(),
        &["--no-custom-wasm"],
    );
    wait_until(WAIT, "1 peer", || relay.peer_count() == 1);
    let peers = relay.get("/api/peers");
    let kinds = peers[0]["kernels"].to_string();
    assert!(
        !kinds.contains("custom_wasm") && kinds.contains("encryption"),
        "{kinds}"
    );
    refusing.kill();
    wait_until(WAIT, "the node to leave", || relay.peer_count() == 0);

    let write = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let input = write("input.txt", b"hello");
    // Modules the sandbox refuses, each before anything is sent: not wasm, an import, a start
    // function, shared memory (threads), relaxed SIMD.
    let wasm = |wat: &str| wat::parse_str(wat).unwrap();
    let cases = [
        ("not-wasm", b"this is not a module".to_vec(), "EN-601"),
        (
            "import",
            wasm(r#"(module (import "env" "f" (func)))"#),
            "EN-602",
        ),
        ("start", wasm("(module (func $s) (start $s))"), "EN-603"),
        ("threads", wasm("(module (memory 1 1 shared))"), "EN-601"),
        (
            "relaxed-simd",
            wasm(
                "(module (func (drop (f32x4.relaxed_madd (v128.const i64x2 0 0) (v128.const i64x2 0 0) (v128.const i64x2 0 0)))))",
            ),
            "EN-601",
        ),
    ];
    for (name, bytes, code) in cases {
        let module = write(name, &bytes);
        let out = submit_wasm_raw(
            dir.path(),
            &relay,
            &["--module", &module, "--input", &input],
        );
        assert!(!out.status.success(), "{name}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(code), "{name}: {err}");
    }
    // Limits of the task: no fuel, too much memory, no input.
    let module = guest(dir.path());
    let module = module.to_str().unwrap();
    for (args, code) in [
        (vec!["--fuel", "0"], "EN-141"),
        (vec!["--memory", "300"], "EN-141"),
    ] {
        let mut all = vec!["--module", module, "--input", &input];
        all.extend(args);
        let out = submit_wasm_raw(dir.path(), &relay, &all);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains(code),
            "{all:?}: {err}"
        );
    }
    let out = submit_wasm_raw(dir.path(), &relay, &["--module", module]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--input"));

    // Honest work beside it: a node that runs modules answers, and a search still runs.
    let _worker = Worker::start(dir.path(), "wasm", &relay.ws_url(), &[]);
    wait_until(WAIT, "the worker", || relay.peer_count() == 1);
    let report = submit_wasm(
        dir.path(),
        &relay,
        &["--module", module, "--input", &input, "--redundancy", "1"],
    );
    assert_eq!(report.runs[0].output.as_deref(), Some("hello 1\n"));
    let search = submit(dir.path(), &relay.ws_url(), &["--redundancy", "1"]);
    assert_eq!(search.matches_local, Some(true));
}
