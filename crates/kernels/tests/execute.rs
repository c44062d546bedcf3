//! The task executor: each kind decodes its payload, runs, and refuses bad input with a code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use edgenet_core::ErrorCode;
use edgenet_core::kinds::compression::{CompressedVectors, Compression, Quantization};
use edgenet_core::kinds::encryption::Encryption;
use edgenet_core::kinds::vector_search::{KnnResult, SearchMetric, VectorSearch};
use edgenet_core::task::TaskKind;
use edgenet_core::verify::results_agree;
use edgenet_kernels::execute::{KINDS, execute};
use edgenet_kernels::sample::fnv1a;

#[test]
fn encryption_runs_core_aead_and_opens_with_the_key() {
    let task = Encryption {
        key: [7; 32],
        nonce: [9; 12],
        aad: b"hdr".to_vec(),
        plaintext: b"secret payload".to_vec(),
    };
    let sealed = execute(TaskKind::ENCRYPTION, &task.encode().unwrap()).unwrap();
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
        execute(TaskKind::ENCRYPTION, &task.encode().unwrap()).unwrap(),
        sealed,
        "deterministic"
    );
    let too_big = Encryption {
        plaintext: vec![0; Encryption::MAX_PLAINTEXT + 1],
        ..task
    };
    assert_eq!(too_big.encode().unwrap_err().code(), "EN-141");
    assert_eq!(
        execute(TaskKind::ENCRYPTION, &[1, 2, 3])
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
        KnnResult::decode(&execute(TaskKind::VECTOR_SEARCH, &task.encode().unwrap()).unwrap())
            .unwrap();
    assert_eq!(result.hits[0][0].index, 1);
    assert_eq!(result.hits[0][0].score, -2.0);
    let nan = VectorSearch {
        database: vec![f32::NAN, 0.0],
        ..task
    };
    assert_eq!(
        execute(TaskKind::VECTOR_SEARCH, &nan.encode().unwrap())
            .unwrap_err()
            .code(),
        "EN-401"
    );
    assert_eq!(
        KINDS,
        &[
            TaskKind::VECTOR_SEARCH,
            TaskKind::ENCRYPTION,
            TaskKind::COMPRESSION
        ]
    );
}

#[test]
fn compression_quantizes_within_half_a_step_and_is_byte_exact() {
    let task = Compression {
        mode: Quantization::Int8,
        dim: 3,
        vectors: vec![1.0, -0.5, 0.25, 0.0, 0.0, 0.0, -2.0, 4.0, 1e-3],
    };
    let bytes = execute(TaskKind::COMPRESSION, &task.encode().unwrap()).unwrap();
    let c = CompressedVectors::decode(&bytes).unwrap();
    assert_eq!((c.rows, c.dim, c.scales.len(), c.codes.len()), (3, 3, 3, 9));
    for (row, (scale, codes)) in task
        .vectors
        .chunks(3)
        .zip(c.scales.iter().zip(c.codes.chunks(3)))
    {
        for (x, &code) in row.iter().zip(codes) {
            let back = f32::from(code as i8) * scale;
            assert!((back - x).abs() <= scale / 2.0 + 1e-7, "{x} -> {back}");
        }
    }
    assert_eq!(
        c.codes[0] as i8, 127,
        "the row's largest magnitude maps to 127"
    );
    assert!(results_agree(TaskKind::COMPRESSION, &bytes, &bytes));
    let mut other = bytes.clone();
    *other.last_mut().unwrap() ^= 1;
    assert!(!results_agree(TaskKind::COMPRESSION, &bytes, &other));

    let binary = Compression {
        mode: Quantization::Binary,
        dim: 70,
        vectors: (0..140)
            .map(|i| if i % 3 == 0 { 1.0 } else { -1.0 })
            .collect(),
    };
    let c = CompressedVectors::decode(
        &execute(TaskKind::COMPRESSION, &binary.encode().unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(
        c.codes.len(),
        2 * 16,
        "70 bits pad to two 64-bit words per row"
    );
    for (i, x) in binary.vectors.iter().enumerate() {
        let (row, col) = (i / 70, i % 70);
        let bit = c.codes[row * 16 + col / 8] >> (col % 8) & 1;
        assert_eq!(bit == 1, *x > 0.0, "value {i}");
    }
}

#[test]
fn compression_bytes_match_the_committed_fingerprints() {
    for (mode, want) in edgenet_kernels::execute::COMPRESSION_FINGERPRINTS {
        let task = edgenet_kernels::execute::compression_fixture(mode);
        let got = fnv1a(&execute(TaskKind::COMPRESSION, &task.encode().unwrap()).unwrap());
        assert_eq!(got, want, "{mode:?}: 0x{got:016x}");
    }
}

#[test]
fn compression_refuses_nan_and_ragged_input() {
    let nan = Compression {
        mode: Quantization::Int8,
        dim: 2,
        vectors: vec![1.0, f32::NAN],
    };
    assert_eq!(
        execute(TaskKind::COMPRESSION, &nan.encode().unwrap())
            .unwrap_err()
            .code(),
        "EN-401"
    );
    let ragged = Compression {
        mode: Quantization::Binary,
        dim: 2,
        vectors: vec![1.0, 2.0, 3.0],
    };
    assert_eq!(ragged.encode().unwrap_err().code(), "EN-141");
}
