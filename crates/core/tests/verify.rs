//! Float-tolerant comparison of k-NN results and majority voting.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use edgenet_core::ErrorCode;
use edgenet_core::task::{Hit, KnnResult, SearchMetric, TaskId, VectorSearch, result_commitment};
use edgenet_core::verify::{Majority, knn_agree, majority};
use proptest::prelude::*;

fn r(hits: &[(u32, f32)]) -> KnnResult {
    KnnResult {
        hits: vec![
            hits.iter()
                .map(|&(index, score)| Hit { index, score })
                .collect(),
        ],
    }
}

#[test]
fn agreement_rules() {
    let base = r(&[(4, 0.9), (7, 0.5), (1, 0.2)]);
    assert!(knn_agree(&base, &base));
    assert!(
        knn_agree(&base, &r(&[(4, 0.9000001), (7, 0.5), (1, 0.2)])),
        "float noise tolerated"
    );
    assert!(
        !knn_agree(&base, &r(&[(4, 0.95), (7, 0.5), (1, 0.2)])),
        "score off by 5 %"
    );
    assert!(
        !knn_agree(&base, &r(&[(4, 0.9), (8, 0.5), (1, 0.2)])),
        "different id with a distinct score"
    );
    assert!(!knn_agree(&base, &r(&[(4, 0.9), (7, 0.5)])), "fewer hits");
    assert!(
        !knn_agree(&base, &KnnResult { hits: vec![] }),
        "fewer queries"
    );
    // A swap inside a tie, and a different id tied at the cut-off, are both right.
    let tie = r(&[(4, 0.9), (7, 0.5), (9, 0.5)]);
    assert!(knn_agree(&tie, &r(&[(4, 0.9), (9, 0.5), (7, 0.5)])));
    assert!(knn_agree(&tie, &r(&[(4, 0.9), (7, 0.5), (2, 0.5)])));
}

#[test]
fn majority_names_the_outvoted() {
    let good = r(&[(1, 1.0)]);
    let bad = r(&[(2, 0.3)]);
    let m = majority(&[good.clone(), bad.clone(), good.clone()], knn_agree).unwrap();
    assert_eq!(
        m,
        Majority {
            agreeing: vec![0, 2],
            outvoted: vec![1]
        }
    );
    assert_eq!(
        majority(&[good.clone(), bad.clone()], knn_agree),
        None,
        "1 vs 1 is no majority"
    );
    assert_eq!(majority::<KnnResult>(&[], knn_agree), None);
    let m = majority(&[bad.clone(), good.clone(), good], knn_agree).unwrap();
    assert_eq!(
        m.outvoted,
        vec![0],
        "the first result has no special standing"
    );
}

#[test]
fn vector_search_encoding_and_limits() {
    let task = VectorSearch {
        metric: SearchMetric::Dot,
        dim: 3,
        k: 2,
        queries: vec![1.0, 2.0, 3.0],
        database: vec![0.5; 9],
    };
    assert_eq!(VectorSearch::decode(&task.encode().unwrap()).unwrap(), task);
    let bad = VectorSearch {
        dim: 2,
        ..task.clone()
    };
    assert_eq!(bad.encode().unwrap_err().code(), "EN-141");
    let bad_k = VectorSearch {
        k: 0,
        ..task.clone()
    };
    assert_eq!(bad_k.validate().unwrap_err().code(), "EN-141");
    assert_eq!(
        VectorSearch::decode(&[0xff, 0xff, 0xff])
            .unwrap_err()
            .code(),
        "EN-140"
    );
    let id = TaskId([1; 16]);
    assert_ne!(result_commitment(&id, b"a"), result_commitment(&id, b"b"));
    assert_ne!(
        result_commitment(&id, b"a"),
        result_commitment(&TaskId([2; 16]), b"a")
    );
}

proptest! {
    #[test]
    fn decoding_arbitrary_task_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = VectorSearch::decode(&bytes);
        let _ = KnnResult::decode(&bytes);
    }

    #[test]
    fn agreement_is_reflexive_and_noise_tolerant(scores in proptest::collection::vec(-1000.0f32..1000.0, 1..20), noise in -1e-5f32..1e-5) {
        let mut sorted = scores.clone();
        sorted.sort_by(|a, b| b.total_cmp(a));
        let a = KnnResult { hits: vec![sorted.iter().enumerate().map(|(i, &s)| Hit { index: i as u32, score: s }).collect()] };
        let b = KnnResult { hits: vec![sorted.iter().enumerate().map(|(i, &s)| Hit { index: i as u32, score: s * (1.0 + noise) }).collect()] };
        prop_assert!(knn_agree(&a, &a));
        prop_assert!(knn_agree(&a, &b));
    }
}
