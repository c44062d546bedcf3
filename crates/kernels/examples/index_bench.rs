//! The index benchmark behind `scripts/bench.sh index`: our HNSW beside hnswlib, on the same
//! data with the same M, ef_construction and ef, one thread each (ours builds on one thread to
//! stay deterministic; hnswlib is given one too). hnswlib is timed by `scripts/bench_hnswlib.py`
//! on the files this writes.
//!
//! `cargo run --release -p edgenet-kernels --example index_bench -- OUT_DIR [N]`
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

    let params = HnswParams {
        dim: DIM,
        metric: Metric::Cosine,
        m: M,
        ef_construction: EF_CONSTRUCTION,
        ..HnswParams::default()
    };
    let mut index = Hnsw::new(params).unwrap();
    let t = Instant::now();
    for (i, v) in database.chunks_exact(DIM).enumerate() {
        index.insert(i as u64, v).unwrap();
    }
    let build_s = t.elapsed().as_secs_f64();
    let mut points = Vec::new();
    for ef in EFS {
        let t = Instant::now();
        let mut found = 0;
        for (q, exact) in queries.chunks_exact(DIM).zip(&truth) {
            let hits = index.search(q, K, ef).unwrap();
            found += hits
                .iter()
                .filter(|h| exact.iter().any(|e| u64::from(e.index) == h.id))
                .count();
        }
        let secs = t.elapsed().as_secs_f64();
        points.push(format!(
            r#"{{"ef":{ef},"qps":{:.1},"recall":{:.4}}}"#,
            NQ as f64 / secs,
            found as f64 / (NQ * K) as f64
        ));
    }
    println!(
        r#"{{"n":{n},"dim":{DIM},"m":{M},"ef_construction":{EF_CONSTRUCTION},"build_s":{build_s:.2},"build_per_s":{:.1},"bytes":{},"points":[{}]}}"#,
        n as f64 / build_s,
        index.encode().len(),
        points.join(",")
    );
}
