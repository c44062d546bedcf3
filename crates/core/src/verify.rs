//! Comparing redundant results and finding the majority.
//!
//! Workers on different hardware (WASM SIMD, AVX2, a GPU) sum floats in different orders, so
//! results are compared with tolerance, per task kind:
//! - encryption: byte-for-byte equality (the result is deterministic);
//! - k-NN: the same number of hits per query; scores equal within a relative epsilon; ids equal,
//!   except that ids may differ (or swap) among hits whose scores are within epsilon of each other,
//!   since a near-tie can fall either way.
//! - embeddings: the same shape, and every pair of vectors at cosine ≥ [`EMBEDDING_MIN_COSINE`];
//! - semantic matches: the k-NN rule over the one ranked list (scores are cosines, so the epsilon
//!   is absolute: 1e-3).
//!
//! [`majority`] groups results by agreement with the first result of each group (a result joins the
//! first group it agrees with), and a group wins only with a strict majority of all results.

use crate::task::{CompressedVectors, Embeddings, KnnResult, Matches, TaskKind};

/// Relative tolerance for scores: |a − b| ≤ EPS · max(1, |a|, |b|).
pub const SCORE_EPSILON: f32 = 1e-3;

fn close(a: f32, b: f32) -> bool {
    (a - b).abs() <= SCORE_EPSILON * 1f32.max(a.abs()).max(b.abs())
}

/// Whether two k-NN results agree within tolerance.
pub fn knn_agree(a: &KnnResult, b: &KnnResult) -> bool {
    if a.hits.len() != b.hits.len() {
        return false;
    }
    a.hits.iter().zip(&b.hits).all(|(qa, qb)| {
        if qa.len() != qb.len() {
            return false;
        }
        if !qa.iter().zip(qb).all(|(x, y)| close(x.score, y.score)) {
            return false;
        }
        // Position by position the ids must match, unless the hit is part of a near-tie: its id
        // appears in the other list with a close score (a swap inside a tie), or its score ties with
        // the other list's last score (a tie at the cut-off, where either candidate is right).
        let cutoff = qb.last().map(|h| h.score);
        qa.iter().zip(qb).all(|(x, y)| {
            x.index == y.index
                || qb
                    .iter()
                    .any(|z| z.index == x.index && close(z.score, x.score))
                || cutoff.is_some_and(|s| close(x.score, s))
        })
    })
}

/// The cosine two honest workers' embeddings of one text reach at least (τ).
///
/// Measured (docs/testing.md): the SIMD CPU path, on one thread or two, one text at a time or
/// batched, against sentence-transformers on torch: worst cosine 0.9999999 over the 213 texts of
/// the reference fixture; between our own backends the spread is smaller still. A perturbation an
/// adversary might try to pass off (noise at cosine 0.99 or 0.98, another model, a truncated
/// text) is far below τ, and τ leaves 500× the measured spread for backends not yet measured.
pub const EMBEDDING_MIN_COSINE: f64 = 0.9995;

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let (mut dot, mut na, mut nb) = (0f64, 0f64, 0f64);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (f64::from(x), f64::from(y));
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na == 0.0 || nb == 0.0 {
        // Two zero vectors are the same answer; a zero and a non-zero are not.
        return if na == nb { 1.0 } else { 0.0 };
    }
    dot / (na.sqrt() * nb.sqrt())
}

/// Whether two embedding results agree: same shape, every row at cosine ≥ τ.
pub fn embeddings_agree(a: &Embeddings, b: &Embeddings) -> bool {
    a.dim == b.dim
        && a.vectors.len() == b.vectors.len()
        && (0..a.rows()).all(|i| cosine(a.row(i), b.row(i)) >= EMBEDDING_MIN_COSINE)
}

/// Whether two semantic-match results agree: the k-NN rule over the one ranked list.
pub fn matches_agree(a: &Matches, b: &Matches) -> bool {
    knn_agree(
        &KnnResult {
            hits: vec![a.matches.clone()],
        },
        &KnnResult {
            hits: vec![b.matches.clone()],
        },
    )
}

/// The outcome of comparing redundant results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Majority {
    /// Indices (into the input) of the results that agree with the winning result.
    pub agreeing: Vec<usize>,
    /// Indices of the results that do not.
    pub outvoted: Vec<usize>,
}

/// Finds the result a strict majority agrees with, using `agree` as the comparison. `None` when no
/// group has more than half of the results.
pub fn majority<T>(results: &[T], agree: impl Fn(&T, &T) -> bool) -> Option<Majority> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (i, r) in results.iter().enumerate() {
        match groups.iter_mut().find(|g| agree(&results[g[0]], r)) {
            Some(group) => group.push(i),
            None => groups.push(vec![i]),
        }
    }
    let winner = groups.iter().max_by_key(|g| g.len())?;
    if winner.len() * 2 <= results.len() {
        return None;
    }
    let outvoted = (0..results.len()).filter(|i| !winner.contains(i)).collect();
    Some(Majority {
        agreeing: winner.clone(),
        outvoted,
    })
}

/// Whether two encoded results of a task of `kind` agree. A result that does not decode agrees
/// with nothing.
pub fn results_agree(kind: TaskKind, a: &[u8], b: &[u8]) -> bool {
    match kind {
        TaskKind::VectorSearch => match (KnnResult::decode(a), KnnResult::decode(b)) {
            (Ok(a), Ok(b)) => knn_agree(&a, &b),
            _ => false,
        },
        // Deterministic: honest workers return identical bytes (a compression's codes come from
        // IEEE division and rounding only, so they are the same on every platform).
        TaskKind::Encryption => a == b,
        // A shard's index is built deterministically: replicas in the same state answer with
        // the same bytes (`collection`). The bytes are compared, not decoded: the submitter
        // decodes the winner, and a page's protocol module then carries no collection decoder.
        TaskKind::VectorInsert | TaskKind::ShardSearch => a == b,
        TaskKind::Compression => a == b && CompressedVectors::decode(a).is_ok(),
        TaskKind::Embedding => match (Embeddings::decode(a), Embeddings::decode(b)) {
            (Ok(a), Ok(b)) => embeddings_agree(&a, &b),
            _ => false,
        },
        TaskKind::SemanticMatch => match (Matches::decode(a), Matches::decode(b)) {
            (Ok(a), Ok(b)) => matches_agree(&a, &b),
            _ => false,
        },
    }
}
