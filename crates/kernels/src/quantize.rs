//! Quantized search with rescoring (the brief's "adaptive quantization"): vectors are stored as int8
//! codes (4× smaller) or sign bits (32× smaller), an approximate scan over the codes picks
//! `candidates` rows per query, and those are rescored exactly against the full-precision rows.
//! With `candidates >= n` the result equals the exact search; with a few times k it recovers
//! nearly all of it at a fraction of the bytes read.
//!
//! Inner-product search only (cosine is inner product on normalized rows).

use crate::reference::{KernelError, Neighbor, check};
use crate::topk::TopK;

/// int8 codes with one scale per row: `row ≈ scale * code`.
#[derive(Debug, Clone)]
pub struct Int8Codes {
    dim: usize,
    codes: Vec<i8>,
    scales: Vec<f32>,
}

/// Sign bits, `dim` bits per row packed into u64 words.
#[derive(Debug, Clone)]
pub struct BinaryCodes {
    dim: usize,
    words: usize,
    bits: Vec<u64>,
}

/// Quantizes each row to int8 with a per-row scale (max |x| maps to 127).
pub fn int8(database: &[f32], dim: usize) -> Result<Int8Codes, KernelError> {
    check("database", database, dim)?;
    let mut codes = Vec::with_capacity(database.len());
    let mut scales = Vec::with_capacity(database.len() / dim.max(1));
    for row in database.chunks_exact(dim) {
        let max = row.iter().fold(0f32, |m, x| m.max(x.abs()));
        let scale = if max == 0.0 { 1.0 } else { max / 127.0 };
        codes.extend(
            row.iter()
                .map(|x| (x / scale).round().clamp(-127.0, 127.0) as i8),
        );
        scales.push(scale);
    }
    Ok(Int8Codes { dim, codes, scales })
}

/// Quantizes each row to its sign bits.
pub fn binary(database: &[f32], dim: usize) -> Result<BinaryCodes, KernelError> {
    check("database", database, dim)?;
    let words = dim.div_ceil(64);
    let mut bits = Vec::with_capacity(database.len() / dim.max(1) * words);
    for row in database.chunks_exact(dim) {
        bits.extend(pack_signs(row, words));
    }
    Ok(BinaryCodes { dim, words, bits })
}

fn pack_signs(row: &[f32], words: usize) -> Vec<u64> {
    let mut out = vec![0u64; words];
    for (i, x) in row.iter().enumerate() {
        if *x > 0.0 {
            out[i / 64] |= 1 << (i % 64);
        }
    }
    out
}

impl Int8Codes {
    /// Codes made elsewhere (the GPU quantizer): `codes.len() == scales.len() * dim`.
    #[cfg(feature = "gpu")]
    pub(crate) fn from_parts(dim: usize, codes: Vec<i8>, scales: Vec<f32>) -> Self {
        Self { dim, codes, scales }
    }

    /// The codes, row-major.
    pub fn codes(&self) -> &[i8] {
        &self.codes
    }

    /// One scale per row.
    pub fn scales(&self) -> &[f32] {
        &self.scales
    }

    /// Bytes the codes occupy (codes plus scales).
    pub fn bytes(&self) -> usize {
        self.codes.len() + self.scales.len() * 4
    }

    /// Top-k inner-product search: approximate over the codes, exact over `candidates` rows of
    /// `database` (the rows the codes were made from).
    pub fn search(
        &self,
        queries: &[f32],
        database: &[f32],
        k: usize,
        candidates: usize,
    ) -> Result<Vec<Vec<Neighbor>>, KernelError> {
        check("queries", queries, self.dim)?;
        let approx = |q: &[f32]| {
            let mut top = TopK::new(candidates.max(k));
            for (r, (code, scale)) in self
                .codes
                .chunks_exact(self.dim)
                .zip(&self.scales)
                .enumerate()
            {
                let dot: f32 = q.iter().zip(code).map(|(a, &c)| a * f32::from(c)).sum();
                top.push(r as u32, dot * scale);
            }
            top.into_sorted()
        };
        Ok(rescore(queries, database, self.dim, k, approx))
    }
}

impl BinaryCodes {
    /// Bits made elsewhere (the GPU quantizer): `dim.div_ceil(64)` words per row.
    #[cfg(feature = "gpu")]
    pub(crate) fn from_parts(dim: usize, bits: Vec<u64>) -> Self {
        Self {
            dim,
            words: dim.div_ceil(64),
            bits,
        }
    }

    /// The sign bits, `dim.div_ceil(64)` words per row.
    pub fn bits(&self) -> &[u64] {
        &self.bits
    }

    /// Bytes the codes occupy.
    pub fn bytes(&self) -> usize {
        self.bits.len() * 8
    }

    /// Top-k inner-product search: candidates by Hamming distance between sign bits, then exact.
    pub fn search(
        &self,
        queries: &[f32],
        database: &[f32],
        k: usize,
        candidates: usize,
    ) -> Result<Vec<Vec<Neighbor>>, KernelError> {
        check("queries", queries, self.dim)?;
        let approx = |q: &[f32]| {
            let qbits = pack_signs(q, self.words);
            let mut top = TopK::new(candidates.max(k));
            for (r, row) in self.bits.chunks_exact(self.words).enumerate() {
                let hamming: u32 = row
                    .iter()
                    .zip(&qbits)
                    .map(|(a, b)| (a ^ b).count_ones())
                    .sum();
                top.push(r as u32, -(hamming as f32));
            }
            top.into_sorted()
        };
        Ok(rescore(queries, database, self.dim, k, approx))
    }
}

/// For each query: approximate candidates, then exact inner products, best k.
fn rescore(
    queries: &[f32],
    database: &[f32],
    dim: usize,
    k: usize,
    approx: impl Fn(&[f32]) -> Vec<Neighbor>,
) -> Vec<Vec<Neighbor>> {
    queries
        .chunks_exact(dim)
        .map(|q| {
            let mut top = TopK::new(k);
            for c in approx(q) {
                let row = &database[c.index as usize * dim..(c.index as usize + 1) * dim];
                top.push(c.index, q.iter().zip(row).map(|(a, b)| a * b).sum());
            }
            top.into_sorted()
        })
        .collect()
}
