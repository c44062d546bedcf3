//! The network on real sockets: a relay, native workers and a submitter as separate processes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use std::time::Duration;

use edgenet_core::kinds::vector_search::knn_agree;
use edgenet_core::kinds::vector_search::{KnnResult, SearchMetric};
use edgenet_e2e::{Relay, Worker, free_port, submit, wait_until};
use edgenet_node::submit::{Vectors, build_task};

const WAIT: Duration = Duration::from_secs(20);

fn local_reference(seed: u64) -> KnnResult {
    let task = build_task(
        &Vectors::Random {
            seed,
            n: 2_000,
            queries: 4,
            dim: 64,
        },
        SearchMetric::Dot,
        10,
    )
    .unwrap();
    edgenet_kernels::execute::vector_search(&task).unwrap()
}

fn as_result(hits: &[Vec<(u32, f32)>]) -> KnnResult {
    KnnResult {
        hits: hits
            .iter()
            .map(|q| {
                q.iter()
                    .map(|&(index, score)| edgenet_core::kinds::vector_search::Hit { index, score })
                    .collect()
            })
            .collect(),
    }
}

#[test]
fn three_workers_return_the_verified_local_result() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(&dir.path().join("relay"), 0, &[]);
    let workers: Vec<Worker> = (0..3)
        .map(|i| Worker::start(dir.path(), &format!("w{i}"), &relay.ws_url(), &[]))
        .collect();
    wait_until(WAIT, "3 peers", || relay.peer_count() == 3);

    let report = submit(dir.path(), &relay.ws_url(), &["--seed", "7"]);
    assert!(report.matches_local == Some(true));
    assert!(
        knn_agree(&as_result(&report.hits), &local_reference(7)),
        "the test's own computation agrees too"
    );
    let mut agreeing = report.agreeing.clone();
    agreeing.sort();
    let mut ids: Vec<String> = workers.iter().map(|w| w.id.clone()).collect();
    ids.sort();
    assert_eq!(agreeing, ids);
    assert!(report.outvoted.is_empty());

    let tasks = relay.get("/api/tasks");
    assert_eq!(tasks[0]["status"], "verified");
    assert_eq!(tasks[0]["id"], report.task.as_str());

    // Vectors from a file, with a known answer: the query is closest to database row 2.
    let file = dir.path().join("vectors.json");
    std::fs::write(&file, r#"{"queries": [[1.0, 0.0, 0.0]], "database": [[0.0, 1.0, 0.0], [0.5, 0.5, 0.0], [0.9, 0.1, 0.0], [-1.0, 0.0, 0.0]]}"#).unwrap();
    let report = submit(
        dir.path(),
        &relay.ws_url(),
        &[
            "--vectors",
            file.to_str().unwrap(),
            "--k",
            "2",
            "--metric",
            "cosine",
        ],
    );
    let ids: Vec<u32> = report.hits[0].iter().map(|h| h.0).collect();
    assert_eq!(ids, vec![2, 1]);
    assert!(report.matches_local == Some(true));
    wait_until(WAIT, "workers to count the task", || {
        workers.iter().all(|w| w.log().contains("agreed=true"))
    });
}

#[test]
fn a_lying_worker_is_outvoted_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(&dir.path().join("relay"), 0, &[]);
    let honest_a = Worker::start(dir.path(), "honest-a", &relay.ws_url(), &[]);
    let liar = Worker::start(
        dir.path(),
        "liar",
        &relay.ws_url(),
        &["--fault-inject", "wrong-result"],
    );
    let honest_b = Worker::start(dir.path(), "honest-b", &relay.ws_url(), &[]);
    wait_until(WAIT, "3 peers", || relay.peer_count() == 3);

    let report = submit(dir.path(), &relay.ws_url(), &["--seed", "8"]);
    assert_eq!(report.outvoted, vec![liar.id.clone()]);
    assert_eq!(report.agreeing.len(), 2);
    assert!(report.agreeing.contains(&honest_a.id) && report.agreeing.contains(&honest_b.id));
    assert!(
        report.matches_local == Some(true),
        "the majority's answer is the right one"
    );
    assert_eq!(relay.get("/api/tasks")[0]["outvoted"][0], liar.id.as_str());
    wait_until(WAIT, "the liar to hear the verdict", || {
        liar.log().contains("agreed=false")
    });

    // The same defence for an encryption task: the liar flips a ciphertext bit.
    let report = submit(
        dir.path(),
        &relay.ws_url(),
        &["--kind", "encryption", "--bytes", "10000", "--seed", "5"],
    );
    assert_eq!(report.outvoted, vec![liar.id.clone()]);
    assert!(
        report.matches_local == Some(true),
        "the majority's ciphertext is the right one"
    );
    assert_eq!(report.result_bytes, 10_000 + 16);

    // And for a compression (byte-exact, like encryption): the liar flips a bit of a code.
    for mode in ["int8", "binary"] {
        let report = submit(
            dir.path(),
            &relay.ws_url(),
            &[
                "--kind",
                "compression",
                "--mode",
                mode,
                "--n",
                "500",
                "--dim",
                "70",
            ],
        );
        assert_eq!(report.outvoted, vec![liar.id.clone()], "{mode}");
        assert!(
            report.matches_local == Some(true),
            "{mode}: the majority's codes are right"
        );
    }
}

/// Canaries the relay has seen answered `outcome` ("passed", "failed").
fn canaries(relay: &Relay, outcome: &str) -> u64 {
    let (_, body) = relay.get_raw("/metrics");
    let prefix = format!("edgenet_canaries_total{{outcome=\"{outcome}\"}} ");
    body.lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .map_or(0, |v| v.parse().unwrap())
}

