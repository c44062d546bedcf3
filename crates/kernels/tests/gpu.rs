//! The wgpu/WGSL backend against the CPU reference (feature `gpu`). Runs on whatever adapter wgpu
//! finds: Mesa's lavapipe (Vulkan on the CPU) in CI, a real GPU elsewhere. Skips, saying why, only
//! when there is no adapter at all.
#![cfg(feature = "gpu")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use edgenet_core::ErrorCode;
use edgenet_core::kinds::vector_search::knn_agree;
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

fn xorshift(seed: u32) -> impl FnMut() -> u32 {
    let mut x = seed;
    move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    }
}

#[test]
fn gpu_top_k_equals_reference_exactly_with_ties() {
    let Some(gpu) = gpu() else { return };
    let mut next = xorshift(7);
    // Few distinct values: many ties, which must break by lower index like the reference.
    for (n, k) in [
        (1, 1),
        (5, 10),
        (2047, 3),
        (2048, 1024),
        (2049, 1024),
        (10_000, 10),
        (70_000, 1000),
        (3000, 1500),
    ] {
        let scores: Vec<f32> = (0..n).map(|_| (next() % 50) as f32 - 25.0).collect();
        let want = reference::top_k(&scores, k);
        let got = gpu.top_k(&scores, k).unwrap();
        assert_eq!(got, want, "n {n} k {k}");
    }
    assert!(gpu.top_k(&[], 3).unwrap().is_empty());
    // Infinities and signed zeros order like f32::total_cmp.
    let odd = [0.0, -0.0, f32::INFINITY, f32::NEG_INFINITY, 1.0, -0.0];
    assert_eq!(gpu.top_k(&odd, 6).unwrap(), reference::top_k(&odd, 6));
}

#[test]
fn gpu_search_on_uploaded_matrix_in_many_chunks() {
    let Some(mut gpu) = gpu() else { return };
    // 64 KiB bindings: a 2000 x 37 database in several chunks, 40 queries in several passes.
    gpu.limit_binding_bytes(64 * 1024);
    let (n, dim, nq, k) = (2000, 37, 40, 25);
    let database = edgenet_kernels::sample::uniform(n * dim, 5);
    let queries = edgenet_kernels::sample::uniform(nq * dim, 6);
    let matrix = gpu.upload(&database, dim).unwrap();
    assert_eq!((matrix.rows(), matrix.dim()), (n, dim));
    for metric in [Metric::Dot, Metric::Cosine, Metric::L2] {
        let want = reference::knn(metric, &queries, &database, dim, k).unwrap();
        for _ in 0..2 {
            let got = gpu.search(&matrix, metric, &queries, k).unwrap();
            assert!(
                knn_agree(&to_knn_result(got), &to_knn_result(want.clone())),
                "{metric:?}"
            );
        }
    }
    // k beyond the device's selection limit is selected on the host, same answer.
    let want = reference::knn(Metric::Dot, &queries[..dim], &database, dim, 1500).unwrap();
    let got = gpu
        .search(&matrix, Metric::Dot, &queries[..dim], 1500)
        .unwrap();
    assert!(knn_agree(&to_knn_result(got), &to_knn_result(want)));
}

#[test]
fn gpu_quantizers_match_cpu() {
    let Some(gpu) = gpu() else { return };
    let mut next = xorshift(99);
    for (n, dim) in [(1, 1), (3, 5), (70, 37), (257, 64), (100, 130)] {
        let mut data: Vec<f32> = (0..n * dim)
            .map(|_| (next() % 2001) as f32 / 100.0 - 10.0)
            .collect();
        data[0] = 0.0; // zeros: no sign bit, code 0
        if n > 2 {
            data[2 * dim..3 * dim].fill(0.0); // an all-zero row: scale 1
        }
        let cpu = edgenet_kernels::quantize::binary(&data, dim).unwrap();
        let dev = gpu.binary(&data, dim).unwrap();
        assert_eq!(dev.bits(), cpu.bits(), "binary n {n} dim {dim}");

        let cpu = edgenet_kernels::quantize::int8(&data, dim).unwrap();
        let dev = gpu.int8(&data, dim).unwrap();
        for (a, b) in dev.scales().iter().zip(cpu.scales()) {
            assert!((a - b).abs() <= b.abs() * 1e-6, "scale {a} vs {b}");
        }
        // WGSL division is exact to 2.5 ULP: a code may differ by one next to a half step.
        let off = dev
            .codes()
            .iter()
            .zip(cpu.codes())
            .filter(|(a, b)| a != b)
            .count();
        assert!(
            dev.codes()
                .iter()
                .zip(cpu.codes())
                .all(|(a, b)| (i16::from(*a) - i16::from(*b)).abs() <= 1)
        );
        assert!(
            off * 100 <= cpu.codes().len(),
            "{off} of {} codes differ",
            cpu.codes().len()
        );
        assert_eq!(dev.codes().len(), n * dim);
    }
    assert_eq!(gpu.int8(&[1.0, f32::NAN], 2).unwrap_err().code(), "EN-401");
}
