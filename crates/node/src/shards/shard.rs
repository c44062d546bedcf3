//! One shard on this holder: its HNSW index, its state, and its log. The index is rebuilt from
//! the log at start (construction is deterministic, so the rebuilt index is the one that was
//! there); every batch is checked whole before anything changes, so a refused batch leaves the
//! shard as it was.

use std::collections::HashSet;
use std::path::Path;

use edgenet_core::ErrorCode;
use edgenet_core::collection::{
    CollectionError, CollectionId, CollectionSpec, IdHit, ShardAnswer, ShardSearch, ShardState,
    SignedBatch, VectorInsert, shard_of,
};
use edgenet_core::kinds::vector_search::SearchMetric;
use edgenet_kernels::Metric;
use edgenet_kernels::hnsw::{Hnsw, HnswParams};
use sha2::{Digest, Sha256};

use super::log::BatchLog;

/// A refusal: its code and text.
pub(crate) type Refusal = (String, String);

fn refusal(e: &(impl ErrorCode + std::fmt::Display)) -> Refusal {
    (e.code().to_owned(), e.to_string())
}

/// A shard held here.
pub struct Shard {
    pub(super) collection: CollectionId,
    pub(super) shard: u16,
    pub(super) spec: CollectionSpec,
    index: Hnsw,
    state: ShardState,
    /// The owner's signed head for `state` (empty for the empty shard): what proves it to the
    /// relay.
    proof: Vec<u8>,
    /// Digests of the batches applied, to answer a batch sent again (its answer was lost).
    applied: HashSet<[u8; 32]>,
    log: BatchLog,
}

impl Shard {
    /// Opens the shard's log at `path` and replays it.
    pub fn open(
        path: &Path,
        collection: CollectionId,
        spec: CollectionSpec,
        shard: u16,
    ) -> std::io::Result<Self> {
        let params = HnswParams {
            dim: spec.dim as usize,
            metric: match spec.metric {
                SearchMetric::Dot => Metric::Dot,
                SearchMetric::Cosine => Metric::Cosine,
                SearchMetric::L2 => Metric::L2,
            },
            m: usize::from(spec.m),
            ef_construction: usize::from(spec.ef_construction),
            seed: spec.seed,
        };
        let index = Hnsw::new(params).map_err(|e| std::io::Error::other(e.to_string()))?;
        let (log, records) = BatchLog::open(path)?;
        let mut s = Self {
            collection,
            shard,
            spec,
            index,
            state: ShardState::default(),
            proof: Vec::new(),
            applied: HashSet::new(),
            log,
        };
        for record in records {
            // The log holds only batches that passed these checks once; one that fails now
            // (a disk that changed under us) ends the replay rather than skipping a batch,
            // which would change every later state.
            if let Err((code, message)) = s.apply(&record, false) {
                tracing::error!(%code, %message, collection = %collection, shard,
                    "shard log replay stopped");
                break;
            }
        }
        Ok(s)
    }

    /// Its state.
    pub fn state(&self) -> ShardState {
        self.state
    }

    /// The owner's signed head for its state (empty while the shard is empty).
    pub fn proof(&self) -> Vec<u8> {
        self.proof.clone()
    }

    /// Runs an insert task's payload (a [`SignedBatch`]): applied, or refused with nothing changed.
    pub fn insert(&mut self, payload: &[u8]) -> ShardAnswer {
        let refused = self.apply(payload, true).err();
        ShardAnswer {
            state: self.state,
            hits: Vec::new(),
            refused,
        }
    }

    /// Checks a signed batch whole (its signature, its vectors, and that its head follows this
    /// shard's state), then logs it (`log`: appends and syncs) and inserts it.
    pub fn apply(&mut self, record: &[u8], log: bool) -> Result<(), Refusal> {
        let batch = SignedBatch::decode(record).map_err(|e| refusal(&e))?;
        let insert = batch.open(&self.spec.owner).map_err(|e| refusal(&e))?;
        let digest: [u8; 32] = Sha256::digest(&batch.insert).into();
        if self.applied.contains(&digest) {
            return Ok(());
        }
        self.check(&insert)?;
        // Before anything changes: the owner signed the state this batch leads to from ours.
        let after = batch
            .follow(&self.spec.owner, &insert, &self.state)
            .map_err(|e| refusal(&e))?;
        if log {
            self.log.append(record).map_err(|e| {
                (
                    "EN-194".to_owned(),
                    format!("the holder cannot write its shard log: {e}"),
                )
            })?;
        }
        let dim = self.spec.dim as usize;
        for (id, v) in insert.ids.iter().zip(insert.vectors.chunks_exact(dim)) {
            // Checked above: an id new to the shard, a vector of its dimension, finite.
            if let Err(e) = self.index.insert(*id, v) {
                tracing::error!(error = %e, "a checked insert failed");
            }
        }
        self.state = after;
        self.proof = batch.head;
        self.applied.insert(digest);
        Ok(())
    }

