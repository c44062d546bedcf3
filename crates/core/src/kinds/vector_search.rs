//! `vector_search`: batched k-nearest-neighbour search of queries against a database sent with
//! the task. Results are compared with tolerance: workers on different hardware (WASM SIMD, AVX2,
//! a GPU) sum floats in different orders.

use serde::{Deserialize, Serialize};

use super::codec::{TaskError, decode_checked, encode_checked, from_bytes};
use super::{KindError, KindInfo, KindRules, Needs, PayloadRules, Price, TaskKind};

impl TaskKind {
    /// `vector_search`.
    pub const VECTOR_SEARCH: Self = Self::from_wire(0);
}

/// The registry's entry.
pub const INFO: KindInfo = KindInfo {
    kind: TaskKind::VECTOR_SEARCH,
    name: "vector_search",
    needs: Needs::Kernels,
    exact: false,
    canary_rank: None,
};

/// The kind's rules (both halves), listed by the registry.
pub struct Rules;

impl KindRules for Rules {
    fn kind(&self) -> TaskKind {
        TaskKind::VECTOR_SEARCH
    }

    fn agree(&self, a: &[u8], b: &[u8]) -> bool {
        match (KnnResult::decode(a), KnnResult::decode(b)) {
            (Ok(a), Ok(b)) => knn_agree(&a, &b),
            _ => false,
        }
    }
}

impl PayloadRules for Rules {
    fn price(&self) -> Price {
        // The brief: 1 credit per 1,000 vectors (queries and database rows sent).
        Price {
            micro_credits: 1_000_000,
            per: 1_000,
            unit: "vector",
        }
    }

    fn check_payload(&self, payload: &[u8]) -> Result<(), KindError> {
        VectorSearch::decode(payload)
            .map(drop)
            .map_err(KindError::of)
    }

    fn units(&self, payload: &[u8]) -> Result<u64, KindError> {
        let t = VectorSearch::decode(payload).map_err(KindError::of)?;
        Ok(((t.queries.len() + t.database.len()) / t.dim as usize) as u64)
    }

    fn fuzz(&self, data: &[u8]) {
        let _ = VectorSearch::decode(data);
        let _ = KnnResult::decode(data);
    }

    #[cfg(feature = "faults")]
    fn lie(&self, result: &[u8], lie: super::Lie) -> Result<Vec<u8>, KindError> {
        let mut knn = KnnResult::decode(result).map_err(KindError::of)?;
        super::lie_about_hits(&mut knn.hits, lie);
        Ok(knn.encode())
    }
}

/// Similarity metric of a search (mirrors the kernels' metric; core does not depend on kernels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SearchMetric {
    /// Inner product.
    Dot,
    /// Cosine similarity.
    Cosine,
    /// Negated squared Euclidean distance.
    L2,
}

impl SearchMetric {
    /// The metric named `"dot"`, `"cosine"` or `"l2"`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "dot" => Some(Self::Dot),
            "cosine" => Some(Self::Cosine),
            "l2" => Some(Self::L2),
            _ => None,
        }
    }
}

/// Limits on a `vector_search` payload (a sealed payload must fit one 1 MiB frame).
pub mod limits {
    /// Largest dimension.
    pub const MAX_DIM: u32 = 4096;
    /// Largest k.
    pub const MAX_K: u32 = 1024;
    /// Largest number of f32 values (queries + database) in one payload.
    pub const MAX_VALUES: usize = 240_000;
}

/// A `vector_search` task: `queries` (nq × dim) against `database` (n × dim), row-major.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VectorSearch {
    /// Similarity metric.
    pub metric: SearchMetric,
    /// Vector dimension.
    pub dim: u32,
    /// Neighbours per query.
    pub k: u32,
    /// Query vectors.
    pub queries: Vec<f32>,
    /// Database vectors.
    pub database: Vec<f32>,
}

/// One hit: database row and score (higher is closer).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    /// Database row.
    pub index: u32,
    /// Score.
    pub score: f32,
}

/// The result of a `vector_search`: per query, its hits, best first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KnnResult {
    /// Hits per query.
    pub hits: Vec<Vec<Hit>>,
}

impl VectorSearch {
    /// Checks shapes and limits (finite values are the kernels' check).
    pub fn validate(&self) -> Result<(), TaskError> {
        let bad = |m: String| Err(TaskError::OutOfBounds(m));
        if self.dim == 0 || self.dim > limits::MAX_DIM {
            return bad(format!("dim {} not in 1..={}", self.dim, limits::MAX_DIM));
        }
        if self.k == 0 || self.k > limits::MAX_K {
            return bad(format!("k {} not in 1..={}", self.k, limits::MAX_K));
        }
        let dim = self.dim as usize;
        if self.queries.is_empty()
            || !self.queries.len().is_multiple_of(dim)
            || !self.database.len().is_multiple_of(dim)
        {
            return bad(
                "queries and database must be non-empty multiples of dim (database may be empty)"
                    .into(),
            );
        }
        if self.queries.len() + self.database.len() > limits::MAX_VALUES {
            return bad(format!("more than {} values", limits::MAX_VALUES));
        }
        Ok(())
    }

    /// Encodes after validating.
    pub fn encode(&self) -> Result<Vec<u8>, TaskError> {
        encode_checked(self, Self::validate)
    }

    /// Decodes untrusted bytes and validates.
    pub fn decode(bytes: &[u8]) -> Result<Self, TaskError> {
        decode_checked(bytes, Self::validate)
    }

    /// Number of queries.
    pub fn query_count(&self) -> usize {
        self.queries.len() / self.dim.max(1) as usize
    }
}

impl KnnResult {
    /// Encodes the result.
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_allocvec(self).unwrap_or_default()
    }

    /// Decodes untrusted bytes, bounded by the limits.
    pub fn decode(bytes: &[u8]) -> Result<Self, TaskError> {
        let result: Self = from_bytes(bytes)?;
        let total: usize = result.hits.iter().map(Vec::len).sum();
        if result.hits.len() > limits::MAX_VALUES || total > limits::MAX_VALUES {
            return Err(TaskError::OutOfBounds("too many hits".into()));
        }
        Ok(result)
    }
}

/// Relative tolerance for scores: |a − b| ≤ EPS · max(1, |a|, |b|).
pub const SCORE_EPSILON: f32 = 1e-3;

fn close(a: f32, b: f32) -> bool {
    (a - b).abs() <= SCORE_EPSILON * 1f32.max(a.abs()).max(b.abs())
}

/// Whether two k-NN results agree within tolerance: the same number of hits per query; scores
/// equal within a relative epsilon; ids equal, except that ids may differ (or swap) among hits
/// whose scores are within epsilon of each other, since a near-tie can fall either way.
pub fn knn_agree(a: &KnnResult, b: &KnnResult) -> bool {
    a.hits.len() == b.hits.len()
        && a.hits
            .iter()
            .zip(&b.hits)
            .all(|(qa, qb)| hits_agree(qa, qb))
}

/// Whether two ranked hit lists agree within tolerance ([`knn_agree`]'s rule for one query).
pub fn hits_agree(qa: &[Hit], qb: &[Hit]) -> bool {
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
}
