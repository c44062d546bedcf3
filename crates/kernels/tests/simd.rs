//! The SIMD path against the CPU reference on random inputs and edge cases.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use edgenet_core::ErrorCode;
use edgenet_core::kinds::vector_search::knn_agree;
use edgenet_kernels::execute::to_knn_result;
use edgenet_kernels::reference::{self, Neighbor};
use edgenet_kernels::topk::TopK;
use edgenet_kernels::{Metric, simd};
use proptest::prelude::*;

fn metric() -> impl Strategy<Value = Metric> {
    prop_oneof![Just(Metric::Dot), Just(Metric::Cosine), Just(Metric::L2)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn simd_matches_reference(
        metric in metric(),
        dim in prop_oneof![Just(1usize), Just(3), Just(7), Just(8), Just(9), Just(16), Just(17), Just(33), 1usize..70],
        n in 1usize..150,
        nq in 1usize..19,
        k in 1usize..40,
        threads in 1usize..4,
        seed: u64,
    ) {
        // Values on a coarse grid make exact ties common, which exercises the tie-break.
        let mut state = seed | 1;
        let mut next = || { state ^= state << 13; state ^= state >> 7; state ^= state << 17; ((state % 41) as f32 - 20.0) / 8.0 };
        let queries: Vec<f32> = (0..nq * dim).map(|_| next()).collect();
        let database: Vec<f32> = (0..n * dim).map(|_| next()).collect();
        let want = reference::knn(metric, &queries, &database, dim, k).unwrap();
        let got = simd::knn(metric, &queries, &database, dim, k, threads).unwrap();
        prop_assert_eq!(got.len(), nq);
        prop_assert!(knn_agree(&to_knn_result(got.clone()), &to_knn_result(want.clone())), "metric {:?} dim {} n {} nq {} k {}\ngot  {:?}\nwant {:?}", metric, dim, n, nq, k, got, want);
    }

    #[test]
    fn topk_equals_sort_then_truncate(scores in proptest::collection::vec(-50i32..50, 0..300), k in 0usize..60) {
        let mut top = TopK::new(k);
        for (i, s) in scores.iter().enumerate() {
            top.push(i as u32, *s as f32);
        }
        let all: Vec<f32> = scores.iter().map(|&s| s as f32).collect();
        prop_assert_eq!(top.into_sorted(), reference::top_k(&all, k));
    }
}

#[test]
fn edge_cases() {
    assert_eq!(
        simd::knn(Metric::Dot, &[1.0, 2.0], &[], 2, 3, 2).unwrap(),
        vec![Vec::<Neighbor>::new()]
    );
    let one = simd::knn(Metric::L2, &[1.0], &[4.0], 1, 10, 1).unwrap();
    assert_eq!(one[0].len(), 1, "k > n gives n");
    assert_eq!(one[0][0].score, -9.0);
    assert_eq!(
        simd::knn(Metric::Dot, &[f32::NAN], &[1.0], 1, 1, 1)
            .unwrap_err()
            .code(),
        "EN-401"
    );
    assert_eq!(
        simd::knn(Metric::Dot, &[1.0], &[1.0, 2.0, 3.0], 2, 1, 1)
            .unwrap_err()
            .code(),
        "EN-400"
    );
    assert!(["avx2", "portable-simd"].contains(&simd::backend()));
}

#[test]
fn bad_values_are_refused_like_the_reference() {
    let mut database = vec![0.5f32; 300 * 4];
    database[777] = f32::NAN;
    database[1001] = f32::INFINITY;
    for threads in [1, 3] {
        let got = simd::knn(Metric::Dot, &[1.0; 4], &database, 4, 3, threads).unwrap_err();
        assert_eq!(
            got,
            reference::knn(Metric::Dot, &[1.0; 4], &database, 4, 3).unwrap_err()
        );
        assert_eq!(got.code(), "EN-401");
    }
    let mut huge = vec![0.5f32; 10 * 4];
    huge[9] = 1e30; // finite, but its square overflows
    let got = simd::knn(Metric::Cosine, &[1.0; 4], &huge, 4, 3, 1).unwrap_err();
    assert_eq!(got.code(), "EN-402");
    assert_eq!(
        got,
        reference::knn(Metric::Cosine, &[1.0; 4], &huge, 4, 3).unwrap_err()
    );
}

#[test]
fn large_scan_across_threads_matches_reference() {
    let (n, dim, nq, k) = (5_000, 96, 10, 25);
    let mut x = 12345u32;
    let mut next = || {
        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (x >> 8) as f32 / (1u32 << 24) as f32 - 0.5
    };
    let queries: Vec<f32> = (0..nq * dim).map(|_| next()).collect();
    let database: Vec<f32> = (0..n * dim).map(|_| next()).collect();
    for metric in [Metric::Dot, Metric::Cosine, Metric::L2] {
        let want = reference::knn(metric, &queries, &database, dim, k).unwrap();
        let got = simd::knn(metric, &queries, &database, dim, k, 3).unwrap();
        assert!(
            knn_agree(&to_knn_result(got), &to_knn_result(want)),
            "{metric:?}"
        );
    }
}
