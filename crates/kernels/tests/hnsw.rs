//! The HNSW index against brute force on random clustered vectors: recall, determinism (the
//! same inserts give the same bytes, and those bytes are pinned so every platform must produce
//! them), saving and loading, and every input it refuses.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use edgenet_core::ErrorCode;
use edgenet_kernels::hnsw::{Hnsw, HnswParams, MAX_M};
use edgenet_kernels::{Metric, reference, sample};

fn clustered(seed: u32, n: usize, dim: usize) -> Vec<f32> {
    sample::clustered(n, dim, seed)
}

fn build(metric: Metric, data: &[f32], dim: usize, m: usize, ef_construction: usize) -> Hnsw {
    let mut index = Hnsw::new(HnswParams {
        dim,
        metric,
        m,
        ef_construction,
        ..HnswParams::default()
    })
    .unwrap();
    for (i, v) in data.chunks_exact(dim).enumerate() {
        index.insert(i as u64, v).unwrap();
    }
    index
}

/// Recall@k of the index against the exact k-NN of the reference.
fn recall(
    index: &Hnsw,
    metric: Metric,
    data: &[f32],
    queries: &[f32],
    dim: usize,
    ef: usize,
) -> f64 {
    let k = 10;
    let exact = reference::knn(metric, queries, data, dim, k).unwrap();
    let mut found = 0;
    for (q, truth) in queries.chunks_exact(dim).zip(&exact) {
        let hits = index.search(q, k, ef).unwrap();
        assert_eq!(hits.len(), k);
        assert!(
            hits.windows(2).all(|w| w[0].score >= w[1].score),
            "closest first"
        );
        found += hits
            .iter()
            .filter(|h| truth.iter().any(|t| u64::from(t.index) == h.id))
            .count();
    }
    found as f64 / (k * exact.len()) as f64
}

#[test]
fn finds_the_true_neighbours_of_random_clustered_vectors() {
    let (n, dim) = (4_000, 32);
    let data = clustered(1, n, dim);
    let queries = clustered(2, 100, dim);
    for metric in [Metric::Cosine, Metric::L2] {
        let index = build(metric, &data, dim, 16, 100);
        assert_eq!(index.len(), n);
        let r = recall(&index, metric, &data, &queries, dim, 64);
        assert!(r >= 0.95, "{metric:?}: recall@10 {r} at ef 64");
        // More candidates find more.
        let wide = recall(&index, metric, &data, &queries, dim, 256);
        assert!(
            wide >= r && wide >= 0.99,
            "{metric:?}: recall@10 {wide} at ef 256"
        );
        // A vector of the index finds itself first.
        let hit = index.search(&data[17 * dim..18 * dim], 1, 32).unwrap();
        assert_eq!(hit[0].id, 17);
    }
}

#[test]
fn the_same_inserts_give_the_same_bytes_here_and_on_every_platform() {
    let dim = 24;
    let data = clustered(3, 1_500, dim);
    let a = build(Metric::Cosine, &data, dim, 8, 64).encode();
    let b = sample::hnsw_fixture().encode();
    assert_eq!(a, b);
    // Pinned: an x86-64 build wrote these bytes, and the browser test checks the same; any
    // platform, compiler or change to the algorithm that builds a different graph fails here
    // (change them only on purpose, with the format's version).
    assert_eq!((a.len(), sample::fnv1a(&a)), sample::HNSW_FINGERPRINT);
    // Another seed gives another graph.
    let mut other = Hnsw::new(HnswParams {
        dim,
        m: 8,
        ef_construction: 64,
        seed: 9,
        ..HnswParams::default()
    })
    .unwrap();
    for (i, v) in data.chunks_exact(dim).enumerate() {
        other.insert(i as u64, v).unwrap();
    }
    assert_ne!(other.encode(), a);
}

