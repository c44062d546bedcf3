//! A hierarchical navigable small-world graph (Malkov & Yashunin, 2016): approximate k-NN over a
//! growing set of vectors, for collections too large to scan per query.
//!
//! ```
//! use edgenet_kernels::hnsw::{Hnsw, HnswParams};
//! use edgenet_kernels::Metric;
//!
//! let mut index = Hnsw::new(HnswParams { dim: 2, metric: Metric::L2, ..HnswParams::default() })?;
//! for (id, v) in [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [5.0, 5.0]].iter().enumerate() {
//!     index.insert(id as u64, v)?;
//! }
//! let hits = index.search(&[4.0, 4.5], 1, 16)?;
//! assert_eq!(hits[0].id, 3);
//! // Saved and loaded, it is the same index.
//! assert_eq!(Hnsw::decode(&index.encode())?, index);
//! # Ok::<(), edgenet_kernels::hnsw::HnswError>(())
//! ```
//!
//! **Deterministic.** Replicas of a shard must return identical answers, so that verification
//! compares them exactly. The same inserts in the same order with the same seed give the same
//! graph, byte for byte, on every platform: levels come from an integer generator seeded by the
//! index's seed and the insert's position (no floating-point logarithm, whose last bit differs
//! between math libraries); every score is one dot product whose partial sums run in a fixed
//! order with one rounding per operation (`distance.rs`: Rust never fuses a multiply and an
//! add, nor reorders float sums), so x86-64, ARM and wasm32 compute the same bits; and every
//! ordering of candidates breaks ties by node number. Inserts are single-threaded for the same
//! reason. `crates/wasm/tests/kernels.rs` builds the pinned index in Chromium and compares.
//!
//! **Scores**, as everywhere in the kernels: higher is closer. Cosine vectors are normalized on
//! insert (and queries on search), so every metric is one dot product per visit; L2 is the
//! negated squared distance.

mod codec;
mod distance;
mod graph;
mod links;

pub use codec::MAX_ENCODED_LEN;

use edgenet_core::ErrorCode;
use thiserror::Error;

use crate::reference::Metric;

/// Largest dimension an index takes.
pub const MAX_DIM: usize = 4_096;
/// Largest `m` (links per node above level 0; twice that at level 0).
pub const MAX_M: usize = 64;
/// Most vectors in one index (a shard; a collection has several).
pub const MAX_ELEMENTS: usize = 4_000_000;
/// Highest level a node may have (with `m` ≥ 2 a level above 16 has odds below 2⁻¹⁶).
pub const MAX_LEVEL: u8 = 16;
/// Largest `ef` (candidates kept while searching or building).
pub const MAX_EF: usize = 4_096;

/// How an index is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HnswParams {
    /// Vector dimension.
    pub dim: usize,
    /// How vectors are compared.
    pub metric: Metric,
    /// Links per node above level 0 (2m at level 0); 16 as in hnswlib's examples.
    pub m: usize,
    /// Candidates kept while inserting; 200 as in hnswlib's examples.
    pub ef_construction: usize,
    /// Seed of the level generator.
    pub seed: u64,
}

impl Default for HnswParams {
    fn default() -> Self {
        Self {
            dim: 0,
            metric: Metric::Cosine,
            m: 16,
            ef_construction: 200,
            seed: 0x00ed_9e7e,
        }
    }
}

/// Errors from building, searching, or loading an index.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HnswError {
    /// Parameters out of range.
    #[error("index parameters: {0}")]
    Params(String),
    /// A vector of the wrong length.
    #[error("a vector of dimension {got} for an index of dimension {want}")]
    Dimension {
        /// Its length.
        got: usize,
        /// The index's.
        want: usize,
    },
    /// A vector with NaN, infinity, or a squared norm that overflows.
    #[error("a vector holds a non-finite value, or its squared norm overflows")]
    NonFinite,
    /// The id is in the index already.
    #[error("id {0} is in the index already")]
    DuplicateId(u64),
    /// The index holds [`MAX_ELEMENTS`] vectors.
    #[error("the index is full ({MAX_ELEMENTS} vectors)")]
    Full,
    /// Saved bytes that are not an index this build wrote.
    #[error("not a saved index: {0}")]
    Corrupt(String),
}

impl ErrorCode for HnswError {
    fn code(&self) -> &'static str {
        match self {
            Self::Params(_) => "EN-403",
            Self::Dimension { .. } => "EN-404",
            Self::NonFinite => "EN-401",
            Self::DuplicateId(_) => "EN-405",
            Self::Full => "EN-406",
            Self::Corrupt(_) => "EN-407",
        }
    }
}

/// One search hit: the id given at insert, and its score (higher is closer).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    /// The vector's id.
    pub id: u64,
    /// Its score against the query.
    pub score: f32,
}