#[test]
fn colluding_liars_that_joined_first_win_no_task_at_redundancy_3() {
    for liars in [1usize, 2] {
        let dir = tempfile::tempdir().unwrap();
        let relay = Relay::start(
            &dir.path().join("relay"),
            0,
            &["--canary-reward", "1000000"],
        );
        // They join first and give the same wrong answer (they collude); their canaries look
        // like any task, so they lie on those too.
        let liars: Vec<Worker> = (0..liars)
            .map(|i| {
                let args = ["--fault-inject", "wrong-result"];
                Worker::start(dir.path(), &format!("liar{i}"), &relay.ws_url(), &args)
            })
            .collect();
        wait_until(WAIT, "the liars' canaries to fail", || {
            canaries(&relay, "failed") == liars.len() as u64
        });
        let honest: Vec<Worker> = (0..3)
            .map(|i| Worker::start(dir.path(), &format!("honest{i}"), &relay.ws_url(), &[]))
            .collect();
        wait_until(WAIT, "the honest workers' canaries", || {
            canaries(&relay, "passed") == honest.len() as u64
        });
        let liar_ids: Vec<&String> = liars.iter().map(|w| &w.id).collect();
        for seed in 0..6 {
            let seed = seed.to_string();
            let report = submit(dir.path(), &relay.ws_url(), &["--seed", seed.as_str()]);
            assert!(
                report.matches_local == Some(true),
                "{} liars: a wrong result",
                liars.len()
            );
            assert_eq!(report.agreeing.len(), 3);
            assert!(report.agreeing.iter().all(|w| !liar_ids.contains(&w)));
        }
    }
}

#[test]
fn a_worker_killed_mid_task_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    // A long assignment timeout: the reassignment below must come from the disconnect, not a timer.
    let relay = Relay::start(
        &dir.path().join("relay"),
        0,
        &["--assignment-timeout-ms", "120000"],
    );
    let _a = Worker::start(dir.path(), "a", &relay.ws_url(), &[]);
    let _b = Worker::start(dir.path(), "b", &relay.ws_url(), &[]);
    let doomed = Worker::start(
        dir.path(),
        "doomed",
        &relay.ws_url(),
        &["--fault-inject", "stall"],
    );
    wait_until(WAIT, "3 peers", || relay.peer_count() == 3);

    let url = relay.ws_url();
    let dir_path = dir.path().to_owned();
    let submitter = std::thread::spawn(move || submit(&dir_path, &url, &["--seed", "9"]));
    wait_until(WAIT, "the doomed worker to hold the payload", || {
        doomed.log().contains("payload received")
    });
    let doomed_id = doomed.id.clone();
    doomed.kill();
    let late = Worker::start(dir.path(), "late", &relay.ws_url(), &[]);

    let report = submitter.join().unwrap();
    assert!(report.matches_local == Some(true));
    assert!(
        report.agreeing.contains(&late.id),
        "the replacement did the work"
    );
    assert!(!report.agreeing.contains(&doomed_id) && !report.outvoted.contains(&doomed_id));
    let task = &relay.get("/api/tasks")[0];
    let lost: Vec<&str> = task["work"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["state"] == "lost")
        .map(|w| w["worker"].as_str().unwrap())
        .collect();
    assert_eq!(lost, vec![doomed_id.as_str()]);
    assert_eq!(relay.get("/api/status")["stats"]["reassignments"], 1);
}

#[test]
fn nodes_reconnect_after_the_relay_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(&dir.path().join("relay"), free_port(), &[]);
    let relay_id = relay.get("/api/status")["node_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let workers: Vec<Worker> = (0..3)
        .map(|i| Worker::start(dir.path(), &format!("w{i}"), &relay.ws_url(), &[]))
        .collect();
    wait_until(WAIT, "3 peers", || relay.peer_count() == 3);
    wait_until(WAIT, "CONNECTED", || {
        workers.iter().all(|w| w.state() == "CONNECTED")
    });

    let relay = relay.crash_and_restart();
    assert_eq!(
        relay.get("/api/status")["node_id"],
        relay_id.as_str(),
        "same identity after restart"
    );
    wait_until(WAIT, "3 peers again", || relay.peer_count() == 3);
    wait_until(WAIT, "CONNECTED again", || {
        workers.iter().all(|w| w.state() == "CONNECTED")
    });
    assert!(
        workers.iter().all(|w| w.log().contains("Reconnecting")),
        "each worker went through RECONNECTING"
    );

    let report = submit(dir.path(), &relay.ws_url(), &["--seed", "10"]);
    assert!(report.matches_local == Some(true));
    assert_eq!(report.agreeing.len(), 3);
}

/// A relay that asks for proofs no node finds in hours (24 bits): each reconnect's new challenge
/// replaces the search for the old one instead of adding a thread, and SIGTERM stops the node at
/// once, mid-search.
#[test]
fn proof_searches_do_not_pile_up_across_reconnects_and_sigterm_stops_the_node_mid_search() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut relay = Relay::start(&dir.path().join("relay"), port, &["--work-bits", "24"]);
    let worker = Worker::start(dir.path(), "w", &relay.ws_url(), &[]);
    wait_until(WAIT, "the worker joins", || relay.peer_count() == 1);
    std::thread::sleep(Duration::from_millis(500));
    let before = worker.threads();
    for _ in 0..6 {
        relay = relay.start_again();
        wait_until(WAIT, "the worker joins again", || relay.peer_count() == 1);
        std::thread::sleep(Duration::from_millis(300));
    }
    let after = worker.threads();
    // One search at a time: the pool may keep a spare thread, not one per reconnect.
    assert!(
        after <= before + 2,
        "{before} threads, then {after} after six reconnects"
    );
    let (status, took) = worker.terminate();
    assert!(status.success(), "{status}");
    assert!(took < Duration::from_secs(2), "SIGTERM took {took:?}");
}
