//! The relay's ledger on a real socket and a real disk: a burst of payments, the relay killed with
//! SIGKILL in the middle, and after the restart every acknowledged entry is there, in the HTTP
//! API and in what reconciliation sends back.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use std::collections::HashSet;
use std::time::Duration;

use edgenet_core::SecretKey;
use edgenet_core::ledger::sync::SyncMessage;
use edgenet_core::ledger::{Account, Entry, EntryKind, Ledger, LedgerConfig, MintReason};
use edgenet_core::task::TaskId;
use edgenet_e2e::{Relay, Worker, Ws, connect, hello, node, node_stdout, wait_until};
use edgenet_proto::message::{ClientMsg, RelayMsg};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

const PAYMENTS: usize = 400;
const KILL_AFTER_ACKS: usize = 120;

async fn send(ws: &mut Ws, msg: &ClientMsg) {
    ws.send(Message::Binary(msg.encode().unwrap().into()))
        .await
        .unwrap();
}

async fn next_msg(ws: &mut Ws) -> Option<RelayMsg> {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
            Ok(Some(Ok(Message::Binary(b)))) => return Some(RelayMsg::decode(&b).unwrap()),
            Ok(Some(Ok(_))) => {}
            _ => return None,
        }
    }
}

async fn join(relay: &Relay, key: &SecretKey) -> Ws {
    let (mut ws, nonce, relay_key) = connect(&relay.ws_url()).await;
    send(&mut ws, &hello(key, &nonce, &relay_key)).await;
    match next_msg(&mut ws).await {
        Some(RelayMsg::Welcome { .. }) => ws,
        other => panic!("no welcome: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_entries_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("relay");
    let relay = Relay::start(&data, 0, &[]);
    // The relay is the network's validator; the test signs its canary mint with the relay's own
    // key file, as the relay will once the economics run (it writes no entries of its own yet).
    let (relay_key, _) = edgenet_keystore::load_or_create(&data.join("relay.key")).unwrap();
    let alice = SecretKey::from_seed(&[2; 32]);
    // Bob is a node with a key file, so that `edgenet-node earnings` can speak for him.
    let bob_key_file = dir.path().join("bob.key");
    let (bob, _) = edgenet_keystore::load_or_create(&bob_key_file).unwrap();
    let mut local = Ledger::new(LedgerConfig::single(Account::of(&relay_key.node_id())).unwrap());
    let mut burst: Vec<Entry> = vec![
        local
            .append(
                &relay_key,
                EntryKind::Mint {
                    to: Account::of(&alice.node_id()),
                    amount: 100_000_000,
                    reason: MintReason::Canary {
                        task: TaskId([1; 16]),
                    },
                },
            )
            .unwrap(),
    ];
    for _ in 0..PAYMENTS {
        burst.push(
            local
                .append(
                    &alice,
                    EntryKind::Transfer {
                        to: Account::of(&bob.node_id()),
                        amount: 1_000,
                    },
                )
                .unwrap(),
        );
    }

    // One entry per frame, all sent without waiting; acknowledgements come back in order.
    let ws = join(&relay, &alice).await;
    let (mut sink, mut stream) = ws.split();
    let frames: Vec<Vec<u8>> = burst
        .iter()
        .map(|e| {
            ClientMsg::Ledger(SyncMessage::Entries(vec![e.clone()]))
                .encode()
                .unwrap()
        })
        .collect();
    let sender = tokio::spawn(async move {
        for f in frames {
            if sink.send(Message::Binary(f.into())).await.is_err() {
                break; // the relay is gone
            }
        }
    });
    let mut acked = 0usize;
    while acked < KILL_AFTER_ACKS {
        let Some(Ok(Message::Binary(b))) = stream.next().await else {
            panic!("socket closed after {acked} acks")
        };
        if let RelayMsg::LedgerAck {
            held,
            rejected,
            code,
            ..
        } = RelayMsg::decode(&b).unwrap()
        {
            assert_eq!((held, rejected, code), (1, 0, None));
            acked += 1;
        }
    }
    let relay = tokio::task::block_in_place(|| relay.crash_and_restart());
    let _ = sender.await;
    // Acks that were already on their way count too: they were sent after the commit.
    while let Ok(Some(Ok(Message::Binary(b)))) =
        tokio::time::timeout(Duration::from_millis(200), stream.next()).await
    {
        if matches!(RelayMsg::decode(&b), Ok(RelayMsg::LedgerAck { .. })) {
            acked += 1;
        }
    }
    assert!(acked >= KILL_AFTER_ACKS && acked <= burst.len());

    // The HTTP API reads the reloaded ledger: the mint and at least every acknowledged payment.
    let alice_view =
        tokio::task::block_in_place(|| relay.get(&format!("/api/ledger/{}", alice.node_id())));
    let bob_view =
        tokio::task::block_in_place(|| relay.get(&format!("/api/ledger/{}", bob.node_id())));
    let paid = alice_view["chain_len"].as_u64().unwrap();
    assert!(
        paid as usize >= acked - 1,
        "{paid} payments kept, {acked} acked"
    );
    assert_eq!(bob_view["balance"].as_u64().unwrap(), paid * 1_000);
    assert_eq!(
        alice_view["balance"].as_u64().unwrap(),
        100_000_000 - paid * 1_000
    );

    // `edgenet-node earnings` reads the same ledger: same figures as the HTTP API.
    let earned = tokio::task::block_in_place(|| {
        node_stdout(
            &bob_key_file,
            &["earnings", "--relay", &relay.ws_url(), "--json"],
        )
    });
    let earned: serde_json::Value = serde_json::from_str(&earned).unwrap();
    // Every figure `earnings` prints is the API's (which adds the rank and the multiplier).
    for (key, value) in earned.as_object().unwrap() {
        assert_eq!(
            value,
            &bob_view[key.as_str()],
            "{key}: {earned} against {bob_view}"
        );
    }
    assert!(earned["balance"].is_u64() && earned["account"].is_string());
    let text = tokio::task::block_in_place(|| {
        node_stdout(&bob_key_file, &["earnings", "--relay", &relay.ws_url()])
    });
    assert!(
        text.contains(&format!(
            "balance:    {}.{:06} credits",
            paid * 1_000 / 1_000_000,
            paid * 1_000 % 1_000_000
        )),
        "{text}"
    );

    // Reconciliation from an empty replica gets every acknowledged entry back.
    let mut ws = join(&relay, &bob).await;
    send(&mut ws, &ClientMsg::Ledger(SyncMessage::Heads(vec![]))).await;
    let mut got: HashSet<_> = HashSet::new();
    while got.len() < paid as usize + 1 {
        match next_msg(&mut ws).await {
            Some(RelayMsg::Ledger(SyncMessage::Entries(es))) => {
                got.extend(es.iter().map(Entry::hash));
            }
            Some(_) => {}
            None => break,
        }
    }
    for e in &burst[..acked] {
        assert!(got.contains(&e.hash()), "acknowledged entry lost");
    }

    // An altered entry is refused with its code; the acknowledgement says so.
    let mut forged = burst[2].clone();
    forged.body.kind = EntryKind::Transfer {
        to: Account::of(&bob.node_id()),
        amount: 99_000_000,
    };
    send(
        &mut ws,
        &ClientMsg::Ledger(SyncMessage::Entries(vec![forged])),
    )
    .await;
    loop {
        match next_msg(&mut ws).await {
            Some(RelayMsg::LedgerAck {
                held,
                rejected,
                code,
                ..
            }) => {
                assert_eq!((held, rejected, code.as_deref()), (0, 1, Some("EN-172")));
                break;
            }
            Some(RelayMsg::Ledger(_)) => {}
            other => panic!("no ack for the forged entry: {other:?}"),
        }
    }
    // A bad account in the URL gets a code, not a crash.
    let (status, body) = tokio::task::block_in_place(|| relay.get_raw("/api/ledger/nope"));
    assert_eq!(status, 400);
    assert!(body.contains("EN-101"), "{body}");
}

#[test]
fn a_worker_earns_the_uptime_bonus_and_keeps_it_across_a_relay_crash() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(
        &dir.path().join("relay"),
        0,
        &["--uptime-period-ms", "400", "--uptime-bonus", "100000"],
    );
    let worker = Worker::start(dir.path(), "w1", &relay.ws_url(), &[]);
    let earnings = |relay: &Relay| -> serde_json::Value {
        let out = node_stdout(
            &worker.key_file,
            &["earnings", "--relay", &relay.ws_url(), "--json"],
        );
        serde_json::from_str(&out).unwrap()
    };
    wait_until(Duration::from_secs(20), "uptime bonus minted", || {
        earnings(&relay)["balance"].as_u64().unwrap() >= 300_000
    });
    let before = earnings(&relay);
    assert_eq!(before["balance"], before["earned"]);
    assert_eq!(before["account"].as_str().unwrap(), worker.id);
    let relay = relay.crash_and_restart();
    // The worker reconnects and keeps earning, so later reads may only be higher.
    let api = relay.get(&format!("/api/ledger/{}", worker.id));
    let after = earnings(&relay);
    let balance = |v: &serde_json::Value| v["balance"].as_u64().unwrap();
    assert!(
        balance(&api) >= balance(&before),
        "{api} < {before}: the crash lost credits"
    );
    assert!(balance(&after) >= balance(&api));
    assert_eq!(after["account"], api["account"]);
}

#[test]
fn a_paid_submission_escrows_pays_the_workers_and_is_refused_without_credits() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(
        &dir.path().join("relay"),
        0,
        &["--uptime-period-ms", "300", "--uptime-bonus", "1000000"],
    );
    let api = |relay: &Relay, id: &str| relay.get(&format!("/api/ledger/{id}"));
    // The payer earns its first credits as a worker (uptime), then stops working.
    let payer = Worker::start(dir.path(), "payer", &relay.ws_url(), &[]);
    wait_until(Duration::from_secs(20), "the payer's credits", || {
        api(&relay, &payer.id)["balance"].as_u64().unwrap() >= 2_000_000
    });
    let (payer_key, payer_id) = (payer.key_file.clone(), payer.id.clone());
    payer.kill();
    let before = api(&relay, &payer_id);
    let workers: Vec<Worker> = (0..3)
        .map(|i| Worker::start(dir.path(), &format!("w{i}"), &relay.ws_url(), &[]))
        .collect();
    wait_until(Duration::from_secs(10), "three workers", || {
        relay.peer_count() == 3
    });

    let report: edgenet_node::submit::Report = serde_json::from_str(&node_stdout(
        &payer_key,
        &[
            "submit",
            "--relay",
            &relay.ws_url(),
            "--json",
            "--pay",
            "0.1",
            "--redundancy",
            "3",
            "--n",
            "500",
            "--dim",
            "16",
        ],
    ))
    .unwrap();
    assert!(report.matches_local == Some(true));
    assert_eq!(report.agreeing.len(), 3);
    let after = api(&relay, &payer_id);
    // 0.1 credit for 3 workers: 33,333 micro-credits each, the last one refunded.
    assert_eq!(after["spent"].as_u64().unwrap(), 99_999, "{after}");
    assert_eq!(after["escrowed"].as_u64().unwrap(), 0);
    // The payer's balance went down by what it spent, and by nothing more (its worker is gone;
    // a submitting connection offers no kinds and earns no uptime).
    let change = i128::from(after["balance"].as_u64().unwrap())
        - i128::from(before["balance"].as_u64().unwrap())
        + 99_999;
    assert!(change >= 0, "{before} -> {after}");
    for w in &workers {
        // Each was paid its share (uptime may come on top; no bonus is minted on a payment).
        let earned = api(&relay, &w.id)["earned"].as_u64().unwrap();
        assert!(earned >= 33_333, "worker {} was not paid: {earned}", w.id);
    }

    // A new identity has nothing to escrow: refused with EN-220, nothing charged.
    let broke = dir.path().join("broke.key");
    let out = node(
        &broke,
        &[
            "submit",
            "--relay",
            &relay.ws_url(),
            "--pay",
            "1",
            "--n",
            "100",
            "--dim",
            "4",
        ],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("EN-220"), "{stderr}");
}

