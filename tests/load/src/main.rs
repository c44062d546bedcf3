//! `edgenet-load`: closed-loop ping-pong through the relay or through nats-server, same shape.
//!
//! Clients come in pairs (A, B). Through the relay, A submits a task that only B claims and B one
//! that only A claims, so each can send the other `Payload` frames, which the relay decodes,
//! checks (is the sender the submitter, is the receiver assigned?) and forwards. Through NATS, A
//! and B publish to each other's subject. Each pair keeps `window` frames in flight: a frame
//! received is answered with a frame back. Every frame carries its send time; the receiver records
//! the one-way latency. Printed: one JSON line with delivered frames/s, p50/p99 latency and, for
//! the relay, its memory per connection (from /proc/<pid>/status).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a measuring tool: fail loudly

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use edgenet_core::SecretKey;
use edgenet_core::task::{TaskId, TaskKind};
use edgenet_proto::client::ClientSession;
use edgenet_proto::message::{Capabilities, ClientMsg, RelayMsg, Role, TaskSpec};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

#[derive(Clone, Copy, ValueEnum)]
enum Target {
    Relay,
    Nats,
}

#[derive(Parser)]
struct Args {
    #[arg(value_enum)]
    target: Target,
    /// ws://host:port/ws for the relay, host:port for NATS.
    #[arg(long)]
    url: String,
    /// Clients (an even number; half send to the other half and back).
    #[arg(long, default_value_t = 100)]
    clients: usize,
    /// Seconds of measurement (after setup).
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Payload bytes per frame.
    #[arg(long, default_value_t = 256)]
    payload: usize,
    /// Frames in flight per pair.
    #[arg(long, default_value_t = 8)]
    window: usize,
    /// The relay's pid, to read its memory.
    #[arg(long)]
    pid: Option<u32>,
}

/// The traffic one client generates.
#[derive(Clone, Copy)]
struct Flow {
    /// Bytes per frame.
    payload: usize,
    /// Frames in flight per pair.
    window: usize,
    /// Whether this client sends the first window.
    starts: bool,
    /// Its pair's index.
    pair: usize,
}

/// Whose turn it is to wire, and how many clients are wired.
struct Wiring {
    turn: tokio::sync::watch::Sender<usize>,
    wired: AtomicUsize,
}

struct Shared {
    start: Instant,
    measuring: AtomicBool,
    delivered: AtomicU64,
    latencies_us: Mutex<Vec<u32>>,
}

impl Shared {
    fn stamp(&self, payload: usize) -> Vec<u8> {
        let mut frame = vec![0u8; payload.max(8)];
        let nanos = u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        frame[..8].copy_from_slice(&nanos.to_le_bytes());
        frame
    }

