//! Three relays joined by a three-server NATS cluster (JetStream, R3) act as one network: one
//! directory, one ledger. Credits earned at one relay are spent at the others; a relay killed
//! with SIGKILL mid-burst loses no acknowledged entry, its workers move to the others within
//! 5 s, and after its restart it catches up from the log. One NATS server going away and coming
//! back changes nothing the relays serve.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use std::path::Path;
use std::time::{Duration, Instant};

use edgenet_e2e::{NatsServer, Relay, Worker, node, wait_until};

const WAIT: Duration = Duration::from_secs(60);

fn start_relays(dir: &Path, nats: &[NatsServer]) -> (Vec<Relay>, Vec<String>) {
    edgenet_e2e::relay_cluster(
        dir,
        nats,
        &[
            "--nats-directory-ttl-s",
            "3",
            // Uptime mints every 300 ms: credits to pay with, and a steady stream of entries.
            "--uptime-period-ms",
            "300",
            "--uptime-bonus",
            "1000000",
            // A relay that takes over a dead one's escrows refunds them after this.
            "--escrow-grace-ms",
            "2000",
        ],
    )
}

/// `/api/ledger/{id}` at each relay, without the leaderboard's rank (a ranking each relay caches
/// for 5 s, not ledger state).
fn accounts(relays: &[&Relay], id: &str) -> Vec<serde_json::Value> {
    relays
        .iter()
        .map(|r| {
            let mut account = r.get(&format!("/api/ledger/{id}"));
            let fields = account.as_object_mut().unwrap();
            fields.remove("rank");
            fields.remove("contributors");
            account
        })
        .collect()
}

/// A node works at `relay` until it holds 3 credits there, then stops: its id and key file.
fn earn(dir: &Path, name: &str, relay: &Relay) -> (String, std::path::PathBuf) {
    let node = Worker::start(dir, name, &relay.ws_url(), &[]);
    wait_until(WAIT, &format!("{name}'s first credits"), || {
        relay.get(&format!("/api/ledger/{}", node.id))["balance"]
            .as_u64()
            .unwrap()
            >= 3_000_000
    });
    let earned = (node.id.clone(), node.key_file.clone());
    node.kill();
    earned
}

fn chain_len(relay: &Relay, id: &str) -> u64 {
    relay.get(&format!("/api/ledger/{id}"))["chain_len"]
        .as_u64()
        .unwrap()
}

fn peers_of(relay: &Relay) -> Vec<String> {
    relay
        .get("/api/peers")
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["node_id"].as_str().unwrap().to_owned())
        .collect()
}

/// `edgenet-node submit` of a paid vector search at the relay `url` (redundancy 1: a relay
/// offers its own workers first).
fn paid_task(payer_key: &Path, url: &str, seed: usize) -> std::process::Output {
    let seed = seed.to_string();
    node(
        payer_key,
        &[
            "submit",
            "--relay",
            url,
            "--json",
            "--seed",
            &seed,
            "--pay",
            "0.1",
            "--redundancy",
            "1",
            "--timeout-s",
            "20",
        ],
    )
}

