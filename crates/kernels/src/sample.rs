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

/// `n` vectors of `dim` around 20 random centres, each spread along 8 random directions: like
/// real embeddings, which fill few of their dimensions (uniform noise in every dimension would
/// make all distances alike, and no index could tell neighbours apart).
pub fn clustered(n: usize, dim: usize, seed: u32) -> Vec<f32> {
    const CENTRES: usize = 20;
    const SPREAD: usize = 8;
    let centres = uniform(CENTRES * dim, seed);
    let directions = uniform(SPREAD * dim, seed ^ 0xd1d1);
    let weights = uniform(n * SPREAD, seed ^ 0x5eed);
    let noise = uniform(n * dim, seed ^ 0x7a17);
    let mut out = Vec::with_capacity(n * dim);
    for row in 0..n {
        let c = (row * 7919) % CENTRES;
        for d in 0..dim {
            let along: f32 = (0..SPREAD)
                .map(|s| weights[row * SPREAD + s] * directions[s * dim + d])
                .sum();
            out.push(2.0 * centres[c * dim + d] + along + 0.02 * noise[row * dim + d]);
        }
    }
    out
}

/// The index whose encoding is pinned by [`HNSW_FINGERPRINT`]: 1,500 cosine vectors of dim 24
/// from [`clustered`], m 8, ef_construction 64, the default seed, ids 0, 1, 2, …
pub fn hnsw_fixture() -> crate::hnsw::Hnsw {
    let dim = 24;
    let params = crate::hnsw::HnswParams {
        dim,
        metric: crate::Metric::Cosine,
        m: 8,
        ef_construction: 64,
        ..crate::hnsw::HnswParams::default()
    };
    let mut index = crate::hnsw::Hnsw::new(params).unwrap_or_else(|e| unreachable!("{e}"));
    for (i, v) in clustered(1_500, dim, 3).chunks_exact(dim).enumerate() {
        index
            .insert(i as u64, v)
            .unwrap_or_else(|e| unreachable!("{e}"));
    }
    index
}

/// The length and [`fnv1a`] of [`hnsw_fixture`]'s encoding, committed: the native test
/// (`tests/hnsw.rs`) and the browser test (`crates/wasm/tests/kernels.rs`) both check them, so
/// every platform builds the same graph from the same inserts.
pub const HNSW_FINGERPRINT: (usize, u64) = (219_433, 0x82fb_12d9_f5f3_320c);
