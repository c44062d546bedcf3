//! Sliced runs (what the browser's compute workers do between sleeps) give what one run gives.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use edgenet_core::ErrorCode;
use edgenet_core::kinds::encryption::Encryption;
use edgenet_core::kinds::vector_search::knn_agree;
use edgenet_core::kinds::vector_search::{KnnResult, SearchMetric, VectorSearch};
use edgenet_core::task::TaskKind;
use edgenet_kernels::backend::Executor;
use edgenet_kernels::execute::{SlicedRun, execute};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn any_slicing_gives_the_whole_runs_hits(
        dim in 1u32..24,
        n in 0usize..120,
        nq in 1usize..40,
        k in 1u32..20,
        metric in prop_oneof![Just(SearchMetric::Dot), Just(SearchMetric::Cosine), Just(SearchMetric::L2)],
        steps in proptest::collection::vec(1u32..9, 1..50),
        seed in any::<u32>(),
    ) {
        let d = dim as usize;
        let task = VectorSearch {
            metric,
            dim,
            k,
            queries: edgenet_kernels::sample::uniform(nq * d, seed),
            database: edgenet_kernels::sample::uniform(n * d, seed ^ 0x9e37),
        };
        let payload = task.encode().unwrap();
        let whole = KnnResult::decode(&execute(TaskKind::VECTOR_SEARCH, &payload).unwrap()).unwrap();
        let exec = Executor::cpu_only();
        let mut run = SlicedRun::new(TaskKind::VECTOR_SEARCH, &payload).unwrap();
        prop_assert_eq!(run.units_left() as usize, nq);
        let mut i = 0;
        while run.result().is_none() {
            let before = run.units_left();
            run.step(&exec, steps[i % steps.len()]).unwrap();
            prop_assert!(run.units_left() < before);
            i += 1;
        }
        let sliced = KnnResult::decode(run.result().unwrap()).unwrap();
        prop_assert_eq!(sliced.hits.len(), nq);
        prop_assert!(knn_agree(&sliced, &whole));
    }
}

#[test]
fn encryption_is_one_unit_with_identical_bytes() {
    let task = Encryption {
        key: [1; 32],
        nonce: [2; 12],
        aad: vec![],
        plaintext: vec![5; 10_000],
    };
    let payload = task.encode().unwrap();
    let mut run = SlicedRun::new(TaskKind::ENCRYPTION, &payload).unwrap();
    assert_eq!(run.units_left(), 1);
    run.step(&Executor::cpu_only(), 1).unwrap();
    assert_eq!(run.units_left(), 0);
    assert_eq!(
        run.result().unwrap(),
        execute(TaskKind::ENCRYPTION, &payload).unwrap()
    );
}

#[test]
fn bad_payloads_and_values_have_codes() {
    assert_eq!(
        SlicedRun::new(TaskKind::VECTOR_SEARCH, b"junk")
            .err()
            .unwrap()
            .code(),
        "EN-140"
    );
    let task = VectorSearch {
        metric: SearchMetric::Dot,
        dim: 2,
        k: 1,
        queries: vec![1.0, 2.0],
        database: vec![f32::NAN, 0.0],
    };
    let mut run = SlicedRun::new(TaskKind::VECTOR_SEARCH, &task.encode().unwrap()).unwrap();
    assert_eq!(
        run.step(&Executor::cpu_only(), 1).unwrap_err().code(),
        "EN-401"
    );
    assert!(run.result().is_none());
}
