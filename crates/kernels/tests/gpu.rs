//! The wgpu/WGSL backend against the CPU reference (feature `gpu`). Runs on whatever adapter wgpu
//! finds: Mesa's lavapipe (Vulkan on the CPU) in CI, a real GPU elsewhere. Skips, saying why, only
//! when there is no adapter at all.
#![cfg(feature = "gpu")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use edgenet_core::ErrorCode;
use edgenet_core::verify::knn_agree;
use edgenet_kernels::Metric;
use edgenet_kernels::execute::to_knn_result;
use edgenet_kernels::gpu::Gpu;
use edgenet_kernels::reference::{self, Neighbor};

fn gpu() -> Option<Gpu> {
    let gpu = Gpu::new();
    match &gpu {
        Some(g) => eprintln!("GPU tests on adapter: {}", g.adapter()),
        None => eprintln!(
            "SKIPPED: no GPU adapter at all on this machine (install mesa-vulkan-drivers for lavapipe)"
        ),
    }
    gpu
}

#[test]
fn gpu_matches_reference_on_random_inputs() {
    let Some(gpu) = gpu() else { return };
    let mut x = 0xdead_beefu32;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        ((x % 41) as f32 - 20.0) / 8.0
    };
    for (dim, n, nq, k) in [
        (1, 1, 1, 1),
        (3, 10, 2, 20),
        (5, 77, 3, 5),
        (16, 200, 4, 10),
        (17, 333, 9, 12),
        (384, 1000, 2, 10),
        (64, 5000, 16, 100),
    ] {
        let queries: Vec<f32> = (0..nq * dim).map(|_| next()).collect();
        let database: Vec<f32> = (0..n * dim).map(|_| next()).collect();
        for metric in [Metric::Dot, Metric::Cosine, Metric::L2] {
            let want = reference::knn(metric, &queries, &database, dim, k).unwrap();
            let got = gpu.knn(metric, &queries, &database, dim, k).unwrap();
            assert_eq!(
                got.iter().map(Vec::len).collect::<Vec<_>>(),
                want.iter().map(Vec::len).collect::<Vec<_>>()
            );
            assert!(
                knn_agree(&to_knn_result(got), &to_knn_result(want)),
                "{metric:?} dim {dim} n {n} nq {nq} k {k}"
            );
        }
    }
}

#[test]
fn gpu_edge_cases_and_errors() {
    let Some(gpu) = gpu() else { return };
    assert_eq!(
        gpu.knn(Metric::Dot, &[1.0, 2.0], &[], 2, 3).unwrap(),
        vec![Vec::<Neighbor>::new()]
    );
    assert_eq!(
        gpu.knn(Metric::L2, &[1.0], &[4.0], 1, 10).unwrap()[0][0].score,
        -9.0
    );
    assert_eq!(
        gpu.knn(Metric::Dot, &[f32::NAN], &[1.0], 1, 1)
            .unwrap_err()
            .code(),
        "EN-401"
    );
    assert_eq!(
        gpu.knn(Metric::Dot, &[1.0], &[1.0, f32::INFINITY], 1, 1)
            .unwrap_err()
            .code(),
        "EN-401"
    );
    assert_eq!(
        gpu.knn(Metric::Dot, &[1.0, 2.0, 3.0], &[1.0, 2.0], 2, 1)
            .unwrap_err()
            .code(),
        "EN-400"
    );
}