    fn check(&self, insert: &VectorInsert) -> Result<(), Refusal> {
        let invalid = |m: String| Err(refusal(&CollectionError::Invalid(m)));
        if insert.collection != self.collection || insert.shard != self.shard {
            return invalid(format!(
                "a batch for shard {} of {}, sent to shard {} of {}",
                insert.shard, insert.collection, self.shard, self.collection
            ));
        }
        let dim = self.spec.dim as usize;
        if insert.vectors.len() != insert.ids.len() * dim {
            let err = edgenet_kernels::hnsw::HnswError::Dimension {
                got: insert.vectors.len() / insert.ids.len().max(1),
                want: dim,
            };
            return Err(refusal(&err));
        }
        let mut seen = HashSet::with_capacity(insert.ids.len());
        for &id in &insert.ids {
            if shard_of(id, self.spec.shards) != self.shard {
                return invalid(format!("id {id} belongs to another shard"));
            }
            if !seen.insert(id) || self.index.contains(id) {
                return Err(refusal(&edgenet_kernels::hnsw::HnswError::DuplicateId(id)));
            }
        }
        if insert.vectors.iter().any(|x| !x.is_finite()) {
            return Err(refusal(&edgenet_kernels::hnsw::HnswError::NonFinite));
        }
        if self.index.len() + insert.ids.len() > edgenet_kernels::hnsw::MAX_ELEMENTS {
            return Err(refusal(&edgenet_kernels::hnsw::HnswError::Full));
        }
        Ok(())
    }

    /// Runs a search task's payload.
    pub fn search(&self, search: &ShardSearch) -> ShardAnswer {
        let dim = self.spec.dim as usize;
        let mut answer = ShardAnswer {
            state: self.state,
            hits: Vec::new(),
            refused: None,
        };
        if !search.queries.len().is_multiple_of(dim) {
            let err = edgenet_kernels::hnsw::HnswError::Dimension {
                got: search.queries.len(),
                want: dim,
            };
            answer.refused = Some(refusal(&err));
            return answer;
        }
        // Bounded by what a holder answers in time and in one frame.
        if let Err(e) = search.check_size(dim) {
            answer.refused = Some(refusal(&e));
            return answer;
        }
        for q in search.queries.chunks_exact(dim) {
            match self.index.search(q, search.k as usize, search.ef()) {
                Ok(hits) => answer.hits.push(
                    hits.into_iter()
                        .map(|h| IdHit {
                            id: h.id,
                            score: h.score,
                        })
                        .collect(),
                ),
                Err(e) => {
                    answer.hits.clear();
                    answer.refused = Some(refusal(&e));
                    return answer;
                }
            }
        }
        answer
    }

    /// Logged batches from `from` on, up to about `max_bytes`, and whether more follow.
    pub fn batches_from(
        &self,
        from: u64,
        max_bytes: usize,
    ) -> std::io::Result<(Vec<Vec<u8>>, bool)> {
        let from = usize::try_from(from).unwrap_or(usize::MAX);
        if from >= self.log.len() {
            return Ok((Vec::new(), false));
        }
        self.log.read_from(from, max_bytes)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use edgenet_core::SecretKey;
    use edgenet_core::collection::{head_holds, sign_batches};

    use super::*;

    fn insert(collection: CollectionId, ids: &[u64]) -> VectorInsert {
        VectorInsert {
            collection,
            shard: 0,
            ids: ids.to_vec(),
            vectors: ids.iter().flat_map(|&i| [i as f32, 1.0]).collect(),
        }
    }

    /// A batch applies only where its owner's head says it follows; the state it reaches is
    /// proven by that head, and a restart replays the log to the same state and proof.
    #[test]
    fn a_batch_applies_only_after_the_state_its_owner_signed_it_to_follow() {
        let dir = tempfile::tempdir().unwrap();
        let owner = SecretKey::from_seed(&[4; 32]);
        let spec = CollectionSpec::new(&owner.node_id(), "c", 2, SearchMetric::L2, 1, 1);
        let id = spec.id();
        let path = dir.path().join("shard-0.log");
        let mut shard = Shard::open(&path, id, spec.clone(), 0).unwrap();
        let (first, second) = (insert(id, &[1, 2]), insert(id, &[3]));
        let mut states = vec![ShardState::default()];
        let signed = sign_batches(&owner, &[first.clone(), second], &mut states).unwrap();

        // The second batch first: it was signed to follow the first, so it is refused whole.
        let out = shard.insert(&signed[1].encode());
        assert_eq!(out.refused.unwrap().0, "EN-195");
        assert_eq!(shard.state(), ShardState::default());
        // The same vectors signed from another state (a stale plan) are refused too.
        let stale = ShardState::default().after(b"elsewhere", 1);
        let (other, _) = SignedBatch::sign(&owner, &first, &stale).unwrap();
        assert_eq!(shard.insert(&other.encode()).refused.unwrap().0, "EN-195");

        for batch in &signed {
            assert!(shard.insert(&batch.encode()).refused.is_none());
        }
        assert_eq!(shard.state(), states[0]);
        assert!(head_holds(
            &spec.owner,
            id,
            0,
            &shard.state(),
            &shard.proof()
        ));
        // A batch sent again is answered with the state, not applied twice.
        assert!(shard.insert(&signed[0].encode()).refused.is_none());
        assert_eq!(shard.state(), states[0]);

        let (state, proof) = (shard.state(), shard.proof());
        drop(shard);
        let again = Shard::open(&path, id, spec, 0).unwrap();
        assert_eq!((again.state(), again.proof()), (state, proof));
    }
}
