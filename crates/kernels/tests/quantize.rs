//! Quantized search with rescoring against the exact reference.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use edgenet_core::ErrorCode;
use edgenet_kernels::{Metric, quantize, reference, sample};
use proptest::prelude::*;

fn ids(hits: &[Vec<reference::Neighbor>]) -> Vec<Vec<u32>> {
    hits.iter()
        .map(|q| q.iter().map(|h| h.index).collect())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    /// Rescoring every row is the exact search, whatever the codes lose.
    #[test]
    fn full_rescoring_is_exact(dim in 1usize..70, n in 1usize..120, nq in 1usize..4, k in 1usize..15, seed in 1u32..u32::MAX) {
        let database = sample::uniform(n * dim, seed);
        let queries = sample::uniform(nq * dim, seed ^ 0x5555);
        let exact = ids(&reference::knn(Metric::Dot, &queries, &database, dim, k).unwrap());
        let int8 = quantize::int8(&database, dim).unwrap().search(&queries, &database, k, n).unwrap();
        let bin = quantize::binary(&database, dim).unwrap().search(&queries, &database, k, n).unwrap();
        prop_assert_eq!(ids(&int8), exact.clone());
        prop_assert_eq!(ids(&bin), exact);
    }
}

#[test]
fn few_candidates_recover_most_of_the_exact_top_k() {
    let (n, dim, nq, k) = (4_000, 128, 20, 10);
    let database = sample::uniform(n * dim, 99);
    let queries = sample::uniform(nq * dim, 7);
    let exact = ids(&reference::knn(Metric::Dot, &queries, &database, dim, k).unwrap());
    let recall = |got: Vec<Vec<u32>>| {
        let hit: usize = got
            .iter()
            .zip(&exact)
            .map(|(g, e)| g.iter().filter(|i| e.contains(i)).count())
            .sum();
        hit as f64 / (nq * k) as f64
    };
    let int8 = quantize::int8(&database, dim).unwrap();
    let bin = quantize::binary(&database, dim).unwrap();
    assert_eq!(int8.bytes(), n * dim + n * 4, "4x smaller than f32");
    assert_eq!(bin.bytes(), n * dim / 8, "32x smaller than f32");
    let r8 = recall(ids(&int8.search(&queries, &database, k, 2 * k).unwrap()));
    let r1 = recall(ids(&bin.search(&queries, &database, k, 20 * k).unwrap()));
    assert!(r8 >= 0.95, "int8 recall@10 with 2x candidates: {r8}");
    assert!(r1 >= 0.6, "binary recall@10 with 20x candidates: {r1}");
}

#[test]
fn bad_input_is_refused() {
    assert_eq!(
        quantize::int8(&[1.0, f32::NAN], 2).unwrap_err().code(),
        "EN-401"
    );
    assert_eq!(
        quantize::binary(&[1.0, 2.0, 3.0], 2).unwrap_err().code(),
        "EN-400"
    );
    let codes = quantize::int8(&[1.0, 2.0], 2).unwrap();
    assert_eq!(
        codes
            .search(&[f32::INFINITY, 0.0], &[1.0, 2.0], 1, 1)
            .unwrap_err()
            .code(),
        "EN-401"
    );
}
