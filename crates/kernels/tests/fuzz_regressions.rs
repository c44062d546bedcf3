//! Inputs the fuzzers found interesting (crashes once fixed, and seeds), kept as plain tests.
//! Files live in `fuzz/regressions/<target>/`; `scripts/fuzz.sh` explains how they get there.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use std::path::Path;

#[test]
fn decode_index_cases() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/regressions/decode_index");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        edgenet_kernels::fuzz_targets::decode_index(&bytes);
        n += 1;
    }
    assert!(n > 0);
}

/// Writes the seeds (run with `--ignored` after a format change).
#[test]
#[ignore]
fn write_decode_index_seeds() {
    use edgenet_kernels::hnsw::{Hnsw, HnswParams};
    use edgenet_kernels::{Metric, sample};
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/regressions/decode_index");
    for (name, metric, n) in [("cosine-40", Metric::Cosine, 40), ("l2-3", Metric::L2, 3)] {
        let dim = 4;
        let params = HnswParams {
            dim,
            metric,
            m: 4,
            ef_construction: 16,
            ..HnswParams::default()
        };
        let mut index = Hnsw::new(params).unwrap();
        for (i, v) in sample::clustered(n, dim, 11).chunks_exact(dim).enumerate() {
            index.insert(i as u64 * 3, v).unwrap();
        }
        std::fs::write(dir.join(name), index.encode()).unwrap();
    }
    let empty = Hnsw::new(HnswParams {
        dim: 2,
        ..HnswParams::default()
    })
    .unwrap();
    std::fs::write(dir.join("empty"), empty.encode()).unwrap();
}