/// The index: vectors, their ids, and the layered graph over them.
#[derive(Debug, Clone, PartialEq)]
pub struct Hnsw {
    params: HnswParams,
    /// Row-major, `dim` per node (normalized for cosine).
    vectors: Vec<f32>,
    /// Squared norms, for L2.
    norms: Vec<f32>,
    ids: Vec<u64>,
    /// Node by id, to refuse duplicates.
    by_id: std::collections::HashMap<u64, u32>,
    /// Links of each node at each of its levels.
    links: links::Links,
    /// The node searches start from, on the top level.
    entry: Option<u32>,
}

impl Hnsw {
    /// An empty index.
    pub fn new(params: HnswParams) -> Result<Self, HnswError> {
        if params.dim == 0 || params.dim > MAX_DIM {
            return Err(HnswError::Params(format!(
                "dimension {} not in 1..={MAX_DIM}",
                params.dim
            )));
        }
        if params.m < 2 || params.m > MAX_M {
            return Err(HnswError::Params(format!(
                "m {} not in 2..={MAX_M}",
                params.m
            )));
        }
        if params.ef_construction == 0 || params.ef_construction > MAX_EF {
            return Err(HnswError::Params(format!(
                "ef_construction {} not in 1..={MAX_EF}",
                params.ef_construction
            )));
        }
        Ok(Self {
            params,
            vectors: Vec::new(),
            norms: Vec::new(),
            ids: Vec::new(),
            by_id: std::collections::HashMap::new(),
            links: links::Links::new(params.m),
            entry: None,
        })
    }

    /// How it was built.
    pub fn params(&self) -> HnswParams {
        self.params
    }

    /// Vectors held.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Whether `id` is in the index.
    pub fn contains(&self, id: u64) -> bool {
        self.by_id.contains_key(&id)
    }

    /// Adds `vector` under `id` (ids are the caller's; a second insert of one is refused).
    pub fn insert(&mut self, id: u64, vector: &[f32]) -> Result<(), HnswError> {
        if self.by_id.contains_key(&id) {
            return Err(HnswError::DuplicateId(id));
        }
        if self.len() >= MAX_ELEMENTS {
            return Err(HnswError::Full);
        }
        let v = self.prepare(vector)?;
        let node = u32::try_from(self.len()).map_err(|_| HnswError::Full)?;
        let level = graph::level_of(self.params.seed, node, self.params.m);
        self.norms.push(distance::dot(&v, &v));
        self.vectors.extend_from_slice(&v);
        self.ids.push(id);
        self.by_id.insert(id, node);
        self.links.add_node(usize::from(level));
        self.link(node, level);
        Ok(())
    }

    /// The `k` nearest of the index to `query`, closest first, keeping `ef` candidates (at
    /// least `k`; more is slower and finds more of the true neighbours).
    pub fn search(&self, query: &[f32], k: usize, ef: usize) -> Result<Vec<Hit>, HnswError> {
        if ef > MAX_EF {
            return Err(HnswError::Params(format!("ef {ef} above {MAX_EF}")));
        }
        let q = self.prepare(query)?;
        let found = self.knn(&q, k, ef.max(k));
        Ok(found
            .into_iter()
            .map(|(score, node)| Hit {
                id: self.ids[node as usize],
                score,
            })
            .collect())
    }

    /// Checks a vector and puts it in the index's form (normalized for cosine).
    fn prepare(&self, vector: &[f32]) -> Result<Vec<f32>, HnswError> {
        if vector.len() != self.params.dim {
            return Err(HnswError::Dimension {
                got: vector.len(),
                want: self.params.dim,
            });
        }
        let norm = distance::dot(vector, vector);
        if !norm.is_finite() || vector.iter().any(|x| !x.is_finite()) {
            return Err(HnswError::NonFinite);
        }
        Ok(match self.params.metric {
            Metric::Cosine if norm > 0.0 => {
                let scale = 1.0 / norm.sqrt();
                vector.iter().map(|x| x * scale).collect()
            }
            _ => vector.to_vec(),
        })
    }

    fn row(&self, node: u32) -> &[f32] {
        let d = self.params.dim;
        let start = node as usize * d;
        &self.vectors[start..start + d]
    }

    /// The score of `node` against a prepared query with squared norm `q_norm`.
    fn score(&self, q: &[f32], q_norm: f32, node: u32) -> f32 {
        let dot = distance::dot(q, self.row(node));
        match self.params.metric {
            Metric::Dot | Metric::Cosine => dot,
            Metric::L2 => -(q_norm + self.norms[node as usize] - 2.0 * dot).max(0.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_geometric_with_ratio_one_over_m() {
        let m = 16;
        let above: usize = (0..100_000u32)
            .filter(|&n| graph::level_of(7, n, m) > 0)
            .count();
        // 1/16 of 100k = 6,250; allow a generous spread.
        assert!((5_800..6_700).contains(&above), "{above}");
    }
}