    fn received(&self, frame: &[u8]) {
        if !self.measuring.load(Ordering::Relaxed) || frame.len() < 8 {
            return;
        }
        let sent = u64::from_le_bytes(frame[..8].try_into().unwrap());
        let now = u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.delivered.fetch_add(1, Ordering::Relaxed);
        let us = u32::try_from(now.saturating_sub(sent) / 1000).unwrap_or(u32::MAX);
        self.latencies_us.lock().unwrap().push(us);
    }
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn flush(ws: &mut Ws, s: &mut ClientSession) {
    let mut any = false;
    while let Some(f) = s.poll_outgoing() {
        ws.feed(Message::Binary(f.into())).await.unwrap();
        any = true;
    }
    if any {
        ws.flush().await.unwrap();
    }
}

/// Reads frames into the session until it has an event.
async fn event(ws: &mut Ws, s: &mut ClientSession) -> RelayMsg {
    loop {
        if let Some(e) = s.poll_event() {
            return e;
        }
        match ws.next().await {
            Some(Ok(Message::Binary(b))) => s.handle_frame(&b).unwrap(),
            Some(Ok(_)) => {}
            other => panic!("relay connection ended during the run: {other:?}"),
        }
        flush(ws, s).await;
    }
}

/// One relay client of a pair: `me` submits a task for `peer` and claims `peer`'s task.
async fn relay_client(
    url: String,
    me: SecretKey,
    peer: [u8; 32],
    shared: Arc<Shared>,
    ready: Arc<tokio::sync::Barrier>,
    wiring: Arc<Wiring>,
    flow: Flow,
) {
    let Flow {
        payload,
        window,
        starts,
        pair,
    } = flow;
    // Pairs connect and wire one at a time: the relay offers a task to the least loaded peers
    // first, and while pair p is being wired its two clients are the only ones without work.
    let mut turn = wiring.turn.subscribe();
    turn.wait_for(|t| *t == pair).await.unwrap();
    let caps = Capabilities {
        cores: 1,
        memory_mib: 1,
        gpu: None,
        kernels: vec![TaskKind::VECTOR_SEARCH],
        backends: vec![],
    };
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(&url, None, true)
        .await
        .unwrap();
    let mut s = ClientSession::new(me.clone(), Role::Native, caps, None);
    while s.state() != edgenet_proto::client::ClientState::Ready {
        match ws.next().await {
            Some(Ok(Message::Binary(b))) => s.handle_frame(&b).unwrap(),
            other => panic!("handshake: {other:?}"),
        }
        flush(&mut ws, &mut s).await;
    }
    let _welcome = s.poll_event();
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&me.node_id().as_bytes()[..8]);
    let task = TaskId(id);
    s.send(&ClientMsg::Submit(TaskSpec {
        id: task,
        kind: TaskKind::VECTOR_SEARCH,
        redundancy: 1,
        max_credits: 0,
        priority: 0,
        timeout_ms: 600_000,
    }))
    .unwrap();
    flush(&mut ws, &mut s).await;
    let (mut assigned, mut assignment) = (false, false);
    while !(assigned && assignment) {
        match event(&mut ws, &mut s).await {
            RelayMsg::Offer {
                task: t, submitter, ..
            } if submitter == peer => s.send(&ClientMsg::Claim { task: t }).unwrap(),
            RelayMsg::Assigned { task: t, .. } if t == task => assigned = true,
            RelayMsg::Assignment { .. } => assignment = true,
            _ => {}
        }
        flush(&mut ws, &mut s).await;
    }
    if wiring.wired.fetch_add(1, Ordering::SeqCst) + 1 == 2 * (pair + 1) {
        wiring.turn.send_modify(|t| *t += 1);
    }
    ready.wait().await; // every pair is wired...
    ready.wait().await; // ...and the measurement may start
    let send = |s: &mut ClientSession, shared: &Shared| {
        s.send(&ClientMsg::Payload {
            task,
            worker: peer,
            envelope: shared.stamp(payload),
        })
        .unwrap()
    };
    if starts {
        for _ in 0..window {
            send(&mut s, &shared);
        }
        flush(&mut ws, &mut s).await;
    }
    loop {
        let mut msg = event(&mut ws, &mut s).await;
        loop {
            match msg {
                RelayMsg::Payload { envelope, .. } => {
                    shared.received(&envelope);
                    send(&mut s, &shared);
                }
                RelayMsg::Error { code, message } => panic!("relay error {code}: {message}"),
                _ => {}
            }
            // Answer everything that has already arrived, then flush once (as the NATS client does).
            match futures_util::FutureExt::now_or_never(ws.next()) {
                Some(Some(Ok(Message::Binary(b)))) => s.handle_frame(&b).unwrap(),
                Some(Some(Ok(_))) => {}
                Some(other) => panic!("relay connection ended during the run: {other:?}"),
                None => {}
            }
            match s.poll_event() {
                Some(next) => msg = next,
                None => break,
            }
        }
        flush(&mut ws, &mut s).await;
    }
}

async fn nats_client(
    client: async_nats::Client,
    me: String,
    peer: String,
    shared: Arc<Shared>,
    ready: Arc<tokio::sync::Barrier>,
    flow: Flow,
) {
    let Flow {
        payload,
        window,
        starts,
        ..
    } = flow;
    let mut sub = client.subscribe(me).await.unwrap();
    client.flush().await.unwrap();
    ready.wait().await;
    ready.wait().await;
    if starts {
        for _ in 0..window {
            client
                .publish(peer.clone(), shared.stamp(payload).into())
                .await
                .unwrap();
        }
    }
    while let Some(msg) = sub.next().await {
        shared.received(&msg.payload);
        client
            .publish(peer.clone(), shared.stamp(payload).into())
            .await
            .unwrap();
    }
}

