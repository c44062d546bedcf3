//! The transformer's other kernels, in place on f32 buffers: GELU, residual + layer norm, masked
//! softmax attention, mean pooling, L2 normalization. Together they are a few percent of a
//! forward pass (the matmuls in [`super::linear`] are the rest); they are written as fixed-width
//! lane loops (8 independent accumulators) that LLVM vectorizes for the target: AVX2 natively,
//! `simd128` on wasm32. [`super::reference`] is their oracle.

// Index loops over rows, heads and lanes mirror the formulas more plainly than iterators.
#![allow(clippy::needless_range_loop)]

use super::PackedLinear;

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

/// `e^x` in f32 by range reduction (`x = n·ln2 + r`, |r| ≤ ln2/2) and a degree-6 polynomial:
/// within a few ulp of `f32::exp`, and only adds, multiplies, casts and selects, so loops over it
/// vectorize (libm's `expf` is a call per value: 14 % of a long text's time). Below −87.3 it
/// gives 0, above 88.7 the largest finite value's neighbourhood is clamped (no caller gets there:
/// softmax's inputs are ≤ 0, GELU's are negative squares).
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    // 1.5 · 2^23: adding it rounds to an integer in the low mantissa bits (no `round` call).
    const ROUND: f32 = 12_582_912.0;
    let c = x.clamp(-87.3, 88.7);
    let shifted = c * std::f32::consts::LOG2_E + ROUND;
    let n = shifted - ROUND;
    // ln 2 in two parts, so that n·ln2 is exact enough for large n.
    let r = c - n * 0.693_145_75 - n * 1.428_606_8e-6;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (0.166_666_67
                    + r * (0.041_666_668 + r * (0.008_333_452 + r * 0.001_388_89)))));
    // 2^n through the exponent bits (n is in −126..=128 after the clamp). n is read from the
    // low mantissa bits of `shifted` (ROUND's are zero there), not cast: `n as i32` saturates and
    // maps NaN to 0, which LLVM cannot vectorize, so it was a scalar conversion per lane (most of
    // GELU's and softmax's time).
    let bits = shifted.to_bits().wrapping_sub(ROUND.to_bits());
    let scale = f32::from_bits(bits.wrapping_add(127) << 23);
    if x < -87.3 { 0.0 } else { p * scale }
}

/// `erf` in f32, the same Chebyshev fit as the reference (about 1.2e-7 absolute).
#[inline(always)]
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
    let erfc = t * exp(poly);
    if x >= 0.0 { 1.0 - erfc } else { erfc - 1.0 }
}

/// Calls `$body($args…)` (an `#[inline(always)]` function) compiled for AVX-512 or AVX2 + FMA
/// when the CPU has them (checked at run time), else for the build's baseline (SSE2 natively,
/// `simd128` on wasm32): its element-wise loops then use the widest vectors there are.
macro_rules! widest {
    ($body:ident($($arg:ident: $ty:ty),*)) => {{
        #[cfg(target_arch = "x86_64")]
        {
            #[target_feature(enable = "avx512f")]
            fn avx512($($arg: $ty),*) {
                $body($($arg),*)
            }
            #[target_feature(enable = "avx2,fma")]
            fn avx2($($arg: $ty),*) {
                $body($($arg),*)
            }
            if std::arch::is_x86_feature_detected!("avx512f") {
                // SAFETY: the CPU has AVX-512F.
                #[allow(unsafe_code)]
                return unsafe { avx512($($arg),*) };
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                // SAFETY: the CPU has AVX2 and FMA.
                #[allow(unsafe_code)]
                return unsafe { avx2($($arg),*) };
            }
        }
        $body($($arg),*)
    }};
}

/// BERT's exact GELU, in place: `x · ½ · (1 + erf(x / √2))`, on the widest vectors the CPU has
/// (it was a fifth of a long text's time one value at a time, and still a tenth on SSE2).
pub fn gelu(x: &mut [f32]) {
    widest!(gelu_lanes(x: &mut [f32]))
}

