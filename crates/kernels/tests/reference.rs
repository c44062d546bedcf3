#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point
use edgenet_core::ErrorCode;
use edgenet_kernels::Metric;
use edgenet_kernels::reference::{knn, scores, top_k};
use proptest::prelude::*;

#[test]
fn known_small_case() {
    let db = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0];
    let q = [1.0, 0.0];
    assert_eq!(
        scores(Metric::Dot, &q, &db, 2).unwrap(),
        vec![1.0, 0.0, 1.0]
    );
    assert_eq!(
        scores(Metric::L2, &q, &db, 2).unwrap(),
        vec![0.0, -2.0, -1.0]
    );
    let cos = scores(Metric::Cosine, &q, &db, 2).unwrap();
    assert!((cos[2] - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6);
    let hits = knn(Metric::Dot, &q, &db, 2, 2).unwrap();
    assert_eq!(
        hits[0].iter().map(|h| h.index).collect::<Vec<_>>(),
        vec![0, 2],
        "tie broken by lower index"
    );
}

#[test]
fn edge_cases_and_errors() {
    assert_eq!(knn(Metric::Dot, &[1.0], &[], 1, 5).unwrap(), vec![vec![]]);
    assert_eq!(
        knn(Metric::Dot, &[1.0], &[2.0], 1, 5).unwrap()[0].len(),
        1,
        "k > n returns n"
    );
    assert_eq!(
        scores(Metric::Dot, &[1.0], &[1.0], 0).unwrap_err().code(),
        "EN-400"
    );
    assert_eq!(
        scores(Metric::Dot, &[1.0, 2.0, 3.0], &[1.0, 2.0], 2)
            .unwrap_err()
            .code(),
        "EN-400"
    );
    assert_eq!(
        scores(Metric::Dot, &[f32::NAN], &[1.0], 1)
            .unwrap_err()
            .code(),
        "EN-401"
    );
    assert_eq!(
        scores(Metric::L2, &[1.0], &[f32::INFINITY], 1)
            .unwrap_err()
            .code(),
        "EN-401"
    );
    assert_eq!(
        scores(Metric::Cosine, &[0.0], &[0.0], 1).unwrap(),
        vec![0.0]
    );
}

proptest! {
    #[test]
    fn top_k_is_sorted_prefix_of_all(values in proptest::collection::vec(-100i32..100, 0..200), k in 0usize..50) {
        let scores: Vec<f32> = values.iter().map(|&v| v as f32).collect();
        let hits = top_k(&scores, k);
        prop_assert_eq!(hits.len(), k.min(scores.len()));
        for w in hits.windows(2) {
            prop_assert!(w[0].score > w[1].score || (w[0].score == w[1].score && w[0].index < w[1].index));
        }
        // Nothing left out scores higher than the last hit.
        if let Some(last) = hits.last() {
            let chosen: std::collections::HashSet<u32> = hits.iter().map(|h| h.index).collect();
            for (i, &s) in scores.iter().enumerate() {
                if !chosen.contains(&(i as u32)) {
                    prop_assert!(s < last.score || (s == last.score && i as u32 > last.index));
                }
            }
        }
    }
}
