//! Clients that misuse the socket itself, against the real relay binary: its memory stays under a
//! cap measured from the process, and an honest task completes while the attack runs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use edgenet_e2e::{Relay, Worker, submit, wait_until};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

/// Growth of the relay's resident memory the flood may cause at most (measured here: about 11 MiB
/// with the write limit, 100 MiB and growing with every ping without it).
const MEMORY_CAP_KIB: u64 = 40 * 1024;

/// The most a TCP send buffer grows to on this machine (Linux's `tcp_wmem`), 4 MiB if unknown.
fn tcp_wmem_max() -> usize {
    std::fs::read_to_string("/proc/sys/net/ipv4/tcp_wmem")
        .ok()
        .and_then(|s| s.split_whitespace().nth(2)?.parse().ok())
        .unwrap_or(4 << 20)
}

/// Three native workers on `relay`, all joined.
fn three_workers(dir: &std::path::Path, relay: &Relay) -> Vec<Worker> {
    let workers = (0..3)
        .map(|i| Worker::start(dir, &format!("w{i}"), &relay.ws_url(), &[]))
        .collect();
    wait_until(Duration::from_secs(20), "3 workers", || {
        relay.peer_count() >= 3
    });
    workers
}

/// An honest `edgenet-node submit` (redundancy 3) running while a test attacks the relay.
fn honest_submission(
    dir: &std::path::Path,
    relay: &Relay,
    seed: &'static str,
) -> std::thread::JoinHandle<edgenet_node::submit::Report> {
    let (url, dir) = (relay.ws_url(), dir.to_owned());
    std::thread::spawn(move || submit(&dir, &url, &["--seed", seed]))
}

