//! The wgpu/WGSL kernels on WebGPU in the browser (SwiftShader in headless Chromium, a real GPU in
//! a real browser), against the CPU reference: the same shader and code path as native Vulkan.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use edgenet_core::ErrorCode;
use edgenet_core::verify::knn_agree;
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
