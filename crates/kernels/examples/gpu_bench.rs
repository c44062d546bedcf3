//! The wgpu scan against the GPU's own memory bandwidth, both measured in this run: a resident
//! database (n rows, d = 384) searched for the top 10 at nq = 1 and nq = 64, beside a STREAM-style read
//! of a device buffer in WGSL that stands for what the memory can do. On lavapipe it only shows
//! that the path runs; on a real GPU it is the number that matters.
//!
//! `cargo run --release -p edgenet-kernels --features gpu --example gpu_bench -- [ROWS...]`
//! Prints one JSON line per database size.

#![allow(clippy::expect_used)] // a benchmark program: a failure should stop it loudly

use std::time::Instant;

use edgenet_kernels::gpu::Gpu;
use edgenet_kernels::{Metric, sample, simd};

const DIM: usize = 384;
const K: usize = 10;

/// Median of `runs` timings of `f`, in seconds.
fn median(runs: usize, mut f: impl FnMut()) -> f64 {
    f(); // warm-up
    let mut t: Vec<f64> = (0..runs)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[runs / 2]
}

fn main() {
    let Some(gpu) = Gpu::new() else {
        println!("{{\"skipped\": \"no GPU adapter\"}}");
        return;
    };
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![100_000]
    } else {
        sizes
    };
    let read_gbs = gpu.read_bandwidth_gbs(1 << 30, 8);
    for n in sizes {
        let database = sample::uniform(n * DIM, 1);
        let queries = sample::uniform(64 * DIM, 2);
        let t = Instant::now();
        let matrix = gpu.upload(&database, DIM).expect("upload");
        let upload_s = t.elapsed().as_secs_f64();
        // The answer must be the CPU's before any timing counts.
        let want = simd::knn(Metric::Dot, &queries[..DIM], &database, DIM, K, 1).expect("simd");
        let got = gpu
            .search(&matrix, Metric::Dot, &queries[..DIM], K)
            .expect("gpu");
        let agree = want[0]
            .iter()
            .map(|h| h.index)
            .eq(got[0].iter().map(|h| h.index));
        let runs = if n >= 1_000_000 { 9 } else { 21 };
        let nq1_best = {
            let mut best = f64::INFINITY;
            for _ in 0..runs {
                let t = Instant::now();
                gpu.search(&matrix, Metric::Dot, &queries[..DIM], K)
                    .expect("gpu");
                best = best.min(t.elapsed().as_secs_f64());
            }
            best
        };
        let nq1 = median(runs, || {
            gpu.search(&matrix, Metric::Dot, &queries[..DIM], K)
                .expect("gpu");
        });
        let nq64 = median(runs, || {
            gpu.search(&matrix, Metric::Dot, &queries, K).expect("gpu");
        });
        let bytes = (n * DIM * 4) as f64;
        // Each phase submitted and waited for alone (median of 11): where the time goes.
        let phases = |q: &[f32]| {
            let mut runs: Vec<(f64, f64)> =
                (0..11).map(|_| gpu.time_phases(&matrix, q, K)).collect();
            runs.sort_by(|a, b| (a.0 + a.1).total_cmp(&(b.0 + b.1)));
            runs[5]
        };
        let (score1, select1) = phases(&queries[..DIM]);
        let (score64, select64) = phases(&queries);
        // nq = 1 again, now that the batched runs have brought the GPU's clocks up: an idle GPU
        // answers a lone query at a lower clock than a busy one.
        let nq1_warm = median(runs, || {
            gpu.search(&matrix, Metric::Dot, &queries[..DIM], K)
                .expect("gpu");
        });
        eprintln!(
            "phases: nq1 score {:.3} ms select {:.3} ms; nq64 score {:.3} ms select {:.3} ms",
            score1 * 1e3,
            select1 * 1e3,
            score64 * 1e3,
            select64 * 1e3
        );
        println!(
            "{{\"adapter\": {:?}, \"max_binding_bytes\": {}, \"rows\": {n}, \"dim\": {DIM}, \"k\": {K}, \"agrees_with_cpu\": {agree}, \
             \"upload_s\": {upload_s:.4}, \"nq1_ms\": {:.4}, \"nq1_best_ms\": {:.4}, \"nq1_after_batch_ms\": {:.4}, \"nq1_gbs\": {:.1}, \"nq64_ms\": {:.4}, \
             \"nq64_qps\": {:.0}, \"read_gbs\": {read_gbs:.1}, \"nq1_vs_read\": {:.3}}}",
            gpu.adapter(),
            gpu.max_binding_bytes(),
            nq1 * 1e3,
            nq1_best * 1e3,
            nq1_warm * 1e3,
            bytes / nq1 / 1e9,
            nq64 * 1e3,
            64.0 / nq64,
            bytes / nq1 / 1e9 / read_gbs,
        );
    }
}