/// [`gelu`] in `threads` chunks on rayon's pool (natively).
pub fn gelu_threads(x: &mut [f32], threads: usize) {
    #[cfg(not(target_arch = "wasm32"))]
    if threads > 1 && x.len() >= 1 << 15 {
        use rayon::prelude::*;
        let chunk = x.len().div_ceil(threads).next_multiple_of(16);
        x.par_chunks_mut(chunk).for_each(gelu);
        return;
    }
    let _ = threads;
    gelu(x);
}

#[inline(always)]
fn gelu_lanes(x: &mut [f32]) {
    let one = |v: f32| 0.5 * v * (1.0 + erf(v * std::f32::consts::FRAC_1_SQRT_2));
    let mut chunks = x.chunks_exact_mut(16);
    for chunk in &mut chunks {
        let lanes: &mut [f32; 16] = chunk.try_into().unwrap_or_else(|_| unreachable!());
        for v in lanes.iter_mut() {
            *v = one(*v);
        }
    }
    for v in chunks.into_remainder() {
        *v = one(*v);
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
/// `valid..seq` masked out. `out` is `seq × (heads · head_dim)`.
///
/// Per head it is two matmuls on the packed kernel ([`PackedLinear`]): scores `Q·Kᵀ` (the
/// head's keys packed as a layer's weight), a softmax over each row's first `valid` scores, and
/// `P·V` (the values, transposed, packed the same way). Token by token dot products ran at a
/// tenth of the matmul's speed and were most of a 128-token text's time.
pub fn attention(
    qkv: &[f32],
    layout: QkvLayout,
    seq: usize,
    heads: usize,
    head_dim: usize,
    valid: usize,
    out: &mut [f32],
) {
    attention_threads(qkv, layout, seq, heads, head_dim, valid, out, 1);
}

/// [`attention`] with the heads split across `threads` (rayon's pool, natively): each head's
/// output columns are its own.
#[allow(clippy::too_many_arguments)]
pub fn attention_threads(
    qkv: &[f32],
    layout: QkvLayout,
    seq: usize,
    heads: usize,
    head_dim: usize,
    valid: usize,
    out: &mut [f32],
    threads: usize,
) {
    #[cfg(not(target_arch = "wasm32"))]
    if threads > 1 && heads > 1 && seq >= 32 {
        use rayon::prelude::*;
        let hidden = heads * head_dim;
        let results: Vec<Vec<f32>> = (0..heads)
            .into_par_iter()
            .map(|h| {
                let mut o = vec![0.0f32; seq * head_dim];
                head_attention(qkv, layout, seq, head_dim, valid, h, &mut o);
                o
            })
            .collect();
        for (h, o) in results.iter().enumerate() {
            for t in 0..seq {
                out[t * hidden + h * head_dim..][..head_dim]
                    .copy_from_slice(&o[t * head_dim..(t + 1) * head_dim]);
            }
        }
        return;
    }
    let _ = threads;
    let hidden = heads * head_dim;
    let mut o = vec![0.0f32; seq * head_dim];
    for h in 0..heads {
        head_attention(qkv, layout, seq, head_dim, valid, h, &mut o);
        let col = h * head_dim;
        for t in 0..seq {
            out[t * hidden + col..][..head_dim]
                .copy_from_slice(&o[t * head_dim..(t + 1) * head_dim]);
        }
    }
}

/// One head's attention into `o` (`seq × head_dim`).
fn head_attention(
    qkv: &[f32],
    layout: QkvLayout,
    seq: usize,
    head_dim: usize,
    valid: usize,
    h: usize,
    o: &mut [f32],
) {
    let scale = 1.0 / (head_dim as f32).sqrt();
    let QkvLayout {
        stride,
        q_off,
        k_off,
        v_off,
    } = layout;
    let valid = valid.clamp(1, seq.max(1));
    let mut q = vec![0.0f32; seq * head_dim];
    let mut k = vec![0.0f32; valid * head_dim];
    let mut vt = vec![0.0f32; head_dim * valid];
    let mut scores = vec![0.0f32; seq * valid];
    let col = h * head_dim;
    for t in 0..seq {
        let row = &qkv[t * stride + q_off + col..][..head_dim];
        for (d, &v) in q[t * head_dim..(t + 1) * head_dim].iter_mut().zip(row) {
            *d = v * scale;
        }
    }
    for t in 0..valid {
        k[t * head_dim..(t + 1) * head_dim]
            .copy_from_slice(&qkv[t * stride + k_off + col..][..head_dim]);
        for c in 0..head_dim {
            vt[c * valid + t] = qkv[t * stride + v_off + col + c];
        }
    }
    // Scores: row i is q_i · k_j over the valid keys j.
    PackedLinear::without_bias(&k, valid, head_dim).forward(&q, seq, &mut scores);
    softmax_rows(&mut scores, valid);
    PackedLinear::without_bias(&vt, head_dim, valid).forward(&scores, seq, o);
}

/// Softmax of each row of `width` in place, on the widest vectors the CPU has.
fn softmax_rows(scores: &mut [f32], width: usize) {
    widest!(softmax_all(scores: &mut [f32], width: usize))
}

#[inline(always)]
fn softmax_all(scores: &mut [f32], width: usize) {
    for row in scores.chunks_exact_mut(width.max(1)) {
        softmax(row);
    }
}

/// Softmax of a row in place (max subtracted first, so no term overflows). The max and the sum
/// run in 16 independent lanes: folded one value at a time they are a dependency chain LLVM may
/// not reorder (float addition is not associative), which was a tenth of a long text's time.
#[inline(always)]
fn softmax(row: &mut [f32]) {
    const W: usize = 16;
    // Not `f32::max`: its NaN rule keeps it from vectorizing; scores are never NaN.
    let larger = |a: f32, b: f32| if a > b { a } else { b };
    let mut lanes = [f32::NEG_INFINITY; W];
    let mut chunks = row.chunks_exact(W);
    for chunk in &mut chunks {
        for l in 0..W {
            lanes[l] = larger(chunk[l], lanes[l]);
        }
    }
    for (l, &v) in chunks.remainder().iter().enumerate() {
        lanes[l] = larger(v, lanes[l]);
    }
    let max = tree(lanes, larger);
    let mut sums = [0.0f32; W];
    let mut exp_lanes = |chunk: &mut [f32; W]| {
        for l in 0..W {
            chunk[l] = exp(chunk[l] - max);
            sums[l] += chunk[l];
        }
    };
    let mut chunks = row.chunks_exact_mut(W);
    for chunk in &mut chunks {
        exp_lanes(chunk.try_into().unwrap_or_else(|_| unreachable!()));
    }
    // The last part of a row through the same vector code, padded with −∞ (e^−∞ = 0): a 127-wide
    // row's 15 leftover values one at a time cost more than its 7 full chunks.
    let rest = chunks.into_remainder();
    let mut padded = [f32::NEG_INFINITY; W];
    padded[..rest.len()].copy_from_slice(rest);
    exp_lanes(&mut padded);
    rest.copy_from_slice(&padded[..rest.len()]);
    let inv = 1.0 / tree(sums, |a, b| a + b);
    for s in row.iter_mut() {
        *s *= inv;
    }
}

/// Folds 16 lanes pairwise in 4 steps (a left-to-right fold is a chain of 15 dependent steps).
#[inline(always)]
fn tree(mut lanes: [f32; 16], f: impl Fn(f32, f32) -> f32) -> f32 {
    for width in [8, 4, 2, 1] {
        for l in 0..width {
            lanes[l] = f(lanes[l], lanes[l + width]);
        }
    }
    lanes[0]
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