#[test]
fn a_ping_flood_from_clients_that_never_read_keeps_memory_bounded_and_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Arc::new(Relay::start(
        &dir.path().join("relay"),
        0,
        &["--handshake-timeout-ms", "3000"],
    ));
    let _workers = three_workers(dir.path(), &relay);
    let baseline = relay.rss_kib();

    // Memory is sampled while the flood runs; the peak is what counts.
    let flooding = Arc::new(AtomicBool::new(true));
    let peak = Arc::new(AtomicU64::new(baseline));
    let sampler = {
        let (relay, flooding, peak) = (relay.clone(), flooding.clone(), peak.clone());
        std::thread::spawn(move || {
            while flooding.load(Ordering::Relaxed) {
                peak.fetch_max(relay.rss_kib(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    // An honest submission while the flood runs.
    let honest = honest_submission(dir.path(), &relay, "7");

    let rt = tokio::runtime::Runtime::new().unwrap();
    let url = relay.ws_url();
    let (sent, closed_within) = rt.block_on(async move {
        // Four connections that never say hello and never read: pings as fast as the relay takes
        // them, for four seconds (or two million each).
        let mut floods = Vec::new();
        for _ in 0..4 {
            let url = url.clone();
            floods.push(tokio::spawn(async move {
                let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
                let opened = Instant::now();
                let (mut sink, stream) = ws.split();
                let mut sent = 0u64;
                let start = Instant::now();
                while start.elapsed() < Duration::from_secs(4) && sent < 2_000_000 {
                    let ping = Message::Ping(vec![0u8; 125].into());
                    match tokio::time::timeout(Duration::from_secs(1), sink.send(ping)).await {
                        Ok(Ok(())) => sent += 1,
                        _ => break,
                    }
                }
                (sent, opened, sink, stream)
            }));
        }
        let mut total = 0;
        let mut closed_within = Duration::ZERO;
        for flood in floods {
            let (sent, opened, _sink, mut stream) = flood.await.unwrap();
            total += sent;
            // Now read: past its handshake timeout the relay closes the connection (it keeps only
            // the newest pong for a reader that does not read, so little is queued before that).
            let end = tokio::time::timeout(Duration::from_secs(30), async {
                while let Some(Ok(m)) = stream.next().await {
                    if matches!(m, Message::Close(_)) {
                        break;
                    }
                }
            })
            .await;
            assert!(end.is_ok(), "the relay never closed a flooding connection");
            closed_within = closed_within.max(opened.elapsed());
        }
        (total, closed_within)
    });
    flooding.store(false, Ordering::Relaxed);
    sampler.join().unwrap();

    let report = honest.join().unwrap();
    assert!(
        report.matches_local == Some(true),
        "the honest task completed during the flood"
    );
    assert!(sent > 10_000, "the flood was real: {sent} pings");
    let grown = peak.load(Ordering::Relaxed).saturating_sub(baseline);
    eprintln!("relay memory grew {grown} KiB under {sent} pings");
    assert!(
        grown < MEMORY_CAP_KIB,
        "relay memory grew {grown} KiB under {sent} pings (cap {MEMORY_CAP_KIB} KiB)"
    );
    // Handshake timeout (3 s) plus the write timeout (10 s) at most.
    assert!(
        closed_within < Duration::from_secs(20),
        "closed after {closed_within:?}"
    );
    let status = relay.get("/api/status");
    assert_eq!(status["stats"]["connections"].as_u64(), Some(3), "{status}");
}

#[test]
fn slow_and_silent_http_clients_are_cut_off_at_the_header_timeout() {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(
        &dir.path().join("relay"),
        0,
        &["--http-header-timeout-ms", "1500"],
    );
    let _workers = three_workers(dir.path(), &relay);
    let honest = honest_submission(dir.path(), &relay, "8");

    // 150 sockets that never send a byte, and 150 that send a request line one byte every 300 ms
    // and never finish their headers.
    let silent: Vec<TcpStream> = (0..150)
        .map(|_| TcpStream::connect(&relay.addr).unwrap())
        .collect();
    let mut slow: Vec<TcpStream> = (0..150)
        .map(|_| TcpStream::connect(&relay.addr).unwrap())
        .collect();
    let request = b"GET /api/status HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    let start = Instant::now();
    let mut i = 0;
    while start.elapsed() < Duration::from_millis(4_000) {
        for s in &mut slow {
            let _ = s.write_all(&[request[i.min(request.len() - 1)]]);
        }
        i += 1;
        std::thread::sleep(Duration::from_millis(300));
    }

    // By now (more than twice the header timeout) the relay has closed every one of them.
    let still_open = silent
        .iter()
        .chain(&slow)
        .filter(|s| {
            s.set_read_timeout(Some(Duration::from_millis(200)))
                .unwrap();
            let mut buf = [0u8; 1024];
            let mut s = *s;
            loop {
                match s.read(&mut buf) {
                    Ok(0) => return false, // closed (after a 408, if any)
                    Ok(_) => continue,
                    Err(e) => {
                        return matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        );
                    }
                }
            }
        })
        .count();
    assert_eq!(
        still_open, 0,
        "{still_open} of 300 slow or silent sockets still open"
    );
    // Honest clients were served all along.
    assert!(honest.join().unwrap().matches_local == Some(true));
    assert_eq!(relay.get("/api/status")["service"], "edgenet-relay");
}

#[test]
fn a_worker_that_stops_reading_is_dropped_at_its_byte_budget_not_its_frame_count() {
    use edgenet_core::SecretKey;
    use edgenet_core::ledger::sync::SyncMessage;
    use edgenet_core::task::{TaskId, TaskKind};
    use edgenet_e2e::RawClient;
    use edgenet_proto::message::{ClientMsg, RelayMsg, TaskSpec};
    let dir = tempfile::tempdir().unwrap();
    // Default limits: 1,024 frames, 4 MiB per connection.
    let relay = Relay::start(&dir.path().join("relay"), 0, &[]);
    let url = relay.ws_url();
    let baseline = relay.rss_kib();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (sent, peak) = rt.block_on(async {
        let slow_key = SecretKey::from_seed(&[60; 32]);
        let slow_id = slow_key.node_id();
        let mut slow = RawClient::open(&url, &slow_key).await;
        let mut submitter = RawClient::open(&url, &SecretKey::from_seed(&[61; 32])).await;
        let task = TaskId([6; 16]);
        let spec = TaskSpec {
            id: task,
            kind: TaskKind::VECTOR_SEARCH,
            redundancy: 1,
            max_credits: 0,
            priority: 0,
            timeout_ms: 60_000,
        };
        submitter.send(&ClientMsg::Submit(spec)).await.unwrap();
        slow.claim_when_offered(task).await;
        // The worker now never reads; the submitter sends it 512 KiB payloads.
        let payload = ClientMsg::Payload {
            task,
            worker: *slow_id.as_bytes(),
            envelope: vec![0xcd; 512 * 1024],
        };
        let mut peak = baseline;
        for sent in 1..=400u32 {
            submitter.send(&payload).await.unwrap();
            peak = peak.max(relay.rss_kib());
            // A barrier: the relay answers an empty `Wants` with a `LedgerAck` after it has
            // handled every frame before it, so an error for this payload, if any, is already
            // on its way. Counting without it (a short wait per payload) overcounts on a busy
            // machine, where the relay falls behind the sender.
            let barrier = ClientMsg::Ledger(SyncMessage::Wants(Vec::new()));
            submitter.send(&barrier).await.unwrap();
            let refused = tokio::time::timeout(Duration::from_secs(30), async {
                loop {
                    match submitter.next().await.unwrap() {
                        RelayMsg::Error { code, .. } => return Some(code),
                        RelayMsg::LedgerAck { .. } => return None,
                        _ => {}
                    }
                }
            })
            .await
            .expect("the relay answers the barrier");
            if let Some(code) = refused {
                // Payloads for a worker the relay dropped are refused: not assigned any more.
                assert_eq!(code, "EN-209");
                drop(slow);
                return (sent, peak);
            }
        }
        panic!("the relay never dropped the worker");
    });
    // 4 MiB of 512 KiB frames, plus what the sockets' buffers took (the relay's send buffer
    // grows to `tcp_wmem`'s maximum; the worker's receive buffer stays small, as it never reads),
    // and the payload that found the worker gone. Far below the 1,024 frames the frame bound
    // allows.
    let socket_frames = tcp_wmem_max() / (512 * 1024) + 4;
    assert!(
        sent as usize <= 8 + socket_frames + 1,
        "dropped only after {sent} payloads"
    );
    let grown = peak.saturating_sub(baseline);
    eprintln!("dropped after {sent} payloads; relay memory grew {grown} KiB");
    assert!(grown < MEMORY_CAP_KIB, "relay memory grew {grown} KiB");
    // The relay serves on.
    assert_eq!(relay.get("/api/status")["service"], "edgenet-relay");
}

#[test]
fn forged_ledger_entries_are_refused_in_their_senders_tasks_while_an_honest_task_completes() {
    use edgenet_core::SecretKey;
    use edgenet_core::ledger::sync::SyncMessage;
    use edgenet_core::ledger::{Account, Entry, EntryBody, EntryHash, EntryKind};
    use edgenet_e2e::RawClient;
    use edgenet_proto::message::{ClientMsg, RelayMsg};

    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(&dir.path().join("relay"), 0, &[]);
    let _workers = three_workers(dir.path(), &relay);
    let honest = honest_submission(dir.path(), &relay, "9");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let url = relay.ws_url();
    // Eight identities, each sending five messages of 1,024 entries with forged signatures (the
    // most a minute's rate window lets one identity send): 40,960 signature checks, each batch
    // failing and so checked entry by entry, in the senders' own connection tasks.
    let refused: Vec<(u32, Option<String>)> = rt.block_on(async move {
        let mut floods = Vec::new();
        for seed in 0..8u8 {
            let url = url.clone();
            floods.push(tokio::spawn(async move {
                let key = SecretKey::from_seed(&[200 + seed; 32]);
                let author = Account::of(&key.node_id());
                let forged: Vec<Entry> = (0..1024u64)
                    .map(|seq| Entry {
                        body: EntryBody {
                            author,
                            seq,
                            prev: if seq == 0 {
                                EntryHash::GENESIS
                            } else {
                                EntryHash([1; 32])
                            },
                            clock: seq + 1,
                            kind: EntryKind::Stake { amount: 1 },
                        },
                        signature: vec![7; 64],
                        attestations: Vec::new(),
                    })
                    .collect();
                let mut client = RawClient::open(&url, &key).await;
                let mut acks = Vec::new();
                for _ in 0..5 {
                    let msg = ClientMsg::Ledger(SyncMessage::Entries(forged.clone()));
                    client.send(&msg).await.unwrap();
                    loop {
                        match client.next().await {
                            Ok(RelayMsg::LedgerAck { rejected, code, .. }) => {
                                acks.push((rejected, code));
                                break;
                            }
                            Ok(_) => {}
                            Err(e) => panic!("the relay closed a flooding connection: {e}"),
                        }
                    }
                }
                acks
            }));
        }
        let mut all = Vec::new();
        for flood in floods {
            all.extend(flood.await.unwrap());
        }
        all
    });
    assert_eq!(refused.len(), 40);
    for (rejected, code) in &refused {
        assert_eq!(*rejected, 1024);
        assert_eq!(code.as_deref(), Some("EN-172"), "a forged signature");
    }
    let report = honest.join().unwrap();
    assert!(
        report.matches_local == Some(true),
        "the honest task did not complete"
    );
    // Nothing forged was stored: the flooders' accounts hold no chain.
    let flooder = SecretKey::from_seed(&[200; 32]).node_id();
    assert_eq!(relay.get(&format!("/api/ledger/{flooder}"))["chain_len"], 0);
}
