//! CPU reference kernels: distances of a query batch against a database block, and top-k.
//!
//! Layout: row-major `f32` matrices; `queries` is `nq × d`, `database` is `n × d`. Scores are
//! "higher is closer" for every metric (L2 returns the negated squared distance) so that top-k is
//! one rule: highest score first, ties broken by the lower database index. That tie-break makes the
//! result deterministic, which redundant execution needs to compare workers' answers.

use edgenet_core::ErrorCode;
use thiserror::Error;

/// Similarity metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Inner product.
    Dot,
    /// Cosine similarity (zero vectors score 0).
    Cosine,
    /// Negated squared Euclidean distance.
    L2,
}

/// One search hit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Neighbor {
    /// Row index in the database.
    pub index: u32,
    /// Score (higher is closer).
    pub score: f32,
}

/// Errors from kernel inputs.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KernelError {
    /// Dimension zero, or a matrix whose length is not a multiple of the dimension.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// An input holds NaN or infinity.
    #[error("input holds a non-finite value (NaN or infinity) at {which}[{index}]")]
    NonFinite { which: &'static str, index: usize },
    /// A row's values are so large that its squared norm overflows f32 (|x| around 1e19 or more).
    #[error("{which} row {row} is too large: its squared norm overflows f32")]
    Overflow { which: &'static str, row: usize },
}

impl ErrorCode for KernelError {
    fn code(&self) -> &'static str {
        match self {
            Self::Shape(_) => "EN-400",
            Self::NonFinite { .. } => "EN-401",
            Self::Overflow { .. } => "EN-402",
        }
    }
}

/// Checks a row-major matrix's shape; returns its row count.
pub(crate) fn check_shape(
    name: &'static str,
    data: &[f32],
    dim: usize,
) -> Result<usize, KernelError> {
    if dim == 0 {
        return Err(KernelError::Shape("dimension must be at least 1".into()));
    }
    if !data.len().is_multiple_of(dim) {
        return Err(KernelError::Shape(format!(
            "{name} has {} values, not a multiple of dimension {dim}",
            data.len()
        )));
    }
    Ok(data.len() / dim)
}

/// The error for a row whose squared norm is not finite: which value, or an overflow.
pub(crate) fn bad_row(name: &'static str, data: &[f32], dim: usize, row: usize) -> KernelError {
    let values = &data[row * dim..(row + 1) * dim];
    match values.iter().position(|x| !x.is_finite()) {
        Some(i) => KernelError::NonFinite {
            which: name,
            index: row * dim + i,
        },
        None => KernelError::Overflow { which: name, row },
    }
}

/// The squared norm of each row of a row-major matrix.
pub(crate) fn squared_norms(data: &[f32], dim: usize) -> Vec<f32> {
    data.chunks_exact(dim).map(|row| dot(row, row)).collect()
}

/// Checks shape and values: every row's squared norm must be finite (which refuses NaN, infinity,
/// and values whose squares overflow). Returns the row count.
pub(crate) fn check(name: &'static str, data: &[f32], dim: usize) -> Result<usize, KernelError> {
    let rows = check_shape(name, data, dim)?;
    match data
        .chunks_exact(dim)
        .position(|row| !dot(row, row).is_finite())
    {
        Some(row) => Err(bad_row(name, data, dim, row)),
        None => Ok(rows),
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn score(metric: Metric, q: &[f32], v: &[f32]) -> f32 {
    match metric {
        Metric::Dot => dot(q, v),
        Metric::L2 => -q.iter().zip(v).map(|(x, y)| (x - y) * (x - y)).sum::<f32>(),
        Metric::Cosine => {
            let norms = (dot(q, q) * dot(v, v)).sqrt();
            if norms == 0.0 { 0.0 } else { dot(q, v) / norms }
        }
    }
}

/// Scores of every query against every database row: an `nq × n` row-major matrix.
pub fn scores(
    metric: Metric,
    queries: &[f32],
    database: &[f32],
    dim: usize,
) -> Result<Vec<f32>, KernelError> {
    let nq = check("queries", queries, dim)?;
    let n = check("database", database, dim)?;
    let mut out = Vec::with_capacity(nq * n);
    for q in queries.chunks_exact(dim) {
        out.extend(database.chunks_exact(dim).map(|v| score(metric, q, v)));
    }
    Ok(out)
}

/// The `k` best of `scores` (all of them if `k` exceeds their number), best first; equal scores
/// keep the lower index first.
pub fn top_k(scores: &[f32], k: usize) -> Vec<Neighbor> {
    let mut hits: Vec<Neighbor> = scores
        .iter()
        .enumerate()
        .map(|(i, &score)| Neighbor {
            index: i as u32,
            score,
        })
        .collect();
    hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.index.cmp(&b.index)));
    hits.truncate(k);
    hits
}

/// Batched k-nearest-neighbour search: for each query, its `k` best database rows.
pub fn knn(
    metric: Metric,
    queries: &[f32],
    database: &[f32],
    dim: usize,
    k: usize,
) -> Result<Vec<Vec<Neighbor>>, KernelError> {
    let all = scores(metric, queries, database, dim)?;
    let n = database.len() / dim;
    if n == 0 {
        return Ok(vec![Vec::new(); queries.len() / dim]);
    }
    Ok(all.chunks_exact(n).map(|row| top_k(row, k)).collect())
}
