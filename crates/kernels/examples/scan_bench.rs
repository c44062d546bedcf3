//! The kernels benchmark behind `scripts/bench.sh kernels`: our SIMD scan beside two anchors
//! measured in the same run on the same data, the machine's memory read bandwidth and faiss
//! (timed by `scripts/bench_faiss.py` on the files this writes).
//!
//! `cargo run --release -p edgenet-kernels --example scan_bench -- OUT_DIR`
//! Writes OUT_DIR/{database,queries}.f32 (little-endian rows) and prints one JSON line.

use std::hint::black_box;
use std::time::Instant;

use edgenet_kernels::{Metric, reference, simd};

const N: usize = 100_000;
const DIM: usize = 384;
const K: usize = 10;
const NQ_BATCH: usize = 64;

/// Best of `runs` timings of `f`, in seconds.
fn best<T>(runs: usize, mut f: impl FnMut() -> T) -> f64 {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            black_box(f());
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

/// STREAM-style read: sums a large buffer on `threads` threads; returns GB/s.
fn read_bandwidth(threads: usize) -> f64 {
    let buf = vec![1.0f32; 256 << 20]; // 1 GiB
    let chunk = buf.len().div_ceil(threads);
    let secs = best(5, || {
        std::thread::scope(|s| {
            let parts: Vec<_> = buf
                .chunks(chunk)
                .map(|part| {
                    s.spawn(move || {
                        let mut acc = [0f32; 16];
                        for c in part.chunks_exact(16) {
                            for l in 0..16 {
                                acc[l] += c[l];
                            }
                        }
                        acc.iter().sum::<f32>()
                    })
                })
                .collect();
            parts
                .into_iter()
                .map(|p| p.join().unwrap_or(0.0))
                .sum::<f32>()
        })
    });
    (buf.len() * 4) as f64 / secs / 1e9
}

fn write_f32(path: &std::path::Path, data: &[f32]) -> std::io::Result<()> {
    let bytes: Vec<u8> = data.iter().flat_map(|x| x.to_le_bytes()).collect();
    std::fs::write(path, bytes)
}

fn main() -> std::io::Result<()> {
    let out = std::path::PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "target/bench-data".into()),
    );
    std::fs::create_dir_all(&out)?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let database = edgenet_kernels::sample::uniform(N * DIM, 7);
    let queries = edgenet_kernels::sample::uniform(NQ_BATCH * DIM, 11);
    write_f32(&out.join("database.f32"), &database)?;
    write_f32(&out.join("queries.f32"), &queries)?;

    let bandwidth = read_bandwidth(threads);
    let db_bytes = (N * DIM * 4) as f64;
    let q1 = &queries[..DIM];
    let scan1 = best(10, || {
        simd::knn(Metric::Dot, q1, &database, DIM, K, threads)
    });
    let scan1_one_thread = best(10, || simd::knn(Metric::Dot, q1, &database, DIM, K, 1));
    let scan64 = best(3, || {
        simd::knn(Metric::Dot, &queries, &database, DIM, K, threads)
    });
    let reference1 = best(3, || reference::knn(Metric::Dot, q1, &database, DIM, K));
    println!(
        "{}",
        serde_json::json!({
            "n": N, "dim": DIM, "k": K, "threads": threads, "backend": simd::backend(),
            "read_bandwidth_gbs": bandwidth,
            "scan_nq1_qps": 1.0 / scan1, "scan_nq1_gbs": db_bytes / scan1 / 1e9,
            "scan_nq1_one_thread_qps": 1.0 / scan1_one_thread,
            "scan_nq64_qps": NQ_BATCH as f64 / scan64,
            "reference_nq1_qps": 1.0 / reference1,
        })
    );
    Ok(())
}