#[tokio::main]
async fn main() {
    // One failed client would leave the others waiting at a barrier: end the run instead.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("edgenet-load: {info}");
        std::process::exit(1);
    }));
    let args = Args::parse();
    let pairs = args.clients / 2;
    let run = TaskId::random(&mut edgenet_core::rng::os_rng()).0;
    let shared = Arc::new(Shared {
        start: Instant::now(),
        measuring: AtomicBool::new(false),
        delivered: AtomicU64::new(0),
        latencies_us: Mutex::new(Vec::new()),
    });
    let ready = Arc::new(tokio::sync::Barrier::new(pairs * 2 + 1));
    let wiring = Arc::new(Wiring {
        turn: tokio::sync::watch::Sender::new(0),
        wired: AtomicUsize::new(0),
    });
    let rss_before = args.pid.map(rss_kib);
    let mut nats = Vec::new();
    for p in 0..pairs {
        for side in 0..2u8 {
            let shared = shared.clone();
            let ready = ready.clone();
            let flow = Flow {
                payload: args.payload,
                window: args.window,
                starts: side == 0,
                pair: p,
            };
            match args.target {
                Target::Relay => {
                    let me = SecretKey::from_seed(&seed(&run, p, side));
                    let peer = *SecretKey::from_seed(&seed(&run, p, 1 - side))
                        .node_id()
                        .as_bytes();
                    tokio::spawn(relay_client(
                        args.url.clone(),
                        me,
                        peer,
                        shared,
                        ready,
                        wiring.clone(),
                        flow,
                    ));
                }
                Target::Nats => {
                    // One NATS connection per client, like one WebSocket per relay client.
                    let client = async_nats::connect(&args.url).await.unwrap();
                    nats.push(client.clone());
                    tokio::spawn(nats_client(
                        client,
                        format!("bench.{p}.{side}"),
                        format!("bench.{p}.{}", 1 - side),
                        shared,
                        ready,
                        flow,
                    ));
                }
            }
        }
    }
    let setup = Instant::now();
    ready.wait().await;
    ready.wait().await;
    let setup_s = setup.elapsed().as_secs_f64();
    let rss_after = args.pid.map(rss_kib);
    tokio::time::sleep(Duration::from_millis(500)).await; // warm-up
    shared.measuring.store(true, Ordering::Relaxed);
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    shared.measuring.store(false, Ordering::Relaxed);
    let elapsed = t0.elapsed().as_secs_f64();
    let delivered = shared.delivered.load(Ordering::Relaxed);
    let mut lat = shared.latencies_us.lock().unwrap().clone();
    lat.sort_unstable();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    let per_conn = match (rss_before, rss_after) {
        (Some(b), Some(a)) => serde_json::json!((a.saturating_sub(b)) as f64 / args.clients as f64),
        _ => serde_json::Value::Null,
    };
    let target = match args.target {
        Target::Relay => "relay",
        Target::Nats => "nats",
    };
    println!(
        "{}",
        serde_json::json!({
            "target": target, "clients": args.clients, "payload": args.payload, "window": args.window,
            "frames_per_s": delivered as f64 / elapsed, "p50_us": pct(0.50), "p99_us": pct(0.99),
            "setup_s": setup_s, "rss_kib_per_connection": per_conn,
        })
    );
    std::process::exit(0);
}

/// A client's key seed: fresh per run (`run`), so runs against one relay never reuse identities
/// or task ids.
fn seed(run: &[u8; 16], pair: usize, side: u8) -> [u8; 32] {
    let mut s = [0u8; 32];
    s[..8].copy_from_slice(&(pair as u64).to_le_bytes());
    s[8] = side;
    s[16..].copy_from_slice(run);
    s
}
