//! Helpers the transformer-kernel tests share (CPU in `nn.rs`, WGSL in `gpu_nn.rs`).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

/// Deterministic values in [-1, 1) from a seed (xorshift).
pub(crate) fn values(seed: u64, n: usize) -> Vec<f32> {
    let mut state = seed | 1;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// Each value within `tol · max(1, scale)` of the reference (`scale`: the magnitude of the terms
/// that were summed).
pub(crate) fn assert_close(got: &[f32], want: &[f32], tol: f32, scale: f32, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * scale.max(1.0),
            "{what}[{i}]: got {g}, want {w} (scale {scale})"
        );
    }
}
