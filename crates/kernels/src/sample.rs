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
