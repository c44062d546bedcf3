//! Searches: one shard's search, a holder's answer, and the merge of several shards' hits.

use serde::{Deserialize, Serialize};

use super::*;

/// A search of one shard (wire kind `shard_search`): the submitter sends one per shard and merges.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardSearch {
    /// The collection.
    pub collection: CollectionId,
    /// The shard.
    pub shard: u16,
    /// Neighbours per query.
    pub k: u32,
    /// Candidates kept while searching (0: [`DEFAULT_EF`]).
    pub ef: u16,
    /// Row-major queries of the collection's dimension.
    pub queries: Vec<f32>,
}

impl ShardSearch {
    /// Checks the limits.
    pub fn validate(&self) -> Result<(), CollectionError> {
        if self.k == 0 || self.k > MAX_K {
            return Err(CollectionError::Invalid(format!(
                "k {} not in 1..={MAX_K}",
                self.k
            )));
        }
        if self.ef > MAX_EF {
            return Err(CollectionError::Invalid(format!(
                "ef {} above {MAX_EF}",
                self.ef
            )));
        }
        if self.queries.is_empty() || self.queries.len() > MAX_BATCH_VALUES {
            return Err(CollectionError::Invalid(format!(
                "queries hold 1 to {MAX_BATCH_VALUES} values, got {}",
                self.queries.len()
            )));
        }
        Ok(())
    }

    /// Checks the limits that need the collection's dimension: whole queries, at most
    /// [`MAX_SEARCH_QUERIES`] of them, and at most [`MAX_SEARCH_HITS`] hits asked for.
    pub fn check_size(&self, dim: usize) -> Result<usize, CollectionError> {
        let dim = dim.max(1);
        let queries = self.queries.len() / dim;
        if !self.queries.len().is_multiple_of(dim) {
            return Err(CollectionError::Invalid(format!(
                "{} query values are not whole vectors of dimension {dim}",
                self.queries.len()
            )));
        }
        let hits = queries.saturating_mul(self.k as usize);
        if queries > MAX_SEARCH_QUERIES || hits > MAX_SEARCH_HITS {
            return Err(CollectionError::Invalid(format!(
                "{queries} queries × k {} = {hits} hits; at most {MAX_SEARCH_QUERIES} queries \
                 and {MAX_SEARCH_HITS} hits",
                self.k
            )));
        }
        Ok(queries)
    }

    /// Encodes after validating.
    pub fn encode(&self) -> Result<Vec<u8>, CollectionError> {
        encode_valid(self, Self::validate)
    }

    /// Decodes untrusted bytes and validates.
    pub fn decode(bytes: &[u8]) -> Result<Self, CollectionError> {
        decode_valid(bytes, "search", Self::validate)
    }

    /// The `ef` to search with.
    pub fn ef(&self) -> usize {
        usize::from(if self.ef == 0 { DEFAULT_EF } else { self.ef })
    }
}

/// One hit of a collection search: the vector's id and its score (higher is closer).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct IdHit {
    /// The id given at insert.
    pub id: u64,
    /// Its score.
    pub score: f32,
}

/// A holder's answer to a [`ShardSearch`], or to a [`VectorInsert`] (with no hits). A request
/// the shard refuses (a wrong dimension, an id already there) is answered too, with the
/// refusal's code: every honest replica refuses alike, so the refusal is verified like a result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardAnswer {
    /// The shard's state it answered from (after the insert, for an insert).
    pub state: ShardState,
    /// Per query, its hits, best first.
    pub hits: Vec<Vec<IdHit>>,
    /// Why the request was refused (`EN-nnn` and its text); nothing changed.
    pub refused: Option<(String, String)>,
}

impl ShardAnswer {
    /// Encodes.
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_allocvec(self).unwrap_or_default()
    }

    /// Decodes untrusted bytes, bounded.
    pub fn decode(bytes: &[u8]) -> Result<Self, CollectionError> {
        let value: Self = postcard::from_bytes(bytes)
            .map_err(|e| CollectionError::Invalid(format!("answer does not decode: {e}")))?;
        let total: usize = value.hits.iter().map(Vec::len).sum();
        if value.hits.len() > MAX_BATCH_VALUES || total > MAX_BATCH_VALUES {
            return Err(CollectionError::Invalid("too many hits".into()));
        }
        if let Some((code, message)) = &value.refused
            && (code.len() > 16 || message.len() > 512)
        {
            return Err(CollectionError::Invalid("refusal text too long".into()));
        }
        Ok(value)
    }
}

/// The best `k` of several shards' hits for one query, closest first; ties by id, so every
/// submitter merges the same way.
pub fn merge_top_k<'a>(shards: impl IntoIterator<Item = &'a [IdHit]>, k: usize) -> Vec<IdHit> {
    let mut all: Vec<IdHit> = shards.into_iter().flatten().copied().collect();
    all.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
    all.truncate(k);
    all
}

#[cfg(test)]
mod size_tests {
    use super::*;

    fn search(k: u32, queries: usize, dim: usize) -> ShardSearch {
        ShardSearch {
            collection: CollectionId([1; 16]),
            shard: 0,
            k,
            ef: 0,
            queries: vec![0.5; queries * dim],
        }
    }

    #[test]
    fn a_search_is_bounded_by_its_queries_and_its_hits() {
        assert_eq!(
            search(10, MAX_SEARCH_QUERIES, 8).check_size(8).ok(),
            Some(MAX_SEARCH_QUERIES)
        );
        let too_many = search(1, MAX_SEARCH_QUERIES + 1, 8).check_size(8);
        assert_eq!(too_many.map_err(|e| e.code()), Err("EN-190"));
        // k 1,024 is allowed alone, not over 33 queries (33,792 hits).
        assert!(search(MAX_K, 32, 4).check_size(4).is_ok());
        assert!(search(MAX_K, 33, 4).check_size(4).is_err());
        // Values that are not whole vectors.
        let mut ragged = search(1, 2, 4);
        ragged.queries.pop();
        assert!(ragged.check_size(4).is_err());
    }
}
