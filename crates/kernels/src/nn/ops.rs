//! The transformer's other kernels, in place on f32 buffers: GELU, residual + layer norm, masked
//! softmax attention, mean pooling, L2 normalization. Together they are a few percent of a
//! forward pass (the matmuls in [`super::linear`] are the rest); they are written as fixed-width
//! lane loops (8 independent accumulators) that LLVM vectorizes for the target: AVX2 natively,
//! `simd128` on wasm32. [`super::reference`] is their oracle.

// Index loops over rows, heads and lanes mirror the formulas more plainly than iterators.
#![allow(clippy::needless_range_loop)]

/// Lanes of the vectorizable loops.
const LANES: usize = 8;

/// Dot product with 8 independent accumulators (vectorizes; no float-order dependency chain).
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let mut acc = [0.0f32; LANES];
    let chunks = n / LANES;
    for c in 0..chunks {
        for l in 0..LANES {
            acc[l] += a[c * LANES + l] * b[c * LANES + l];
        }
    }
    let mut sum: f32 = acc.iter().sum();
    for i in chunks * LANES..n {
        sum += a[i] * b[i];
    }
    sum
}

/// `erf` in f32, the same Chebyshev fit as the reference (about 1.2e-7 absolute).
fn erf(x: f32) -> f32 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_2
        + t * (1.000_023_7
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_204
                                + t * (1.488_515_9 + t * (-0.822_152_25 + t * 0.170_872_77))))))));
    let erfc = t * poly.exp();
    if x >= 0.0 { 1.0 - erfc } else { erfc - 1.0 }
}

/// BERT's exact GELU, in place: `x · ½ · (1 + erf(x / √2))`.
pub fn gelu(x: &mut [f32]) {
    for v in x {
        *v = 0.5 * *v * (1.0 + erf(*v * std::f32::consts::FRAC_1_SQRT_2));
    }
}

/// `x = LayerNorm(x + residual)` over rows of `dim`, in place (a post-norm transformer block's
/// "add & norm").
pub fn add_layer_norm(
    x: &mut [f32],
    residual: &[f32],
    dim: usize,
    gamma: &[f32],
    beta: &[f32],
    eps: f32,
) {
    for (row, res) in x.chunks_exact_mut(dim).zip(residual.chunks_exact(dim)) {
        for (v, r) in row.iter_mut().zip(res) {
            *v += r;
        }
    }
    layer_norm(x, dim, gamma, beta, eps);
}

/// Layer normalization of each row of `dim`, in place (two passes: mean, then variance about it,
/// which keeps the precision the reference has).
pub fn layer_norm(x: &mut [f32], dim: usize, gamma: &[f32], beta: &[f32], eps: f32) {
    for row in x.chunks_exact_mut(dim) {
        let mean = lane_sum(row, |v| v) / dim as f32;
        let var = lane_sum(row, |v| (v - mean) * (v - mean)) / dim as f32;
        let inv = 1.0 / (var + eps).sqrt();
        for i in 0..dim {
            row[i] = (row[i] - mean) * inv * gamma[i] + beta[i];
        }
    }
}

fn lane_sum(row: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    let mut acc = [0.0f32; LANES];
    let chunks = row.len() / LANES;
    for c in 0..chunks {
        for l in 0..LANES {
            acc[l] += f(row[c * LANES + l]);
        }
    }
    acc.iter().sum::<f32>() + row[chunks * LANES..].iter().map(|&v| f(v)).sum::<f32>()
}

/// Where one sequence's queries, keys and values are: rows of `stride` floats, with the query,
/// key and value of token `t` at `t·stride + q_off`, `+ k_off`, `+ v_off` (a fused QKV layer's
/// output has all three in one row).
#[derive(Debug, Clone, Copy)]
pub struct QkvLayout {
    /// Floats per token row.
    pub stride: usize,
    /// Offset of the query in a row.
    pub q_off: usize,
    /// Offset of the key.
    pub k_off: usize,
    /// Offset of the value.
    pub v_off: usize,
}

/// Multi-head scaled dot-product attention over one sequence of `seq` tokens, keys at positions
/// `valid..seq` masked out. `out` is `seq × (heads · head_dim)`; `scores` is scratch of at least
/// `seq` floats.
#[allow(clippy::too_many_arguments)]
pub fn attention(
    qkv: &[f32],
    layout: QkvLayout,
    seq: usize,
    heads: usize,
    head_dim: usize,
    valid: usize,
    out: &mut [f32],
    scores: &mut [f32],
) {
    let hidden = heads * head_dim;
    let scale = 1.0 / (head_dim as f32).sqrt();
    let QkvLayout {
        stride,
        q_off,
        k_off,
        v_off,
    } = layout;
    for h in 0..heads {
        let col = h * head_dim;
        for i in 0..seq {
            let q = &qkv[i * stride + q_off + col..][..head_dim];
            let mut max = f32::NEG_INFINITY;
            for j in 0..valid {
                let k = &qkv[j * stride + k_off + col..][..head_dim];
                let s = dot(q, k) * scale;
                scores[j] = s;
                max = max.max(s);
            }
            let mut total = 0.0;
            for s in &mut scores[..valid] {
                *s = (*s - max).exp();
                total += *s;
            }
            let o = &mut out[i * hidden + col..][..head_dim];
            o.fill(0.0);
            for j in 0..valid {
                let w = scores[j] / total;
                let v = &qkv[j * stride + v_off + col..][..head_dim];
                for c in 0..head_dim {
                    o[c] += w * v[c];
                }
            }
        }
    }
}

/// The mean of the first `valid` rows of `x` (`rows × dim`), accumulated in f64 (pooling sums up
/// to 256 rows; f64 keeps it order-independent to well below the tolerance).
pub fn mean_pool(x: &[f32], dim: usize, valid: usize) -> Vec<f32> {
    let mut sum = vec![0.0f64; dim];
    for row in x.chunks_exact(dim).take(valid) {
        for (s, &v) in sum.iter_mut().zip(row) {
            *s += f64::from(v);
        }
    }
    let n = valid.max(1) as f64;
    sum.into_iter().map(|s| (s / n) as f32).collect()
}

/// Scales `v` to unit length in place (`v / max(‖v‖, 1e-12)`, as PyTorch's `F.normalize`).
pub fn l2_normalize(v: &mut [f32]) {
    let norm = v
        .iter()
        .map(|&x| f64::from(x) * f64::from(x))
        .sum::<f64>()
        .sqrt()
        .max(1e-12);
    for x in v {
        *x = (f64::from(*x) / norm) as f32;
    }
}