/// [`paid_task`] at `relay`: whether it was verified, and the process's output when it was not.
fn pay_for_task(payer_key: &Path, relay: &Relay, seed: usize) -> Result<(), String> {
    let out = paid_task(payer_key, &relay.ws_url(), seed);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    match serde_json::from_str::<edgenet_node::submit::Report>(&text) {
        Ok(report) if out.status.success() && report.verified => Ok(()),
        _ => Err(format!(
            "{text}{}",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
    }
}

/// The report of an `edgenet-node submit --json` that succeeded, verified and matching this
/// machine's own computation; fails the test with its output otherwise.
fn verified_report(out: &std::process::Output) -> edgenet_node::submit::Report {
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: edgenet_node::submit::Report = serde_json::from_str(&text).unwrap();
    assert!(
        report.verified && report.matches_local == Some(true),
        "{text}"
    );
    report
}

/// Polls until every relay's log position is the same and nothing waits in an outbox, twice
/// in a row 300 ms apart (no entry is being written any more).
fn wait_for_quiet_log(relays: &[&Relay]) {
    let mut last = None;
    wait_until(WAIT, "the relays' logs to agree and settle", || {
        let status: Vec<serde_json::Value> = relays.iter().map(|r| r.get("/api/cluster")).collect();
        let positions: Vec<u64> = status
            .iter()
            .map(|s| s["position"].as_u64().unwrap())
            .collect();
        let quiet =
            status.iter().all(|s| s["outbox"] == 0) && positions.windows(2).all(|w| w[0] == w[1]);
        let now = quiet.then_some(positions[0]);
        let settled = now.is_some() && now == last;
        last = now;
        if !settled {
            std::thread::sleep(Duration::from_millis(300));
        }
        settled
    });
}

#[test]
fn three_relays_over_a_nats_cluster_are_one_network() {
    let dir = tempfile::tempdir().unwrap();
    let mut nats = NatsServer::cluster(&dir.path().join("nats"), 3);
    let (relays, ids) = start_relays(dir.path(), &nats);
    let mut relays = relays.into_iter();
    let (a, b, c) = (
        relays.next().unwrap(),
        relays.next().unwrap(),
        relays.next().unwrap(),
    );

    // The directory: every relay lists all three, with the URL clients reach it at.
    for r in [&a, &b, &c] {
        wait_until(WAIT, "every relay in the directory", || {
            r.get("/api/relays").as_array().unwrap().len() == 3
        });
    }
    let listed = a.get("/api/relays");
    for (r, id) in [&a, &b, &c].iter().zip(&ids) {
        let entry = listed
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["node_id"] == id.as_str())
            .unwrap();
        assert_eq!(entry["url"], r.ws_url().as_str());
    }

    // Credits minted at A (the payer works there first) are known at B and C.
    let (payer_id, payer_key) = earn(dir.path(), "payer", &a);
    wait_until(WAIT, "the payer's credits at every relay", || {
        let seen = accounts(&[&a, &b, &c], &payer_id);
        seen.windows(2).all(|w| w[0]["balance"] == w[1]["balance"])
    });

    // One worker on A and C each, two on B (they only know B; they learn the rest from it).
    let wa = Worker::start(dir.path(), "wa", &a.ws_url(), &[]);
    let wb: Vec<Worker> = ["wb1", "wb2"]
        .iter()
        .map(|n| Worker::start(dir.path(), n, &b.ws_url(), &[]))
        .collect();
    let wc = Worker::start(dir.path(), "wc", &c.ws_url(), &[]);
    wait_until(WAIT, "workers on every relay", || {
        a.peer_count() == 1 && b.peer_count() == 2 && c.peer_count() == 1
    });

    // A burst of paid tasks, in turn at A, B and C, from the credits earned at A. Before each,
    // the relay it goes to must hold the payer's chain as the last one left it: that wait is the
    // replication lag a client switching relays sees.
    let mut written = 0;
    let mut lags = Vec::new();
    for (i, relay) in [&a, &b, &c, &a, &b, &c].iter().enumerate() {
        let start = Instant::now();
        wait_until(WAIT, "the payer's chain to replicate", || {
            chain_len(relay, &payer_id) == written
        });
        lags.push(start.elapsed());
        pay_for_task(&payer_key, relay, i + 1).unwrap();
        written += 1;
    }
    eprintln!("chain replication waits: {lags:?}");

    // Mid-burst, B dies: tasks keep going to it until it does. Their payer earned its credits
    // at B and writes its chain only there (a client that holds no copy of its chain, as a
    // one-shot `submit` does, must not write elsewhere what a dead relay may not have published).
    // A second payer's task at B waits for a fifth worker the cluster does not have (B may
    // borrow A's and C's): its escrow is open when B dies, and B never comes back in time, so another relay must refund it.
    let payer_b = Worker::start(dir.path(), "payer-b", &b.ws_url(), &[]);
    let stuck = Worker::start(dir.path(), "stuck", &b.ws_url(), &[]);
    for p in [&payer_b, &stuck] {
        wait_until(WAIT, "payer-b's and stuck's first credits", || {
            b.get(&format!("/api/ledger/{}", p.id))["balance"]
                .as_u64()
                .unwrap()
                >= 3_000_000
        });
    }
    let (payer_b_id, b_key) = (payer_b.id.clone(), payer_b.key_file.clone());
    let (stuck_id, stuck_key) = (stuck.id.clone(), stuck.key_file.clone());
    payer_b.kill();
    stuck.kill();
    let stuck_url = b.ws_url();
    let waiting = std::thread::spawn(move || {
        node(
            &stuck_key,
            &[
                "submit",
                "--relay",
                &stuck_url,
                "--json",
                "--pay",
                "0.5",
                "--redundancy",
                "5",
                "--timeout-s",
                "20",
            ],
        )
    });
    wait_until(WAIT, "stuck's escrow at every relay", || {
        accounts(&[&a, &b, &c], &stuck_id)
            .iter()
            .all(|s| s["escrowed"] == 500_000)
    });
    let b_url = b.ws_url();
    let burst = std::thread::spawn(move || {
        for (done, seed) in (100..).enumerate() {
            let out = paid_task(&b_key, &b_url, seed);
            if !out.status.success() {
                return (
                    done as u64,
                    String::from_utf8_lossy(&out.stderr).into_owned(),
                );
            }
        }
        unreachable!()
    });
    wait_until(WAIT, "tasks verified at B", || {
        chain_len(&b, &payer_b_id) >= 2
    });
    // Still open when B dies: only another relay can refund it now.
    assert_eq!(accounts(&[&b], &stuck_id)[0]["escrowed"], 500_000);
    let mut b = b;
    b.kill();
    let killed = Instant::now();
    let (done_at_b, failure) = burst.join().unwrap();
    // The submitter is told, with a code, instead of waiting for ever.
    assert!(failure.contains("EN-"), "{failure}");
    assert!(done_at_b >= 1);
    // B's workers learned A and C from B's directory and move there.
    let moved = || {
        let others: Vec<String> = [&a, &c].iter().flat_map(|r| peers_of(r)).collect();
        wb.iter().all(|w| others.contains(&w.id))
    };
    wait_until(Duration::from_secs(5), "B's workers on A or C", moved);
    eprintln!("B's workers moved within {:?}", killed.elapsed());
    assert!(!waiting.join().unwrap().status.success());
    // B is gone from the directory: the relay that takes over refunds the escrow B held open,
    // once, and every relay sees it.
    wait_until(WAIT, "stuck's escrow refunded while B is down", || {
        accounts(&[&a, &c], &stuck_id)
            .iter()
            .all(|s| s["escrowed"] == 0)
    });
    eprintln!(
        "B's open escrow refunded by a survivor {:?} after the kill",
        killed.elapsed()
    );

    // One NATS server goes away: the relays keep serving, paid tasks included.
    nats[1].stop();
    let mut seed = 1_000;
    for relay in [&a, &c] {
        wait_until(WAIT, "the payer's chain to replicate", || {
            chain_len(relay, &payer_id) == chain_len(&a, &payer_id)
        });
        seed += 1;
        pay_for_task(&payer_key, relay, seed).unwrap();
    }
    nats[1].restart();

    // B comes back and catches up from the log; its own entries written before the kill were
    // in its outbox or already published, so none is lost.
    let b = b.start_again();
    drop(wa);
    drop(wc);
    drop(wb);
    wait_until(WAIT, "no peers left", || {
        a.peer_count() + b.peer_count() + c.peer_count() == 0
    });
    wait_for_quiet_log(&[&a, &b, &c]);

    // One ledger: every account reads the same at every relay.
    let workers = ["wa", "wb1", "wb2", "wc"]
        .map(|n| edgenet_e2e::node_stdout(&dir.path().join(n).join("node.key"), &["id"]));
    for id in workers
        .iter()
        .chain(&ids)
        .chain([&payer_id, &payer_b_id, &stuck_id])
    {
        let seen = accounts(&[&a, &b, &c], id);
        assert!(
            seen.windows(2).all(|w| w[0] == w[1]),
            "{id} differs between relays: {seen:#?}"
        );
    }
    // Every escrow settled exactly once: none is left open (B refunded the one it had in flight,
    // if any, when it restarted), and each payer spent what its verified tasks cost.
    let payer_now = &accounts(&[&a], &payer_id)[0];
    assert_eq!(payer_now["escrowed"], 0, "{payer_now}");
    assert_eq!(payer_now["chain_len"], written + 2, "{payer_now}");
    let payer_b_now = &accounts(&[&a], &payer_b_id)[0];
    assert_eq!(payer_b_now["escrowed"], 0, "{payer_b_now}");
    assert!(payer_b_now["chain_len"].as_u64().unwrap() >= done_at_b);
    // Refunded once: B's own refund after its restart found the escrow closed.
    let stuck_now = &accounts(&[&a], &stuck_id)[0];
    assert_eq!(stuck_now["escrowed"], 0);
    assert_eq!(stuck_now["balance"], stuck_now["earned"], "{stuck_now}");
    let stream = nats[0].monitor("/jsz");
    eprintln!("JetStream messages: {}", stream["messages"]);
}

#[test]
fn the_directory_lists_at_most_64_relays_and_always_this_one() {
    let dir = tempfile::tempdir().unwrap();
    let nats = NatsServer::start(&dir.path().join("nats"));
    let (relays, ids) = edgenet_e2e::relay_cluster(
        dir.path(),
        std::slice::from_ref(&nats),
        &["--nats-directory-ttl-s", "15"],
    );
    // One relay is enough here: the other two only make the validator list.
    let relay = &relays[0];
    wait_until(WAIT, "the relay in the directory", || {
        relay.get("/api/relays").as_array().unwrap().len() == 3
    });
    // Seventy made-up relays and some junk, written straight into the bucket.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = async_nats::connect(nats.url().as_str()).await.unwrap();
        let js = async_nats::jetstream::new(client);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        for i in 0..70 {
            let entry = serde_json::json!({
                "node_id": format!("{i:0>52}"), "url": format!("ws://10.0.0.{i}/ws"),
                "protocol_version": 2, "version": "0", "peers": {}, "kernels": {},
                "open_tasks": 0, "updated_unix_ms": now,
            });
            js.publish(
                format!("$KV.edgenet_relays.fake{i}"),
                entry.to_string().into(),
            )
            .await
            .unwrap()
            .await
            .unwrap();
        }
        js.publish("$KV.edgenet_relays.junk", "{not json".into())
            .await
            .unwrap()
            .await
            .unwrap();
    });
    wait_until(WAIT, "the directory at its bound", || {
        relay.get("/api/relays").as_array().unwrap().len() == 64
    });
    let listed = relay.get("/api/relays");
    let listed = listed.as_array().unwrap();
    assert!(listed.iter().any(|r| r["node_id"] == ids[0].as_str()));
    assert!(
        listed
            .iter()
            .all(|r| r["url"].as_str().unwrap().starts_with("ws://"))
    );
    // The relay keeps serving.
    assert_eq!(relay.get("/api/status")["service"], "edgenet-relay");
}

