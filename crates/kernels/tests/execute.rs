//! The task executor: each kind decodes its payload, runs, and refuses bad input with a code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use edgenet_core::ErrorCode;
use edgenet_core::task::{Encryption, KnnResult, SearchMetric, TaskKind, VectorSearch};
use edgenet_kernels::execute::{KINDS, execute};

#[test]
fn encryption_runs_core_aead_and_opens_with_the_key() {
    let task = Encryption {
        key: [7; 32],
        nonce: [9; 12],
        aad: b"hdr".to_vec(),
        plaintext: b"secret payload".to_vec(),
    };
    let sealed = execute(TaskKind::Encryption, &task.encode().unwrap()).unwrap();
    assert_eq!(
        sealed.len(),
        task.plaintext.len() + edgenet_core::aead::TAG_LEN
    );
    assert_eq!(
        edgenet_core::aead::open(&task.key, &task.nonce, b"hdr", &sealed).unwrap(),
        task.plaintext
    );
    assert!(edgenet_core::aead::open(&task.key, &task.nonce, b"other", &sealed).is_none());
    assert_eq!(
        execute(TaskKind::Encryption, &task.encode().unwrap()).unwrap(),
        sealed,
        "deterministic"
    );
    let too_big = Encryption {
        plaintext: vec![0; Encryption::MAX_PLAINTEXT + 1],
        ..task
    };
    assert_eq!(too_big.encode().unwrap_err().code(), "EN-141");
    assert_eq!(
        execute(TaskKind::Encryption, &[1, 2, 3])
            .unwrap_err()
            .code(),
        "EN-140"
    );
}

#[test]
fn vector_search_runs_and_refuses_bad_values() {
    let task = VectorSearch {
        metric: SearchMetric::L2,
        dim: 2,
        k: 1,
        queries: vec![0.0, 0.0],
        database: vec![3.0, 4.0, 1.0, 1.0],
    };
    let result =
        KnnResult::decode(&execute(TaskKind::VectorSearch, &task.encode().unwrap()).unwrap())
            .unwrap();
    assert_eq!(result.hits[0][0].index, 1);
    assert_eq!(result.hits[0][0].score, -2.0);
    let nan = VectorSearch {
        database: vec![f32::NAN, 0.0],
        ..task
    };
    assert_eq!(
        execute(TaskKind::VectorSearch, &nan.encode().unwrap())
            .unwrap_err()
            .code(),
        "EN-401"
    );
    assert_eq!(KINDS, &[TaskKind::VectorSearch, TaskKind::Encryption]);
}
