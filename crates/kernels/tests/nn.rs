//! The transformer kernels (packed SIMD linear layers, GELU, layer norm, attention, pooling)
//! against the f64 reference on random shapes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use edgenet_kernels::nn::ops::{self, QkvLayout};
use edgenet_kernels::nn::{PackedLinear, reference};
use proptest::prelude::*;

mod common;
use common::values;

fn close(got: &[f32], want: &[f32], scale: f32, what: &str) {
    common::assert_close(got, want, 2e-5, scale, what);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(120))]

    #[test]
    fn linear_matches_reference(
        rows in 1usize..11,
        in_dim in prop_oneof![Just(1usize), Just(16), Just(255), Just(256), Just(257), Just(384), 1usize..600],
        out_dim in prop_oneof![Just(1usize), Just(15), Just(16), Just(17), Just(48), 1usize..70],
        threads in 1usize..4,
        seed: u64,
    ) {
        let x = values(seed, rows * in_dim);
        let w = values(seed ^ 0x9e37, out_dim * in_dim);
        let b = values(seed ^ 0x51ed, out_dim);
        let want = reference::linear(&x, rows, &w, out_dim, &b);
        let layer = PackedLinear::new(&w, out_dim, in_dim, &b).unwrap();
        let mut got = vec![f32::NAN; rows * out_dim];
        layer.forward(&x, rows, &mut got);
        close(&got, &want, in_dim as f32, "forward");
        let mut threaded = vec![f32::NAN; rows * out_dim];
        layer.forward_threads(&x, rows, &mut threaded, threads);
        close(&threaded, &want, in_dim as f32, "forward_threads");
    }

    #[test]
    fn gelu_matches_reference(seed: u64, n in 1usize..300, spread in 0.1f32..8.0) {
        let mut x: Vec<f32> = values(seed, n).into_iter().map(|v| v * spread).collect();
        let want: Vec<f32> = x.iter().map(|&v| reference::gelu(v)).collect();
        ops::gelu(&mut x);
        close(&x, &want, spread / 4.0, "gelu");
    }

    #[test]
    fn add_layer_norm_matches_reference(seed: u64, rows in 1usize..6, dim in 1usize..400, offset in -50.0f32..50.0) {
        // An offset far from zero checks the two-pass variance (one pass loses it to cancellation).
        let mut x: Vec<f32> = values(seed, rows * dim).into_iter().map(|v| v + offset).collect();
        let res = values(seed ^ 3, rows * dim);
        let gamma = values(seed ^ 5, dim);
        let beta = values(seed ^ 7, dim);
        let summed: Vec<f32> = x.iter().zip(&res).map(|(a, b)| a + b).collect();
        let want = reference::layer_norm(&summed, dim, &gamma, &beta, 1e-12);
        ops::add_layer_norm(&mut x, &res, dim, &gamma, &beta, 1e-12);
        // A constant row normalizes to β whatever the rounding: compare with a looser bound there.
        close(&x, &want, if dim == 1 { 1.0 } else { 8.0 }, "layer_norm");
    }

    #[test]
    fn attention_matches_reference(
        seed: u64,
        seq in 1usize..20,
        heads in 1usize..5,
        head_dim in prop_oneof![Just(1usize), Just(8), Just(32), 1usize..40],
        masked in 0usize..5,
        magnitude in 0.1f32..4.0,
    ) {
        let hidden = heads * head_dim;
        let valid = seq.saturating_sub(masked).max(1);
        let q: Vec<f32> = values(seed, seq * hidden).into_iter().map(|v| v * magnitude).collect();
        let k: Vec<f32> = values(seed ^ 11, seq * hidden).into_iter().map(|v| v * magnitude).collect();
        let v = values(seed ^ 13, seq * hidden);
        let want = reference::attention(&q, &k, &v, seq, heads, valid);
        // The fast kernel reads one fused row per token: [q | k | v].
        let mut qkv = Vec::with_capacity(3 * seq * hidden);
        for t in 0..seq {
            for m in [&q, &k, &v] {
                qkv.extend_from_slice(&m[t * hidden..(t + 1) * hidden]);
            }
        }
        let layout = QkvLayout { stride: 3 * hidden, q_off: 0, k_off: hidden, v_off: 2 * hidden };
        let mut got = vec![f32::NAN; seq * hidden];
        ops::attention(&qkv, layout, seq, heads, head_dim, valid, &mut got);
        close(&got, &want, 1.0, "attention");
    }

    #[test]
    fn pooling_and_normalization_match_reference(seed: u64, rows in 1usize..40, dim in 1usize..400, masked in 0usize..10) {
        let x = values(seed, rows * dim);
        let valid = rows.saturating_sub(masked).max(1);
        let pooled = ops::mean_pool(&x, dim, valid);
        close(&pooled, &reference::mean_pool(&x, dim, valid), 1.0, "mean_pool");
        let mut unit = pooled.clone();
        ops::l2_normalize(&mut unit);
        close(&unit, &reference::l2_normalize(&pooled), 1.0, "l2_normalize");
        prop_assert!((reference::cosine(&unit, &pooled) - 1.0).abs() < 1e-5 || pooled.iter().all(|&v| v == 0.0));
    }
}

#[test]
fn erf_and_gelu_hit_known_values() {
    // erf(1) = 0.8427007929…, erf(-0.5) = -0.5204998778…; GELU(1) = 0.8413447460…
    assert!((reference::erf(1.0) - 0.842_700_792_9).abs() < 2e-7);
    assert!((reference::erf(-0.5) + 0.520_499_877_8).abs() < 2e-7);
    assert!((f64::from(reference::gelu(1.0)) - 0.841_344_746).abs() < 1e-6);
    let mut x = [1.0f32, -3.0, 0.0];
    ops::gelu(&mut x);
    assert!((x[0] - 0.841_344_7).abs() < 1e-6 && (x[1] + 0.004_049_7).abs() < 1e-6 && x[2] == 0.0);
}

#[test]
fn a_linear_layer_refuses_mismatched_shapes() {
    assert!(PackedLinear::new(&[0.0; 6], 2, 3, &[0.0; 2]).is_ok());
    assert!(PackedLinear::new(&[0.0; 5], 2, 3, &[0.0; 2]).is_err());
    assert!(PackedLinear::new(&[0.0; 6], 2, 3, &[0.0; 3]).is_err());
    assert!(PackedLinear::new(&[], 0, 3, &[]).is_err());
}

#[test]
fn the_fast_exp_is_within_a_few_ulp_of_std() {
    let mut worst = 0.0f64;
    let mut x = -87.0f32;
    while x < 88.0 {
        let (got, want) = (ops::exp(x), x.exp());
        let rel = ((f64::from(got) - f64::from(want)) / f64::from(want)).abs();
        worst = worst.max(rel);
        x += 0.0137;
    }
    assert!(
        worst < 4.0 * f64::from(f32::EPSILON),
        "relative error {worst}"
    );
    assert_eq!(ops::exp(-200.0), 0.0);
    assert!(ops::exp(88.0) > 1.6e38);
    assert_eq!(ops::exp(0.0), 1.0);
}
