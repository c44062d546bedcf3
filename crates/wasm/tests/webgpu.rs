//! The wgpu/WGSL kernels on WebGPU in the browser (SwiftShader in headless Chromium, a real GPU in
//! a real browser), against the CPU reference: the same shader and code path as native Vulkan.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use edgenet_core::ErrorCode;
use edgenet_core::kinds::vector_search::knn_agree;
use edgenet_kernels::execute::to_knn_result;
use edgenet_kernels::gpu::Gpu;
use edgenet_kernels::{Metric, reference, sample};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn webgpu_matches_reference() {
    let Some(gpu) = Gpu::new_async().await else {
        console_log!(
            "SKIPPED: this browser exposes no WebGPU adapter (Chromium needs --enable-unsafe-webgpu headless)"
        );
        return;
    };
    console_log!("WebGPU adapter: {}", gpu.adapter());
    for (dim, n, nq, k) in [
        (1, 1, 1, 1),
        (3, 10, 2, 20),
        (17, 333, 5, 12),
        (384, 500, 2, 10),
    ] {
        let queries = sample::uniform(nq * dim, 3 + dim as u32);
        let database = sample::uniform(n * dim, 11 + n as u32);
        for metric in [Metric::Dot, Metric::Cosine, Metric::L2] {
            let want = reference::knn(metric, &queries, &database, dim, k).unwrap();
            let got = gpu
                .knn_async(metric, &queries, &database, dim, k)
                .await
                .unwrap();
            assert!(
                knn_agree(&to_knn_result(got), &to_knn_result(want)),
                "{metric:?} dim {dim} n {n} nq {nq} k {k}"
            );
        }
    }
    let err = gpu
        .knn_async(Metric::Dot, &[f32::NAN], &[1.0], 1, 1)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "EN-401");
}

/// The WGSL transformer kernels on WebGPU against the f64 reference.
#[wasm_bindgen_test]
async fn webgpu_transformer_kernels_match_reference() {
    use edgenet_kernels::nn::{ops::QkvLayout, reference as nn};
    let Some(gpu) = Gpu::new_async().await else {
        console_log!("SKIPPED: no WebGPU adapter");
        return;
    };
    let close = |got: &[f32], want: &[f32], scale: f32, what: &str| {
        assert_eq!(got.len(), want.len(), "{what}");
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() <= 3e-5 * scale.max(1.0), "{what}: {g} vs {w}");
        }
    };
    for (rows, inp, out) in [(1, 1, 1), (7, 384, 48), (33, 17, 70)] {
        let x = sample::uniform(rows * inp, 5);
        let w = sample::uniform(out * inp, 6);
        let b = sample::uniform(out, 7);
        let mut want = nn::linear(&x, rows, &w, out, &b);
        want.iter_mut().for_each(|v| *v = nn::gelu(*v));
        let got = gpu.linear_async(&x, rows, &w, out, &b, true).await.unwrap();
        close(&got, &want, inp as f32, "linear + GELU");
    }
    let (rows, dim) = (5, 384);
    let x = sample::uniform(rows * dim, 8);
    let r = sample::uniform(rows * dim, 9);
    let (g, be) = (sample::uniform(dim, 10), sample::uniform(dim, 11));
    let summed: Vec<f32> = x.iter().zip(&r).map(|(a, b)| a + b).collect();
    let got = gpu
        .add_layer_norm_async(&x, &r, dim, &g, &be, 1e-12)
        .await
        .unwrap();
    close(
        &got,
        &nn::layer_norm(&summed, dim, &g, &be, 1e-12),
        8.0,
        "layer norm",
    );
    let (seq, heads, hd) = (13, 12, 32);
    let h = heads * hd;
    let (q, k, v) = (
        sample::uniform(seq * h, 12),
        sample::uniform(seq * h, 13),
        sample::uniform(seq * h, 14),
    );
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
    let got = gpu
        .attention_async(&qkv, layout, seq, heads, hd, 11)
        .await
        .unwrap();
    close(
        &got,
        &nn::attention(&q, &k, &v, seq, heads, 11),
        1.0,
        "attention",
    );
    let got = gpu.mean_pool_normalize_async(&x, dim, 4).await.unwrap();
    close(
        &got,
        &nn::l2_normalize(&nn::mean_pool(&x, dim, 4)),
        1.0,
        "pooling",
    );
}