#[test]
fn a_new_worker_earns_its_first_credits_on_a_canary_and_a_cheat_loses_reputation() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(
        &dir.path().join("relay"),
        0,
        &["--canary-reward", "2000000"],
    );
    let api = |id: &str| relay.get(&format!("/api/ledger/{id}"));
    let honest = Worker::start(dir.path(), "honest", &relay.ws_url(), &[]);
    let cheat = Worker::start(
        dir.path(),
        "cheat",
        &relay.ws_url(),
        &["--fault-inject", "wrong-result"],
    );
    // The reward (2 credits) times the early-adopter multiplier at the start of the curve (10x),
    // paid once the worker proved the work the relay asked of it.
    let reward = 20_000_000;
    wait_until(Duration::from_secs(20), "the canaries to be judged", || {
        api(&honest.id)["balance"].as_u64() == Some(reward)
            && api(&cheat.id)["reputation"].as_u64().is_some()
    });
    let h = api(&honest.id);
    assert_eq!(
        (h["earned"].as_u64(), h["reputation"].as_u64()),
        (Some(reward), None)
    );
    let c = api(&cheat.id);
    assert_eq!(
        (c["balance"].as_u64(), c["reputation"].as_u64()),
        (Some(0), Some(3_000))
    );
    // Canaries look like encryption tasks and are listed like any task, with their verdict.
    let tasks = relay.get("/api/tasks");
    let judged: Vec<(String, String)> = tasks
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let who = t["agreeing"]
                .get(0)
                .or_else(|| t["outvoted"].get(0))
                .and_then(|v| v.as_str())
                .unwrap_or_default();
            (
                t["kind"].as_str().unwrap_or_default().to_owned(),
                who.to_owned(),
            )
        })
        .collect();
    assert!(
        judged.contains(&("encryption".to_owned(), honest.id.clone())),
        "{tasks}"
    );
    assert!(
        judged.contains(&("encryption".to_owned(), cheat.id.clone())),
        "{tasks}"
    );
    // A worker that has earned gets no second canary when it reconnects.
    let relay = relay.crash_and_restart();
    wait_until(Duration::from_secs(20), "the honest worker back", || {
        relay
            .get("/api/peers")
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["node_id"] == honest.id.as_str())
    });
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        relay.get(&format!("/api/ledger/{}", honest.id))["balance"].as_u64(),
        Some(reward)
    );
}
