//! The index benchmark behind `scripts/bench.sh index`: our HNSW beside hnswlib, on the same
//! data with the same M, ef_construction and ef, one thread each (ours builds on one thread to
//! stay deterministic; hnswlib is given one too). hnswlib is timed by `scripts/bench_hnswlib.py`
//! on the files this writes.
//!
//! `cargo run --release -p edgenet-kernels --example index_bench -- OUT_DIR [N]`
//! (`EDGENET_INDEX_SEEDS`, default `1,2,3`: the level seeds, one graph each; means are printed).
//! Writes OUT_DIR/{database,queries}.f32 (little-endian unit rows) and OUT_DIR/truth.u32 (the
//! exact top 10 of each query), and prints one JSON line.

// A benchmark: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::time::Instant;

use edgenet_kernels::hnsw::{Hnsw, HnswParams};
use edgenet_kernels::{Metric, sample, simd};

const DIM: usize = 384;
const NQ: usize = 1_000;
const K: usize = 10;
const M: usize = 16;
const EF_CONSTRUCTION: usize = 200;
/// The ef values both libraries are measured at.
pub const EFS: [usize; 9] = [10, 16, 24, 32, 48, 64, 96, 128, 256];

fn unit_rows(mut v: Vec<f32>) -> Vec<f32> {
    for row in v.chunks_exact_mut(DIM) {
        let norm = row.iter().map(|x| x * x).sum::<f32>().sqrt();
        row.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

/// Passes over the queries per ef; the fastest counts. One pass takes 30–300 ms, short enough
/// for a neighbour on a shared machine to slow any one of them.
const PASSES: usize = 5;

/// Queries per second of the fastest of [`PASSES`] runs of `pass` (each answers `NQ` queries).
fn best_qps(mut pass: impl FnMut()) -> f64 {
    (0..PASSES)
        .map(|_| {
            let t = Instant::now();
            pass();
            NQ as f64 / t.elapsed().as_secs_f64()
        })
        .fold(0.0, f64::max)
}

fn write_f32(path: &std::path::Path, v: &[f32]) {
    let mut f =
        std::io::BufWriter::new(std::fs::File::create(path).unwrap_or_else(|e| panic!("{e}")));
    for x in v {
        f.write_all(&x.to_le_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let out = std::path::PathBuf::from(args.next().expect("OUT_DIR"));
    let n: usize = args.next().map_or(100_000, |s| s.parse().unwrap());
    std::fs::create_dir_all(&out).unwrap();
    // Queries from the same distribution as the database (the last rows drawn, not inserted).
    let mut database = unit_rows(sample::clustered(n + NQ, DIM, 0xbe9c));
    let queries = database.split_off(n * DIM);
    write_f32(&out.join("database.f32"), &database);
    write_f32(&out.join("queries.f32"), &queries);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let truth = simd::knn(Metric::Dot, &queries, &database, DIM, K, threads).unwrap();
    let mut f = std::fs::File::create(out.join("truth.u32")).unwrap();
    for row in &truth {
        for hit in row {
            f.write_all(&hit.index.to_le_bytes()).unwrap();
        }
    }

    // One graph is one draw of the levels: recall at a given ef moves by up to 0.01 between
    // seeds, for hnswlib as for us. Each library builds one graph per seed and the figures are
    // their means.
    let seeds: Vec<u64> = std::env::var("EDGENET_INDEX_SEEDS")
        .unwrap_or_else(|_| "1,2,3".into())
        .split(',')
        .map(|s| s.parse().unwrap())
        .collect();
    let mut build_s = 0.0;
    let mut qps = [0.0; EFS.len()];
    let mut recall = [0.0; EFS.len()];
    let mut bytes = 0;
    for &seed in &seeds {
        let params = HnswParams {
            dim: DIM,
            metric: Metric::Cosine,
            m: M,
            ef_construction: EF_CONSTRUCTION,
            seed,
        };
        let mut index = Hnsw::new(params).unwrap();
        let t = Instant::now();
        for (i, v) in database.chunks_exact(DIM).enumerate() {
            index.insert(i as u64, v).unwrap();
        }
        build_s += t.elapsed().as_secs_f64();
        for (e, ef) in EFS.into_iter().enumerate() {
            let mut found = 0;
            for (q, exact) in queries.chunks_exact(DIM).zip(&truth) {
                let hits = index.search(q, K, ef).unwrap();
                found += hits
                    .iter()
                    .filter(|h| exact.iter().any(|e| u64::from(e.index) == h.id))
                    .count();
            }
            recall[e] += found as f64 / (NQ * K) as f64;
            qps[e] += best_qps(|| {
                for q in queries.chunks_exact(DIM) {
                    std::hint::black_box(index.search(q, K, ef).unwrap());
                }
            });
        }
        bytes = index.encode().len();
    }
    let runs = seeds.len() as f64;
    let points: Vec<String> = EFS
        .iter()
        .enumerate()
        .map(|(e, ef)| {
            format!(
                r#"{{"ef":{ef},"qps":{:.1},"recall":{:.4}}}"#,
                qps[e] / runs,
                recall[e] / runs
            )
        })
        .collect();
    println!(
        r#"{{"n":{n},"dim":{DIM},"m":{M},"ef_construction":{EF_CONSTRUCTION},"seeds":{},"build_s":{:.2},"build_per_s":{:.1},"bytes":{bytes},"points":[{}]}}"#,
        seeds.len(),
        build_s / runs,
        n as f64 * runs / build_s,
        points.join(",")
    );
}