#[test]
fn a_loaded_index_equals_the_saved_one_and_answers_alike() {
    let dim = 16;
    let data = clustered(4, 2_000, dim);
    for metric in [Metric::Dot, Metric::Cosine, Metric::L2] {
        let index = build(metric, &data, dim, 12, 80);
        let bytes = index.encode();
        let loaded = Hnsw::decode(&bytes).unwrap();
        assert_eq!(loaded, index);
        assert_eq!(loaded.encode(), bytes);
        let q = &data[..dim];
        assert_eq!(
            loaded.search(q, 10, 50).unwrap(),
            index.search(q, 10, 50).unwrap()
        );
    }
    let empty = Hnsw::new(HnswParams {
        dim,
        ..HnswParams::default()
    })
    .unwrap();
    let loaded = Hnsw::decode(&empty.encode()).unwrap();
    assert!(loaded.is_empty() && loaded.search(&data[..dim], 5, 10).unwrap().is_empty());
}

#[test]
fn saved_bytes_that_are_not_an_index_are_refused_with_a_code() {
    let dim = 4;
    let data = clustered(5, 200, dim);
    let bytes = build(Metric::L2, &data, dim, 4, 20).encode();
    // Every prefix, and trailing bytes.
    for cut in 0..bytes.len() {
        let err = Hnsw::decode(&bytes[..cut]).unwrap_err();
        assert_eq!(err.code(), "EN-407", "cut at {cut}");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert_eq!(Hnsw::decode(&longer).unwrap_err().code(), "EN-407");
    // A link to a node that does not exist (the first node's first link: after the 33-byte
    // header, its id, level and link count).
    let mut bad = bytes.clone();
    let first_link = 33 + 8 + 1 + 2;
    bad[first_link..first_link + 4].copy_from_slice(&9_999u32.to_le_bytes());
    assert_eq!(Hnsw::decode(&bad).unwrap_err().code(), "EN-407");
    // Another magic, a count the bytes cannot hold, an m past the bound, a NaN vector.
    let mut bad = bytes.clone();
    bad[0] ^= 1;
    assert!(Hnsw::decode(&bad).is_err());
    let mut bad = bytes.clone();
    bad[25..29].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(Hnsw::decode(&bad).is_err());
    let mut bad = bytes.clone();
    bad[13..15].copy_from_slice(&(MAX_M as u16 + 1).to_le_bytes());
    assert!(Hnsw::decode(&bad).is_err());
    let mut bad = bytes.clone();
    let last = bad.len() - 4;
    bad[last..].copy_from_slice(&f32::NAN.to_bits().to_le_bytes());
    assert!(Hnsw::decode(&bad).is_err());
}

#[test]
fn bad_inputs_are_refused_and_nothing_held_is_lost() {
    let err = |e: edgenet_kernels::hnsw::HnswError| e.code();
    assert_eq!(err(Hnsw::new(HnswParams::default()).unwrap_err()), "EN-403");
    let params = HnswParams {
        dim: 3,
        m: 1,
        ..HnswParams::default()
    };
    assert_eq!(err(Hnsw::new(params).unwrap_err()), "EN-403");
    let mut index = Hnsw::new(HnswParams {
        dim: 3,
        ..HnswParams::default()
    })
    .unwrap();
    index.insert(1, &[1.0, 0.0, 0.0]).unwrap();
    assert_eq!(err(index.insert(2, &[1.0, 0.0]).unwrap_err()), "EN-404");
    assert_eq!(
        err(index.insert(2, &[f32::NAN, 0.0, 0.0]).unwrap_err()),
        "EN-401"
    );
    assert_eq!(
        err(index.insert(2, &[1e30, 1e30, 0.0]).unwrap_err()),
        "EN-401"
    );
    assert_eq!(
        err(index.insert(1, &[0.0, 1.0, 0.0]).unwrap_err()),
        "EN-405"
    );
    assert_eq!(err(index.search(&[1.0, 0.0], 1, 10).unwrap_err()), "EN-404");
    assert_eq!(
        err(index.search(&[1.0, 0.0, 0.0], 1, 1 << 20).unwrap_err()),
        "EN-403"
    );
    // What was there still is, and answers.
    assert_eq!(index.len(), 1);
    assert_eq!(index.search(&[0.5, 0.5, 0.0], 3, 10).unwrap()[0].id, 1);
}
