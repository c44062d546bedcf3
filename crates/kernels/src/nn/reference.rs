//! The oracle for the transformer kernels: plain loops that accumulate in f64, written to be read,
//! not to be fast. [`super::linear`] and [`super::ops`] are tested against these on random shapes.
//!
//! Layouts are row-major. A linear layer's weight is `out × in` (PyTorch's `nn.Linear`), so
//! `y = x · Wᵀ + b`; a sequence of `seq` tokens of width `hidden` is `seq × hidden`, with head `h`
//! of an attention layer in columns `h·d .. (h+1)·d`.

// Index loops mirror the formulas more plainly than iterator chains here.
#![allow(clippy::needless_range_loop)]

/// `x · Wᵀ + b` for `x` of `rows × in_dim` and `weight` of `out_dim × in_dim`.
pub fn linear(x: &[f32], rows: usize, weight: &[f32], out_dim: usize, bias: &[f32]) -> Vec<f32> {
    let in_dim = weight.len() / out_dim.max(1);
    let mut out = vec![0.0; rows * out_dim];
    for r in 0..rows {
        for o in 0..out_dim {
            let mut sum = f64::from(bias[o]);
            for i in 0..in_dim {
                sum += f64::from(x[r * in_dim + i]) * f64::from(weight[o * in_dim + i]);
            }
            out[r * out_dim + o] = sum as f32;
        }
    }
    out
}

/// The error function, to about 1.2e-7 (Numerical Recipes' `erfc` Chebyshev fit), in f64.
pub fn erf(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let erfc = t * poly.exp();
    if x >= 0.0 { 1.0 - erfc } else { erfc - 1.0 }
}

/// BERT's GELU, the exact (erf) form: `x · ½ · (1 + erf(x / √2))`.
pub fn gelu(x: f32) -> f32 {
    let x = f64::from(x);
    (0.5 * x * (1.0 + erf(x / std::f64::consts::SQRT_2))) as f32
}

/// Layer normalization of each `dim`-wide row: `(x − mean) / √(var + eps) · γ + β`, with the
/// biased variance (PyTorch's).
pub fn layer_norm(x: &[f32], dim: usize, gamma: &[f32], beta: &[f32], eps: f32) -> Vec<f32> {
    let mut out = Vec::with_capacity(x.len());
    for row in x.chunks_exact(dim) {
        let mean = row.iter().map(|&v| f64::from(v)).sum::<f64>() / dim as f64;
        let var = row
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / dim as f64;
        let inv = 1.0 / (var + f64::from(eps)).sqrt();
        for (i, &v) in row.iter().enumerate() {
            out.push(
                ((f64::from(v) - mean) * inv * f64::from(gamma[i]) + f64::from(beta[i])) as f32,
            );
        }
    }
    out
}

/// Multi-head scaled dot-product attention over one sequence, with the keys at positions
/// `valid..seq` masked out (padding). `q`, `k`, `v` are `seq × hidden`, `hidden = heads · d`;
/// the result is `seq × hidden`.
pub fn attention(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    seq: usize,
    heads: usize,
    valid: usize,
) -> Vec<f32> {
    let hidden = q.len() / seq.max(1);
    let d = hidden / heads;
    let scale = 1.0 / (d as f64).sqrt();
    let mut out = vec![0.0; seq * hidden];
    for h in 0..heads {
        for i in 0..seq {
            let scores: Vec<f64> = (0..valid)
                .map(|j| {
                    (0..d)
                        .map(|c| {
                            f64::from(q[i * hidden + h * d + c])
                                * f64::from(k[j * hidden + h * d + c])
                        })
                        .sum::<f64>()
                        * scale
                })
                .collect();
            let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let weights: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
            let total: f64 = weights.iter().sum();
            for c in 0..d {
                let sum: f64 = (0..valid)
                    .map(|j| weights[j] * f64::from(v[j * hidden + h * d + c]))
                    .sum();
                out[i * hidden + h * d + c] = (sum / total) as f32;
            }
        }
    }
    out
}

/// The mean of the first `valid` rows of `x` (`seq × dim`): sentence-transformers' mean pooling
/// under the attention mask.
pub fn mean_pool(x: &[f32], dim: usize, valid: usize) -> Vec<f32> {
    (0..dim)
        .map(|c| {
            let sum: f64 = (0..valid).map(|r| f64::from(x[r * dim + c])).sum();
            (sum / valid.max(1) as f64) as f32
        })
        .collect()
}

/// `v / max(‖v‖, 1e-12)` (PyTorch's `F.normalize`, which sentence-transformers' Normalize uses).
pub fn l2_normalize(v: &[f32]) -> Vec<f32> {
    let norm = v
        .iter()
        .map(|&x| f64::from(x).powi(2))
        .sum::<f64>()
        .sqrt()
        .max(1e-12);
    v.iter().map(|&x| (f64::from(x) / norm) as f32).collect()
}

/// Cosine similarity in f64 (0 when either vector is zero).
pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| f64::from(x) * f64::from(y))
        .sum();
    let na: f64 = a.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}
