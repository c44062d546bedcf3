//! A worker that stops reading is dropped once its bounded queue fills; nobody else waits for it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use std::time::Duration;

use edgenet_core::SecretKey;
use edgenet_core::task::{TaskId, TaskKind};
use edgenet_e2e::{RawClient, Relay, Worker, submit, wait_until};
use edgenet_proto::message::{ClientMsg, RelayMsg, TaskSpec};

#[test]
fn a_slow_consumer_is_disconnected_and_never_stalls_others() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(&dir.path().join("relay"), 0, &["--queue-frames", "64"]);
    let url = relay.ws_url();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let slow_id = rt.block_on(async {
        let slow_key = SecretKey::from_seed(&[50; 32]);
        let slow_id = slow_key.node_id();
        let mut slow = RawClient::open(&url, &slow_key).await;
        let mut submitter = RawClient::open(&url, &SecretKey::from_seed(&[51; 32])).await;
        let task = TaskId([5; 16]);
        submitter
            .send(&ClientMsg::Submit(TaskSpec {
                id: task,
                kind: TaskKind::VECTOR_SEARCH,
                redundancy: 1,
                max_credits: 0,
                priority: 0,
                timeout_ms: 60_000,
            }))
            .await
            .unwrap();
        // The slow worker claims the offer, takes the assignment, then never reads again.
        slow.claim_when_offered(task).await;
        loop {
            if let RelayMsg::Assigned { .. } = submitter.next().await.unwrap() {
                break;
            }
        }
        // 512 KiB "payloads" until the relay gives up on the worker: far more than socket buffers
        // and the 64-frame queue can hold.
        let payload = ClientMsg::Payload {
            task,
            worker: *slow_id.as_bytes(),
            envelope: vec![0xab; 512 * 1024],
        };
        let mut dropped = false;
        for _ in 0..400 {
            if let Err(e) = submitter.send(&payload).await {
                panic!("submitter lost its connection: {e}");
            }
            // The relay answers payloads for a worker it dropped with EN-209 (not assigned any more).
            if let Ok(Ok(RelayMsg::Error { code, .. })) =
                tokio::time::timeout(Duration::from_millis(1), submitter.next()).await
            {
                assert_eq!(code, "EN-209");
                dropped = true;
                break;
            }
        }
        assert!(dropped, "the relay never dropped the slow worker");
        drop(slow);
        slow_id.to_string()
    });
    let peers = relay.get("/api/peers");
    assert!(
        peers
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["node_id"] != slow_id.as_str()),
        "slow worker is gone"
    );
    assert_eq!(
        relay.get("/api/tasks")[0]["work"][0]["state"],
        "lost",
        "its assignment was taken back"
    );

    // Everyone else is served as before.
    let _workers: Vec<Worker> = (0..3)
        .map(|i| Worker::start(dir.path(), &format!("w{i}"), &relay.ws_url(), &[]))
        .collect();
    wait_until(Duration::from_secs(20), "3 workers", || {
        relay.peer_count() >= 3
    });
    let report = submit(dir.path(), &relay.ws_url(), &["--seed", "4"]);
    assert!(report.matches_local == Some(true));
}
