//! The kernels in the browser (WebAssembly SIMD): the fast path against the reference on random
//! inputs, and the task executor as compute Workers call it.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use edgenet_core::kinds::encryption::Encryption;
use edgenet_core::kinds::vector_search::knn_agree;
use edgenet_core::kinds::vector_search::{KnnResult, SearchMetric, VectorSearch};
use edgenet_kernels::execute::to_knn_result;
use edgenet_kernels::reference;
use edgenet_kernels::{Metric, simd};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn simd_matches_reference_in_the_browser() {
    let mut x = 0x1234_5678u32;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        ((x % 41) as f32 - 20.0) / 8.0
    };
    for (dim, n, nq, k) in [
        (1, 10, 1, 3),
        (3, 57, 5, 10),
        (8, 100, 9, 7),
        (17, 300, 12, 20),
        (384, 500, 2, 10),
    ] {
        let queries: Vec<f32> = (0..nq * dim).map(|_| next()).collect();
        let database: Vec<f32> = (0..n * dim).map(|_| next()).collect();
        for metric in [Metric::Dot, Metric::Cosine, Metric::L2] {
            let want = reference::knn(metric, &queries, &database, dim, k).unwrap();
            let got = simd::knn(metric, &queries, &database, dim, k, 1).unwrap();
            assert!(
                knn_agree(&to_knn_result(got), &to_knn_result(want)),
                "{metric:?} dim {dim} n {n} nq {nq} k {k}"
            );
        }
    }
    assert_eq!(edgenet_wasm::kernel_backend(), "wasm-simd128");
}

#[wasm_bindgen_test]
fn execute_task_runs_both_kinds() {
    let search = VectorSearch {
        metric: SearchMetric::Dot,
        dim: 2,
        k: 1,
        queries: vec![1.0, 0.0],
        database: vec![0.1, 0.0, 0.9, 0.0],
    };
    let out = edgenet_wasm::execute_task("vector_search", &search.encode().unwrap()).unwrap();
    assert_eq!(KnnResult::decode(&out).unwrap().hits[0][0].index, 1);
    let enc = Encryption {
        key: [1; 32],
        nonce: [2; 12],
        aad: vec![],
        plaintext: b"browser".to_vec(),
    };
    let sealed = edgenet_wasm::execute_task("encryption", &enc.encode().unwrap()).unwrap();
    assert_eq!(sealed, enc.run(), "same bytes as native");
    assert!(edgenet_wasm::execute_task("mining", &[]).is_err());
}

#[wasm_bindgen_test]
fn compression_gives_the_native_bytes() {
    use edgenet_kernels::execute::{COMPRESSION_FINGERPRINTS, compression_fixture};
    use edgenet_kernels::sample::fnv1a;
    for (mode, want) in COMPRESSION_FINGERPRINTS {
        let payload = compression_fixture(mode).encode().unwrap();
        let got = fnv1a(&edgenet_wasm::execute_task("compression", &payload).unwrap());
        assert_eq!(got, want, "{mode:?}: 0x{got:016x}");
    }
}

/// The HNSW index built in the browser is the native one, byte for byte: replicas of a shard on
/// pages and on native nodes answer alike.
#[wasm_bindgen_test]
fn an_hnsw_index_built_here_has_the_native_bytes() {
    use edgenet_kernels::sample::{HNSW_FINGERPRINT, fnv1a, hnsw_fixture};
    let bytes = hnsw_fixture().encode();
    assert_eq!((bytes.len(), fnv1a(&bytes)), HNSW_FINGERPRINT);
}

/// The protocol module advertises what the compute module runs: the same kinds and backend as
/// the kernels say (the protocol module does not link the kernels: it lists the registry's
/// kinds that need only kernels, and the kernels register what they run).
#[wasm_bindgen_test]
fn the_advertised_kinds_and_backend_are_the_kernels_own() {
    let advertised: Vec<_> =
        edgenet_wasm::connection::kinds_needing(edgenet_core::kinds::Needs::Kernels).collect();
    assert_eq!(advertised, edgenet_kernels::execute::KINDS);
    assert_eq!(edgenet_wasm::connection::BACKEND, simd::backend());
}

/// The transformer kernels on WebAssembly SIMD (the packed `simd128` matmul, attention as two of
/// them) against the f64 reference.
#[wasm_bindgen_test]
fn transformer_kernels_on_simd128_match_reference() {
    use edgenet_kernels::nn::{PackedLinear, ops, ops::QkvLayout, reference as nn};
    assert_eq!(edgenet_kernels::nn::linear::backend(), "wasm-simd128");
    for (rows, inp, out) in [(1, 1, 1), (9, 384, 48), (33, 257, 70), (4, 1536, 384)] {
        let x = edgenet_kernels::sample::uniform(rows * inp, 5);
        let w = edgenet_kernels::sample::uniform(out * inp, 6);
        let b = edgenet_kernels::sample::uniform(out, 7);
        let want = nn::linear(&x, rows, &w, out, &b);
        let mut got = vec![0.0; rows * out];
        PackedLinear::new(&w, out, inp, &b)
            .unwrap()
            .forward(&x, rows, &mut got);
        for (g, w) in got.iter().zip(&want) {
            assert!(
                (g - w).abs() <= 2e-5 * inp as f32,
                "linear {rows}x{inp}x{out}: {g} vs {w}"
            );
        }
    }
    let (seq, heads, hd) = (21, 12, 32);
    let h = heads * hd;
    let s = |seed| edgenet_kernels::sample::uniform(seq * h, seed);
    let (q, k, v) = (s(12), s(13), s(14));
    let mut qkv = Vec::new();
    for t in 0..seq {
        for m in [&q, &k, &v] {
            qkv.extend_from_slice(&m[t * h..(t + 1) * h]);
        }
    }
    let layout = QkvLayout {
        stride: 3 * h,
        q_off: 0,
        k_off: h,
        v_off: 2 * h,
    };
    let mut got = vec![0.0; seq * h];
    ops::attention(&qkv, layout, seq, heads, hd, 17, &mut got);
    for (g, w) in got.iter().zip(&nn::attention(&q, &k, &v, seq, heads, 17)) {
        assert!((g - w).abs() <= 2e-5, "attention: {g} vs {w}");
    }
    let mut x = edgenet_kernels::sample::uniform(300, 15);
    let want: Vec<f32> = x.iter().map(|&v| nn::gelu(v * 4.0)).collect();
    x.iter_mut().for_each(|v| *v *= 4.0);
    ops::gelu(&mut x);
    for (g, w) in x.iter().zip(&want) {
        assert!((g - w).abs() <= 2e-5, "gelu: {g} vs {w}");
    }
}