#[test]
fn a_task_submitted_at_one_relay_is_verified_by_workers_on_the_other_two() {
    let dir = tempfile::tempdir().unwrap();
    let nats = NatsServer::cluster(&dir.path().join("nats"), 3);
    let (relays, _) = start_relays(dir.path(), &nats);
    let [a, b, c]: [Relay; 3] = relays.try_into().ok().unwrap();

    // The payer earns its credits at A, then goes; A has no worker left.
    let (payer_id, payer_key) = earn(dir.path(), "payer", &a);
    let wb = Worker::start(dir.path(), "wb", &b.ws_url(), &[]);
    let wc = Worker::start(dir.path(), "wc", &c.ws_url(), &[]);
    wait_until(WAIT, "A borrows B's and C's workers", || {
        a.peer_count() == 0 && a.get("/api/cluster")["borrowed_workers"] == 2
    });

    // Redundancy 2 at A: only B's and C's workers can run it.
    let out = node(
        &payer_key,
        &[
            "submit",
            "--relay",
            &a.ws_url(),
            "--json",
            "--seed",
            "7",
            "--pay",
            "0.2",
            "--redundancy",
            "2",
            "--timeout-s",
            "30",
        ],
    );
    let report = verified_report(&out);
    let mut workers = report.workers.clone();
    workers.sort();
    let mut expected = vec![wb.id.clone(), wc.id.clone()];
    expected.sort();
    assert_eq!(workers, expected);
    // A's task record names them; B and C routed the frames and kept no route afterwards.
    let task = &a.get("/api/tasks")[0];
    assert_eq!(task["status"], "verified", "{task}");
    for r in [&b, &c] {
        wait_until(WAIT, "routes to end", || {
            r.get("/api/cluster")["lent_routes"] == 0
        });
        // At least the offer, the assignment, the payload and the verdict came through.
        let status = r.get("/api/cluster");
        assert!(status["forwarded_in"].as_u64().unwrap() >= 4, "{status}");
        assert_eq!(status["forward_refused"], 0, "{status}");
    }
    assert_eq!(a.get("/api/cluster")["forward_dropped"], 0);

    // A paid them: every relay's ledger says so, the same way.
    drop(wb);
    drop(wc);
    wait_until(WAIT, "no peers left", || {
        a.peer_count() + b.peer_count() + c.peer_count() == 0
    });
    wait_for_quiet_log(&[&a, &b, &c]);
    for id in [&payer_id, &expected[0], &expected[1]] {
        let seen = accounts(&[&a, &b, &c], id);
        assert!(
            seen.windows(2).all(|w| w[0] == w[1]),
            "{id} differs between relays: {seen:#?}"
        );
    }
    let paid = &accounts(&[&c], &payer_id)[0];
    assert_eq!(paid["spent"], 200_000, "{paid}");
    assert_eq!(paid["escrowed"], 0, "{paid}");
}

