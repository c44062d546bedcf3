//! A damaged ledger store is refused: the relay stops with EN-302 instead of starting with an
//! empty ledger, a ledger whose figures silently changed, or a panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use edgenet_core::NodeId;
use edgenet_e2e::{Relay, Worker, bin, wait_until};

/// Starts the relay on `data` and expects it to refuse: returns its exit code and stderr. A relay
/// that starts (still running after 15 s, or printing its address) fails the test.
fn refused(data: &Path) -> (i32, String) {
    let mut child = Command::new(bin("edgenet-relay"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--www",
            "/nonexistent",
            "--pkg",
            "/nonexistent",
        ])
        .arg("--data-dir")
        .arg(data)
        .env("EDGENET_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(15) {
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            assert!(!stdout.contains("listening"), "the relay started: {stdout}");
            return (
                status.code().unwrap_or(-1),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the relay started on a damaged store");
}

/// Every offset where `needle` occurs in `hay`.
fn find_all(hay: &[u8], needle: &[u8]) -> Vec<usize> {
    (0..hay.len().saturating_sub(needle.len()))
        .filter(|&i| hay[i..i + needle.len()] == *needle)
        .collect()
}

#[test]
fn a_truncated_or_damaged_ledger_store_is_refused_with_en_302() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("relay");
    // A relay that stored entries: a worker earns 1 credit of uptime every 300 ms.
    let relay = Relay::start(
        &data,
        0,
        &["--uptime-period-ms", "300", "--uptime-bonus", "1000000"],
    );
    let worker = Worker::start(dir.path(), "w", &relay.ws_url(), &[]);
    let account = format!("/api/ledger/{}", worker.id);
    wait_until(Duration::from_secs(20), "three uptime mints", || {
        relay.get(&account)["balance"].as_u64().unwrap_or(0) >= 3_000_000
    });
    let key: NodeId = worker.id.parse().unwrap();
    drop(worker);
    assert!(relay.terminate().success());
    let file = data.join("ledger.redb");
    let pristine = std::fs::read(&file).unwrap();
    let places = find_all(&pristine, key.as_bytes());
    assert!(
        !places.is_empty(),
        "the worker's key is in the stored mints"
    );

    // Intact, it loads and shows the same figures.
    let relay = Relay::start(&data, 0, &[]);
    assert!(relay.get(&account)["balance"].as_u64().unwrap() >= 3_000_000);
    assert!(relay.terminate().success());
    let pristine = std::fs::read(&file).unwrap();
    let places = find_all(&pristine, key.as_bytes());

    // One bit flipped in each stored mint to the worker (in the amount right after its key).
    let mut flipped = pristine.clone();
    for &at in &places {
        flipped[at + 32] ^= 1;
    }
    std::fs::write(&file, &flipped).unwrap();
    let (code, stderr) = refused(&data);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("EN-302"), "{stderr}");

    // Garbage over the pages that hold the entries: refused, not a panic (exit code 101).
    let mut garbled = pristine.clone();
    for &at in &places {
        let from = at.saturating_sub(2048);
        let to = (from + 4096).min(garbled.len());
        garbled[from..to].fill(0xAB);
    }
    std::fs::write(&file, &garbled).unwrap();
    let (code, stderr) = refused(&data);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("EN-302"), "{stderr}");

    // Truncated to nothing: refused, not started empty.
    std::fs::write(&file, b"").unwrap();
    let (code, stderr) = refused(&data);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("EN-302") && stderr.contains("empty"),
        "{stderr}"
    );

    // Put back, it loads again: nothing was overwritten by the refusals.
    std::fs::write(&file, &pristine).unwrap();
    let relay = Relay::start(&data, 0, &[]);
    assert!(relay.get(&account)["balance"].as_u64().unwrap() >= 3_000_000);
}
