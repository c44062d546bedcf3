//! Reproducible sample vectors for benchmarks and the start-up micro-benchmark (xorshift32,
//! uniform in [-0.5, 0.5)). Not for anything that needs unpredictability.

/// `count` values from `seed` (a zero seed is replaced, xorshift has no zero state).
pub fn uniform(count: usize, seed: u32) -> Vec<f32> {
    let mut x = seed.max(1);
    (0..count)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        })
        .collect()
}

/// FNV-1a over bytes: a dependency-free fingerprint that native and browser tests compare against
/// the same committed constant (not for security).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// [`fnv1a`] of the encoded result of [`compression_fixture`] per mode, committed: the native test
/// (`tests/execute.rs`) and the browser test (`crates/wasm/tests/kernels.rs`) both check them, so
/// the two platforms produce identical bytes.
pub const COMPRESSION_FINGERPRINTS: [(edgenet_core::task::Quantization, u64); 2] = [
    (
        edgenet_core::task::Quantization::Int8,
        0x854d_421c_6874_65f1,
    ),
    (
        edgenet_core::task::Quantization::Binary,
        0xbb16_592f_d237_935d,
    ),
];

/// The `compression` payload whose results' fingerprints are committed in the native and browser
/// tests: 300 rows of dim 37 (not a multiple of 8 or 64), values of both signs, some exactly 0.
pub fn compression_fixture(
    mode: edgenet_core::task::Quantization,
) -> edgenet_core::task::Compression {
    let mut vectors = uniform(300 * 37, 0xc0ff_ee11);
    for v in vectors.iter_mut().step_by(13) {
        *v = 0.0;
    }
    edgenet_core::task::Compression {
        mode,
        dim: 37,
        vectors,
    }
}
