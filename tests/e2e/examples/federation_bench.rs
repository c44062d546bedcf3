//! `scripts/bench.sh federation`: a relay alone against the same relay as one of three on a
//! three-server NATS JetStream cluster, same machine, same traffic: paid tasks submitted to it
//! and run by its own worker, then by a worker on another relay of the cluster (cross-relay).
//! Prints submit→verdict latency (p50/p99), the relay's CPU per routed frame, and the
//! replication lag the other relays measured (from their `/metrics` histogram).
//! Run with the release binaries built (`cargo build --release -p edgenet-relay -p edgenet-node`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a benchmark: failing loudly is the point

use std::time::{Duration, Instant};

use edgenet_e2e::{NatsServer, Relay, Worker, relay_cluster, wait_until};
use edgenet_node::submit::{Job, SubmitOptions};

const TASKS: usize = 100;
const WAIT: Duration = Duration::from_secs(60);

struct Run {
    latencies_ms: Vec<f64>,
    cpu_ticks: u64,
    frames: u64,
    lag: Option<(f64, f64)>,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn frames(relay: &Relay) -> u64 {
    let stats = &relay.get("/api/status")["stats"];
    stats["frames_in"].as_u64().unwrap() + stats["frames_out"].as_u64().unwrap()
}

/// p50 and p99 of the replication-lag histogram in `/metrics`, as bucket upper bounds (ms).
fn lag_from_metrics(relay: &Relay) -> (f64, f64) {
    let (_, text) = relay.get_raw("/metrics");
    let mut buckets = Vec::new();
    for line in text.lines() {
        if let Some(rest) =
            line.strip_prefix("edgenet_cluster_replication_lag_seconds_bucket{le=\"")
        {
            let (le, count) = rest.split_once("\"} ").unwrap();
            let le: f64 = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().unwrap()
            };
            buckets.push((le * 1000.0, count.parse::<f64>().unwrap()));
        }
    }
    let total = buckets.last().map_or(0.0, |b| b.1);
    let at = |q: f64| {
        buckets
            .iter()
            .find(|(_, c)| *c >= q * total)
            .map_or(f64::NAN, |b| b.0)
    };
    (at(0.5), at(0.99))
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Alone,
    /// One of three relays; its worker is its own.
    Cluster,
    /// One of three relays; its only worker is on another relay.
    CrossRelay,
}

fn run(mode: Mode) -> Run {
    let cluster = mode != Mode::Alone;
    let dir = tempfile::tempdir().unwrap();
    let nats = if cluster {
        NatsServer::cluster(&dir.path().join("nats"), 3)
    } else {
        Vec::new()
    };
    // One payer submits every task: its chain sync would pass the per-identity message rate.
    let flags = [
        "--canary-reward",
        "100000000",
        "--max-messages-per-minute",
        "1000000",
    ];
    let relays: Vec<Relay> = if cluster {
        relay_cluster(dir.path(), &nats, &flags).0
    } else {
        vec![Relay::start(&dir.path().join("a"), 0, &flags)]
    };
    let a = &relays[0];
    if cluster {
        wait_until(WAIT, "the directory", || {
            relays
                .iter()
                .all(|r| r.get("/api/relays").as_array().unwrap().len() == 3)
        });
    }
    let payer = Worker::start(dir.path(), "payer", &a.ws_url(), &[]);
    wait_until(WAIT, "the payer's canary credits", || {
        a.get(&format!("/api/ledger/{}", payer.id))["balance"]
            .as_u64()
            .unwrap()
            >= 50_000_000
    });
    let key_file = payer.key_file.clone();
    payer.kill();
    let home = if mode == Mode::CrossRelay {
        &relays[1]
    } else {
        a
    };
    let _worker = Worker::start(dir.path(), "w", &home.ws_url(), &[]);
    wait_until(WAIT, "the worker", || home.peer_count() == 1);
    if mode == Mode::CrossRelay {
        wait_until(WAIT, "the worker, borrowed", || {
            a.peer_count() == 0 && a.get("/api/cluster")["borrowed_workers"] == 1
        });
    }
    std::thread::sleep(Duration::from_secs(2));
    let (key, _) = edgenet_keystore::load_or_create(&key_file).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (cpu0, frames0) = (a.cpu_ticks(), frames(a));
    let mut latencies_ms = Vec::with_capacity(TASKS);
    for seed in 0..TASKS {
        let options = SubmitOptions {
            relay: vec![a.ws_url()],
            job: Job::random_encryption(seed as u64, 1024),
            redundancy: 1,
            timeout: Duration::from_secs(20),
            pay: 10_000,
        };
        let start = Instant::now();
        runtime
            .block_on(edgenet_node::submit::submit(key.clone(), &options))
            .unwrap();
        latencies_ms.push(start.elapsed().as_secs_f64() * 1e3);
    }
    let (cpu_ticks, frames) = (a.cpu_ticks() - cpu0, frames(a) - frames0);
    latencies_ms.sort_by(f64::total_cmp);
    let lag = cluster.then(|| {
        std::thread::sleep(Duration::from_secs(1));
        lag_from_metrics(&relays[1])
    });
    Run {
        latencies_ms,
        cpu_ticks,
        frames,
        lag,
    }
}

fn main() {
    let off = run(Mode::Alone);
    let on = run(Mode::Cluster);
    let cross = run(Mode::CrossRelay);
    let cpu_per_frame = |r: &Run| r.cpu_ticks as f64 * 10_000.0 / r.frames.max(1) as f64;
    println!(
        "| relay | submit→verdict p50 | p99 | relay CPU per routed frame | replication lag p50 / p99 |"
    );
    println!("|---|---|---|---|---|");
    for (name, r) in [
        ("alone", &off),
        ("one of 3, NATS cluster R3", &on),
        ("one of 3, its worker on another relay", &cross),
    ] {
        let lag = r.lag.map_or("—".to_owned(), |(p50, p99)| {
            format!("≤ {p50} ms / ≤ {p99} ms")
        });
        println!(
            "| {name} | {:.1} ms | {:.1} ms | {:.1} µs | {lag} |",
            percentile(&r.latencies_ms, 0.5),
            percentile(&r.latencies_ms, 0.99),
            cpu_per_frame(r),
        );
    }
    println!(
        "\nratios (cluster / alone, {TASKS} paid tasks each): p50 {:.2}×, p99 {:.2}×, CPU per frame {:.2}×",
        percentile(&on.latencies_ms, 0.5) / percentile(&off.latencies_ms, 0.5),
        percentile(&on.latencies_ms, 0.99) / percentile(&off.latencies_ms, 0.99),
        cpu_per_frame(&on) / cpu_per_frame(&off),
    );
    println!(
        "ratios (cross-relay / same-relay, both in the cluster): p50 {:.2}×, p99 {:.2}×",
        percentile(&cross.latencies_ms, 0.5) / percentile(&on.latencies_ms, 0.5),
        percentile(&cross.latencies_ms, 0.99) / percentile(&on.latencies_ms, 0.99),
    );
}