#[test]
fn two_of_three_relays_sign_every_validator_entry_and_one_that_refuses_cannot_stop_it() {
    let dir = tempfile::tempdir().unwrap();
    let nats = NatsServer::start(&dir.path().join("nats"));
    let datas: Vec<std::path::PathBuf> =
        ["a", "b", "c"].iter().map(|n| dir.path().join(n)).collect();
    let ids: Vec<String> = datas.iter().map(|d| edgenet_e2e::relay_id(d)).collect();
    let (url, validators) = (nats.url(), ids.join(","));
    let flags = [
        "--nats",
        url.as_str(),
        "--nats-replicas",
        "1",
        "--validator",
        validators.as_str(),
        "--validator-threshold",
        "2",
        "--nats-directory-ttl-s",
        "3",
        "--uptime-period-ms",
        "1000",
        "--uptime-bonus",
        "1000000",
    ];
    let with = |more: &[&'static str]| [&flags[..], more].concat();
    let a = Relay::start(&datas[0], 0, &flags);
    let mut b = Relay::start(&datas[1], 0, &flags);
    // C attests nothing: every entry needs B (or A) besides its author.
    let c = Relay::start(&datas[2], 0, &with(&["--no-attest"]));
    for r in [&a, &b, &c] {
        wait_until(WAIT, "every relay in the directory", || {
            r.get("/api/relays").as_array().unwrap().len() == 3
        });
    }
    assert_eq!(a.get("/api/cluster")["threshold"], 2);

    // A worker at A earns uptime mints; each takes effect once B attested it.
    let wa = Worker::start(dir.path(), "wa", &a.ws_url(), &[]);
    let balance = |r: &Relay, id: &str| {
        r.get(&format!("/api/ledger/{id}"))["balance"]
            .as_u64()
            .unwrap()
    };
    let at = |r: &Relay| r.get("/api/cluster")["attestations"].clone();
    wait_until(WAIT, "three of A's mints attested", || {
        at(&a)["applied"].as_u64().unwrap() >= 3
    });
    wait_until(WAIT, "wa's mints at every relay", || {
        let seen: Vec<u64> = [&a, &b, &c].iter().map(|r| balance(r, &wa.id)).collect();
        seen[0] > 0 && seen.windows(2).all(|w| w[0] == w[1])
    });
    assert!(at(&b)["given"].as_u64().unwrap() >= 3, "{}", at(&b));
    assert_eq!(at(&c)["given"], 0, "{}", at(&c));
    assert!(at(&c)["refused"].as_u64().unwrap() >= 3, "{}", at(&c));
    // A paid task at A: its payment and refund take effect once B attested them too (B holds
    // the escrow by then, from the log).
    let (payer_id, payer_key) = earn(dir.path(), "payer", &a);
    wait_until(WAIT, "the payer's credits at B", || {
        balance(&b, &payer_id) == balance(&a, &payer_id)
    });
    pay_for_task(&payer_key, &a, 1).unwrap();
    wait_until(WAIT, "the task settled at every relay", || {
        accounts(&[&a, &b, &c], &payer_id)
            .iter()
            .all(|s| s["escrowed"] == 0 && s["spent"].as_u64().unwrap() > 0)
    });

    // B goes: A's entries wait (no credit is made meanwhile), and take effect when B is back.
    // C, which attests nothing, cannot stand in for it.
    b.kill();
    wait_until(WAIT, "A's mints to wait", || {
        at(&a)["awaiting"].as_u64().unwrap() >= 2
    });
    let held = balance(&a, &wa.id);
    std::thread::sleep(Duration::from_millis(1_500));
    assert_eq!(
        balance(&a, &wa.id),
        held,
        "nothing applied without a second signature"
    );
    // A restarts meanwhile: it asks for the same entries again (its store kept them).
    let waiting = at(&a)["awaiting"].as_u64().unwrap();
    let a = a.start_again();
    assert!(
        at(&a)["awaiting"].as_u64().unwrap() >= waiting,
        "{}",
        at(&a)
    );
    let b = b.start_again();
    wait_until(WAIT, "A's waiting mints applied", || {
        at(&a)["awaiting"] == 0 && balance(&a, &wa.id) > held
    });
    drop(wa);
    wait_until(WAIT, "no peers left", || {
        a.peer_count() + b.peer_count() + c.peer_count() == 0
    });
    wait_for_quiet_log(&[&a, &b, &c]);
    let wa_id = edgenet_e2e::node_stdout(&dir.path().join("wa").join("node.key"), &["id"]);
    for id in [&wa_id, &ids[0], &payer_id] {
        let seen = accounts(&[&a, &b, &c], id);
        assert!(
            seen.windows(2).all(|w| w[0] == w[1]),
            "{id} differs between relays: {seen:#?}"
        );
    }
}

#[test]
fn a_paid_task_outlives_its_relay_and_is_settled_once_where_it_resumed() {
    let dir = tempfile::tempdir().unwrap();
    let nats = NatsServer::cluster(&dir.path().join("nats"), 3);
    let (relays, _) = edgenet_e2e::relay_cluster(
        dir.path(),
        &nats,
        &[
            "--nats-directory-ttl-s",
            "3",
            "--uptime-period-ms",
            "300",
            "--uptime-bonus",
            "1000000",
            // Longer than the submitter needs to come back: the takeover must not refund it.
            "--escrow-grace-ms",
            "10000",
        ],
    );
    let [a, b, c]: [Relay; 3] = relays.try_into().ok().unwrap();
    let (payer_id, payer_key) = earn(dir.path(), "payer", &a);
    wait_until(WAIT, "the payer's credits at B", || {
        accounts(&[&a, &b], &payer_id)
            .windows(2)
            .all(|w| w[0]["balance"] == w[1]["balance"])
    });
    let before = accounts(&[&b], &payer_id).remove(0);

    // One worker in the cluster, on C: a task at A that needs two stays open.
    let wc1 = Worker::start(dir.path(), "wc1", &c.ws_url(), &[]);
    wait_until(WAIT, "A borrows C's worker", || {
        a.get("/api/cluster")["borrowed_workers"] == 1
    });
    let relays_arg = format!("{},{}", a.ws_url(), b.ws_url());
    let submitter = std::thread::spawn(move || {
        node(
            &payer_key,
            &[
                "submit",
                "--relay",
                &relays_arg,
                "--json",
                "--seed",
                "11",
                "--pay",
                "0.4",
                "--redundancy",
                "2",
                "--timeout-s",
                "60",
            ],
        )
    });
    wait_until(
        WAIT,
        "the task's record at B and its escrow everywhere",
        || {
            b.get("/api/cluster")["task_records"]["known"] == 1
                && accounts(&[&b, &c], &payer_id)
                    .iter()
                    .all(|s| s["escrowed"] == 400_000)
        },
    );

    // A dies with the task open. The submitter resumes it at B, which takes it over once A has
    // gone quiet, and a second worker comes.
    let mut a = a;
    a.kill();
    let killed = Instant::now();
    let wc2 = Worker::start(dir.path(), "wc2", &c.ws_url(), &[]);
    let out = submitter.join().unwrap();
    let report = verified_report(&out);
    eprintln!("verified at B {:?} after A was killed", killed.elapsed());
    let mut workers = report.workers.clone();
    workers.sort();
    let mut expected = vec![wc1.id.clone(), wc2.id.clone()];
    expected.sort();
    assert_eq!(workers, expected);
    let status = b.get("/api/cluster");
    assert_eq!(status["task_records"]["resumed"], 1, "{status}");
    assert_eq!(b.get("/api/tasks")[0]["status"], "verified");

    // A comes back and catches up. The escrow was settled once, by B: the payer spent what
    // the task cost and nothing came back twice, at every relay.
    let a = a.start_again();
    drop(wc1);
    drop(wc2);
    wait_until(WAIT, "no peers left", || {
        a.peer_count() + b.peer_count() + c.peer_count() == 0
    });
    // Past A's own grace after its restart: a refund it wrote would have shown by now.
    std::thread::sleep(Duration::from_secs(11));
    wait_for_quiet_log(&[&a, &b, &c]);
    for id in [&payer_id, &expected[0], &expected[1]] {
        let seen = accounts(&[&a, &b, &c], id);
        assert!(
            seen.windows(2).all(|w| w[0] == w[1]),
            "{id} differs between relays: {seen:#?}"
        );
    }
    let after = &accounts(&[&a], &payer_id)[0];
    assert_eq!(after["escrowed"], 0, "{after}");
    let spent = |s: &serde_json::Value| s["spent"].as_u64().unwrap();
    assert_eq!(spent(after) - spent(&before), 400_000, "{after}");
    for w in &expected {
        let earned = &accounts(&[&a], w)[0];
        assert!(earned["earned"].as_u64().unwrap() >= 200_000, "{earned}");
    }
}
