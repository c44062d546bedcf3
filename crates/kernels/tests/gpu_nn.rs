//! The WGSL transformer kernels against the f64 reference on random shapes (feature `gpu`): on
//! lavapipe in CI, a real GPU elsewhere; skipped, saying why, only without any adapter.
#![cfg(feature = "gpu")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use std::sync::OnceLock;

use edgenet_kernels::gpu::Gpu;
use edgenet_kernels::nn::ops::QkvLayout;
use edgenet_kernels::nn::reference;
use proptest::prelude::*;

mod common;
use common::values;

fn close(got: &[f32], want: &[f32], scale: f32, what: &str) {
    common::assert_close(got, want, 3e-5, scale, what);
}

fn gpu() -> Option<&'static Gpu> {
    static GPU: OnceLock<Option<Gpu>> = OnceLock::new();
    GPU.get_or_init(|| {
        let gpu = Gpu::new();
        match &gpu {
            Some(g) => eprintln!("GPU tests on adapter: {}", g.adapter()),
            None => eprintln!(
                "SKIPPED: no GPU adapter at all (install mesa-vulkan-drivers for lavapipe)"
            ),
        }
        gpu
    })
    .as_ref()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn linear_and_gelu_match_the_reference(
        rows in 1usize..40,
        in_dim in prop_oneof![Just(1usize), Just(16), Just(17), Just(384), 1usize..100],
        out_dim in prop_oneof![Just(1usize), Just(16), Just(33), 1usize..70],
        gelu: bool,
        seed: u64,
    ) {
        let Some(gpu) = gpu() else { return Ok(()) };
        let x = values(seed, rows * in_dim);
        let w = values(seed ^ 1, out_dim * in_dim);
        let b = values(seed ^ 2, out_dim);
        let mut want = reference::linear(&x, rows, &w, out_dim, &b);
        if gelu {
            for v in &mut want {
                *v = reference::gelu(*v);
            }
        }
        let got = gpu.linear(&x, rows, &w, out_dim, &b, gelu).unwrap();
        close(&got, &want, in_dim as f32, "linear");
    }

    #[test]
    fn add_layer_norm_matches_the_reference(rows in 1usize..20, dim in 2usize..400, seed: u64, offset in -20.0f32..20.0) {
        let Some(gpu) = gpu() else { return Ok(()) };
        let x: Vec<f32> = values(seed, rows * dim).into_iter().map(|v| v + offset).collect();
        let res = values(seed ^ 3, rows * dim);
        let (gamma, beta) = (values(seed ^ 5, dim), values(seed ^ 7, dim));
        let summed: Vec<f32> = x.iter().zip(&res).map(|(a, b)| a + b).collect();
        let want = reference::layer_norm(&summed, dim, &gamma, &beta, 1e-12);
        let got = gpu.add_layer_norm(&x, &res, dim, &gamma, &beta, 1e-12).unwrap();
        close(&got, &want, 8.0, "layer norm");
    }

    #[test]
    fn attention_matches_the_reference(
        seq in 1usize..24,
        heads in 1usize..5,
        head_dim in prop_oneof![Just(1usize), Just(32), Just(64), 1usize..40],
        masked in 0usize..5,
        seed: u64,
    ) {
        let Some(gpu) = gpu() else { return Ok(()) };
        let hidden = heads * head_dim;
        let valid = seq.saturating_sub(masked).max(1);
        let (q, k, v) = (values(seed, seq * hidden), values(seed ^ 11, seq * hidden), values(seed ^ 13, seq * hidden));
        let want = reference::attention(&q, &k, &v, seq, heads, valid);
        let mut qkv = Vec::with_capacity(3 * seq * hidden);
        for t in 0..seq {
            for m in [&q, &k, &v] {
                qkv.extend_from_slice(&m[t * hidden..(t + 1) * hidden]);
            }
        }
        let layout = QkvLayout { stride: 3 * hidden, q_off: 0, k_off: hidden, v_off: 2 * hidden };
        let got = gpu.attention(&qkv, layout, seq, heads, head_dim, valid).unwrap();
        close(&got, &want, 1.0, "attention");
    }

    #[test]
    fn pooling_matches_the_reference(rows in 1usize..40, dim in 1usize..400, masked in 0usize..10, seed: u64) {
        let Some(gpu) = gpu() else { return Ok(()) };
        let x = values(seed, rows * dim);
        let valid = rows.saturating_sub(masked).max(1);
        let want = reference::l2_normalize(&reference::mean_pool(&x, dim, valid));
        let got = gpu.mean_pool_normalize(&x, dim, valid).unwrap();
        close(&got, &want, 1.0, "pooling");
    }
}

#[test]
fn bad_shapes_are_refused_not_dispatched() {
    let Some(gpu) = gpu() else { return };
    assert!(
        gpu.linear(&[1.0; 6], 2, &[1.0; 5], 2, &[0.0; 2], false)
            .is_err()
    );
    let layout = QkvLayout {
        stride: 3,
        q_off: 0,
        k_off: 1,
        v_off: 2,
    };
    assert!(
        gpu.attention(&[0.0; 3], layout, 1, 1, 65, 1).is_err(),
        "head wider than 64"
    );
    assert!(gpu.mean_pool_normalize(&[0.0; 4], 2, 3).is_err());
}
