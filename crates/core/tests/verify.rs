//! Float-tolerant comparison of k-NN results and majority voting.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use edgenet_core::ErrorCode;
use edgenet_core::kinds::vector_search::knn_agree;
use edgenet_core::kinds::vector_search::{Hit, KnnResult, SearchMetric, VectorSearch};
use edgenet_core::task::{TaskId, result_commitment};
use edgenet_core::verify::{Majority, majority};
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

mod text_tasks {
    use edgenet_core::ErrorCode;
    use edgenet_core::kinds::embedding::{EMBEDDING_MIN_COSINE, embeddings_agree};
    use edgenet_core::kinds::embedding::{Embedding, Embeddings};
    use edgenet_core::kinds::semantic_match::matches_agree;
    use edgenet_core::kinds::semantic_match::{Matches, SemanticMatch};
    use edgenet_core::kinds::text;
    use edgenet_core::kinds::vector_search::Hit;
    use edgenet_core::task::TaskKind;
    use edgenet_core::verify::results_agree;

    /// `base` turned by angle `theta` towards `other` (both unit, orthogonal): cosine = cos θ.
    fn turned(theta: f64) -> Embeddings {
        let (c, s) = (theta.cos() as f32, theta.sin() as f32);
        Embeddings {
            dim: 3,
            vectors: vec![1.0, 0.0, 0.0, c, s, 0.0],
        }
    }

    #[test]
    fn embeddings_agree_at_the_threshold_and_not_below() {
        let base = Embeddings {
            dim: 3,
            vectors: vec![1.0, 0.0, 0.0, 1.0, 0.0, 0.0],
        };
        let just_inside = (EMBEDDING_MIN_COSINE + 1e-6).acos();
        let outside = (EMBEDDING_MIN_COSINE - 1e-5).acos();
        assert!(embeddings_agree(&base, &turned(just_inside)));
        assert!(!embeddings_agree(&base, &turned(outside)));
        // A perturbed worker (cosine 0.98) and a different shape never agree.
        assert!(!embeddings_agree(&base, &turned(0.98f64.acos())));
        let wider = Embeddings {
            dim: 6,
            vectors: base.vectors.clone(),
        };
        assert!(!embeddings_agree(&base, &wider));
        let fewer = Embeddings {
            dim: 3,
            vectors: base.vectors[..3].to_vec(),
        };
        assert!(!embeddings_agree(&base, &fewer));
        let zero = Embeddings {
            dim: 3,
            vectors: vec![0.0; 6],
        };
        assert!(!embeddings_agree(&base, &zero) && embeddings_agree(&zero, &zero));
        // Through the encoded form, as the submitter compares.
        assert!(results_agree(
            TaskKind::EMBEDDING,
            &base.encode(),
            &turned(just_inside).encode()
        ));
        assert!(!results_agree(TaskKind::EMBEDDING, &base.encode(), b"junk"));
    }

    #[test]
    fn rankings_agree_with_score_tolerance_and_ties() {
        let hit = |index, score| Hit { index, score };
        let a = Matches {
            matches: vec![hit(2, 0.90), hit(0, 0.70), hit(1, 0.6995)],
        };
        // A swap inside a near-tie is agreement; a swap of distinct scores is not.
        let tie = Matches {
            matches: vec![hit(2, 0.90), hit(1, 0.6996), hit(0, 0.6999)],
        };
        assert!(matches_agree(&a, &tie));
        let swapped = Matches {
            matches: vec![hit(0, 0.90), hit(2, 0.70), hit(1, 0.6995)],
        };
        assert!(!matches_agree(&a, &swapped));
        let lowered = Matches {
            matches: a
                .matches
                .iter()
                .map(|h| hit(h.index, h.score - 0.05))
                .collect(),
        };
        assert!(!matches_agree(&a, &lowered));
        assert!(results_agree(
            TaskKind::SEMANTIC_MATCH,
            &a.encode(),
            &tie.encode()
        ));
    }

    #[test]
    fn text_tasks_refuse_what_breaks_a_limit_or_names_no_served_model() {
        let task = |model: &str, texts: Vec<String>| Embedding {
            model: model.into(),
            texts,
        };
        assert!(task("minilm", vec!["hi".into()]).validate().is_ok());
        assert_eq!(
            task("bert-9000", vec!["hi".into()])
                .validate()
                .unwrap_err()
                .code(),
            "EN-143"
        );
        for bad in [
            vec![],
            vec![String::new(); text::MAX_TEXTS + 1],
            vec!["x".repeat(text::MAX_TEXT_BYTES + 1)],
            vec![
                "x".repeat(text::MAX_TEXT_BYTES);
                text::MAX_TOTAL_BYTES / text::MAX_TEXT_BYTES + 1
            ],
        ] {
            assert_eq!(task("minilm", bad).validate().unwrap_err().code(), "EN-141");
        }
        // Decoding applies the same rules to what arrives from the network.
        let ok = task("minilm", vec!["a".into(), "b".into()])
            .encode()
            .unwrap();
        assert_eq!(Embedding::decode(&ok).unwrap().texts.len(), 2);
        assert_eq!(
            Embedding::decode(&ok[..ok.len() - 1]).unwrap_err().code(),
            "EN-140"
        );

        let matching = |candidates: Vec<String>, top_k| SemanticMatch {
            model: "minilm".into(),
            query: "q".into(),
            candidates,
            top_k,
        };
        assert_eq!(matching(vec![], 0).validate().unwrap_err().code(), "EN-141");
        // The query counts: 256 candidates make 257 texts.
        assert!(
            matching(vec!["c".into(); text::MAX_TEXTS - 1], 0)
                .validate()
                .is_ok()
        );
        assert!(
            matching(vec!["c".into(); text::MAX_TEXTS], 0)
                .validate()
                .is_err()
        );
        assert_eq!(matching(vec!["c".into(); 5], 0).returned(), 5);
        assert_eq!(matching(vec!["c".into(); 5], 3).returned(), 3);
        assert_eq!(matching(vec!["c".into(); 5], 9).returned(), 5);

        // Results: a non-finite value or a ragged shape does not decode.
        let nan = Embeddings {
            dim: 2,
            vectors: vec![f32::NAN, 0.0],
        };
        assert!(Embeddings::decode(&nan.encode()).is_err());
        let ragged = Embeddings {
            dim: 2,
            vectors: vec![1.0, 0.0, 1.0],
        };
        assert!(Embeddings::decode(&ragged.encode()).is_err());
    }
}
