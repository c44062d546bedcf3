//! The network half of `scripts/bench.sh index`: a collection on real processes (a release relay
//! and release holders on 127.0.0.1) against one in-process index on the same data, same M,
//! ef_construction and ef. Insert rate through the network against the in-process build; search
//! latency (one query per search: p50, p99) and queries per second, one query at a time and in
//! one batch. Prints one JSON line per configuration.
//!
//! `cargo run --release -p edgenet-e2e --example collection_bench -- [N]` (default 50,000 rows
//! of dimension 384; `bin()` builds the release binaries first).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a benchmark: failing loudly is the point

use std::path::Path;
use std::time::{Duration, Instant};

use edgenet_core::collection::{CollectionSpec, DEFAULT_EF};
use edgenet_core::kinds::vector_search::SearchMetric;
use edgenet_e2e::{Relay, Worker, wait_until};
use edgenet_kernels::hnsw::{Hnsw, HnswParams};
use edgenet_kernels::{Metric, sample, simd};
use edgenet_node::collection::{Client, info};

const DIM: usize = 384;
const K: usize = 10;
/// Queries timed one at a time (each a whole network search: every shard, every replica).
const NQ: usize = 200;

fn unit_rows(mut v: Vec<f32>) -> Vec<f32> {
    for row in v.chunks_exact_mut(DIM) {
        let norm = row.iter().map(|x| x * x).sum::<f32>().sqrt();
        row.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

struct Timed {
    per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    recall: f64,
}

/// Latencies of answering each query alone, and the recall of what came back.
fn timed(mut latencies_ms: Vec<f64>, found: &[Vec<u64>], truth: &[Vec<u64>]) -> Timed {
    let total: f64 = latencies_ms.iter().sum();
    latencies_ms.sort_by(f64::total_cmp);
    let hit: usize = found
        .iter()
        .zip(truth)
        .map(|(f, t)| f.iter().filter(|id| t.contains(id)).count())
        .sum();
    Timed {
        per_s: latencies_ms.len() as f64 / (total / 1000.0),
        p50_ms: percentile(&latencies_ms, 0.5),
        p99_ms: percentile(&latencies_ms, 0.99),
        recall: hit as f64 / (truth.len() * K) as f64,
    }
}

fn json(name: &str, build_per_s: f64, one: &Timed, batch_per_s: f64, extra: &str) -> String {
    format!(
        r#"{{"path":"{name}","insert_per_s":{build_per_s:.1},"qps_one":{:.1},"p50_ms":{:.3},"p99_ms":{:.3},"recall":{:.4},"qps_batch":{batch_per_s:.1}{extra}}}"#,
        one.per_s, one.p50_ms, one.p99_ms, one.recall
    )
}

fn in_process(data: &[f32], queries: &[f32], truth: &[Vec<u64>]) -> String {
    let params = HnswParams {
        dim: DIM,
        metric: Metric::Cosine,
        m: 16,
        ef_construction: 200,
        ..HnswParams::default()
    };
    let mut index = Hnsw::new(params).unwrap();
    let t = Instant::now();
    for (i, v) in data.chunks_exact(DIM).enumerate() {
        index.insert(i as u64, v).unwrap();
    }
    let build_per_s = (data.len() / DIM) as f64 / t.elapsed().as_secs_f64();
    let ef = usize::from(DEFAULT_EF);
    let mut latencies = Vec::new();
    let mut found = Vec::new();
    for q in queries.chunks_exact(DIM) {
        let t = Instant::now();
        let hits = index.search(q, K, ef).unwrap();
        latencies.push(t.elapsed().as_secs_f64() * 1000.0);
        found.push(hits.iter().map(|h| h.id).collect());
    }
    let one = timed(latencies, &found, truth);
    json("in-process", build_per_s, &one, one.per_s, "")
}

fn network(
    dir: &Path,
    holders: usize,
    shards: u16,
    replicas: u8,
    data: &[f32],
    queries: &[f32],
    truth: &[Vec<u64>],
) -> String {
    // Collections free of charge: this measures the index, not the prices.
    let relay = Relay::start(&dir.join("relay"), 0, &["--free-collections"]);
    let workers: Vec<Worker> = (0..holders)
        .map(|i| {
            let data = dir.join(format!("h{i}")).join("data");
            Worker::start(
                dir,
                &format!("h{i}"),
                &relay.ws_url(),
                &[
                    "--storage",
                    "40000000000",
                    "--data-dir",
                    data.to_str().unwrap(),
                ],
            )
        })
        .collect();
    wait_until(Duration::from_secs(60), "the holders", || {
        relay.storage_peer_count() == holders
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let url = relay.ws_url();
    let key = edgenet_keystore::load_or_create(&dir.join("owner.key"))
        .unwrap()
        .0;
    let spec = CollectionSpec::new(
        &key.node_id(),
        "bench",
        DIM as u32,
        SearchMetric::Cosine,
        shards,
        replicas,
    );
    let n = data.len() / DIM;
    let ids: Vec<u64> = (0..n as u64).collect();
    let line = rt.block_on(async {
        let mut c = Client::connect(&url, key).await.unwrap();
        let id = c.create(&spec, false).await.unwrap();
        let info = info(&url, &id).await.unwrap();
        let t = Instant::now();
        let inserted = c.insert(&info, &ids, data, false).await.unwrap();
        let insert_per_s = inserted.inserted as f64 / t.elapsed().as_secs_f64();
        let mut latencies = Vec::new();
        let mut found = Vec::new();
        for q in queries.chunks_exact(DIM) {
            let t = Instant::now();
            let r = c.search(&info, q, K as u32, 0, false).await.unwrap();
            latencies.push(t.elapsed().as_secs_f64() * 1000.0);
            found.push(r.hits[0].iter().map(|h| h.0).collect());
        }
        let one = timed(latencies, &found, truth);
        let t = Instant::now();
        let batch = c.search(&info, queries, K as u32, 0, false).await.unwrap();
        let batch_per_s = (queries.len() / DIM) as f64 / t.elapsed().as_secs_f64();
        assert_eq!(batch.hits.len(), queries.len() / DIM);
        c.close().await;
        json(
            &format!("network S={shards} R={replicas} on {holders} holders"),
            insert_per_s,
            &one,
            batch_per_s,
            &format!(
                r#","batches":{},"retries":{}"#,
                inserted.batches, inserted.retries
            ),
        )
    });
    drop(workers);
    line
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map_or(50_000, |s| s.parse().unwrap());
    // Queries from the same distribution as the data, held out of it (as the index benchmark).
    let mut data = unit_rows(sample::clustered(n + NQ, DIM, 0xbe9c));
    let queries = data.split_off(n * DIM);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let truth: Vec<Vec<u64>> = simd::knn(Metric::Dot, &queries, &data, DIM, K, threads)
        .unwrap()
        .iter()
        .map(|row| row.iter().map(|h| u64::from(h.index)).collect())
        .collect();
    println!("{}", in_process(&data, &queries, &truth));
    for (holders, shards, replicas) in [(4, 4, 1), (5, 4, 3)] {
        let dir = tempfile::tempdir().unwrap();
        println!(
            "{}",
            network(
                dir.path(),
                holders,
                shards,
                replicas,
                &data,
                &queries,
                &truth
            )
        );
    }
}
