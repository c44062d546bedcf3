//! Shared vector collections: what a collection is, where its vectors live, and the payloads of
//! the two tasks that use it (`vector_insert`, and `vector_search` over a shard, the wire kind
//! `shard_search`).
//!
//! ```
//! use edgenet_core::collection::{CollectionSpec, SignedCollection, shard_of};
//! use edgenet_core::kinds::vector_search::SearchMetric;
//! use edgenet_core::SecretKey;
//!
//! let owner = SecretKey::from_seed(&[7; 32]);
//! let spec = CollectionSpec::new(&owner.node_id(), "docs", 384, SearchMetric::Cosine, 4, 3);
//! let signed = SignedCollection::sign(&owner, &spec)?;
//! // Anyone can check who owns it; the id binds the owner and the name.
//! let (id, opened) = signed.open()?;
//! assert_eq!(opened, spec);
//! assert_eq!(id, spec.id());
//! // Every vector id has one shard, the same for everyone.
//! assert!(shard_of(42, spec.shards) < 4);
//! # Ok::<(), edgenet_core::collection::CollectionError>(())
//! ```
//!
//! A collection is owned by the identity that signed its [`CollectionSpec`]: only that identity
//! inserts. Its vectors are split into `shards` by [`shard_of`], and each shard is held by
//! `replicas` native nodes that the relay picks by rendezvous hashing ([`rendezvous`]) among
//! those that offer storage. Holders build the shard's HNSW index from the inserts in the order
//! they came; construction is deterministic, so honest replicas answer a search with identical
//! bytes and the submitter compares them exactly.
//!
//! A shard's state is summed up by a [`ShardState`]: vectors, insert batches, and a digest that
//! chains every batch applied (`digest' = SHA-256(tag, digest, batch)`). Two replicas with the same
//! state hold the same vectors in the same order, hence the same graph.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::error::ErrorCode;
use crate::identity::{NodeId, SecretKey, Signature};
use crate::kinds::vector_search::SearchMetric;

mod batch;
mod search;

pub use batch::*;
pub use search::*;

/// Longest collection name.
pub const MAX_NAME: usize = 64;
/// Most shards in a collection.
pub const MAX_SHARDS: u16 = 64;
/// Most replicas of a shard.
pub const MAX_REPLICAS: u8 = 7;
/// Largest dimension.
pub const MAX_DIM: u32 = 4096;
/// Most f32 values in one insert batch or one search's queries (a sealed payload fits one
/// 1 MiB frame: 200,000 × 4 bytes plus the ids).
pub const MAX_BATCH_VALUES: usize = 200_000;
/// Most vectors in one insert batch.
pub const MAX_BATCH_VECTORS: usize = 4096;
/// Largest `k` of a search.
pub const MAX_K: u32 = 1024;
/// Largest `ef` of a search.
pub const MAX_EF: u16 = 4096;
/// Largest `ef_construction`, and largest `m`: what one 4,096-vector batch costs a holder grows
/// with both (at 64 and 4,096 it was 1.5–7 CPU-s per holder, unpaid; at 48 and 800 a fifth).
pub const MAX_EF_CONSTRUCTION: u16 = 800;
/// Largest `m` (see [`MAX_EF_CONSTRUCTION`]).
pub const MAX_M: u16 = 48;
/// Most queries in one shard search (4,166 cost a holder 5.4 CPU-s).
pub const MAX_SEARCH_QUERIES: usize = 1_024;
/// Most hits one shard search may ask for (queries × k): its answer must fit one frame
/// (a hit is 12 bytes sealed; k 1,024 over many queries could not be returned).
pub const MAX_SEARCH_HITS: usize = 32_768;
/// The `ef` a search uses unless it names one (recall@10 above 0.95 on 100k × 384 clustered
/// vectors at M 16: docs/BENCHMARKS.md).
pub const DEFAULT_EF: u16 = 64;

/// What a `vector_insert` costs: the brief's 0.5 credit per 100 vectors, in micro-credits,
/// per replica that stores them.
pub const INSERT_PRICE_PER_VECTOR: u64 = 5_000;
/// What a `vector_search` costs: the brief's 1 credit per 1,000 vectors, counted as query
/// vectors, in micro-credits, per replica that answers.
pub const SEARCH_PRICE_PER_QUERY: u64 = 1_000;

/// The brief's storage fee, 0.01 credit per MB per day, in micro-credits.
pub const STORAGE_PRICE_PER_MB_DAY: u64 = 10_000;
/// What creating a collection escrows for each shard replica: a week of one MB at
/// [`STORAGE_PRICE_PER_MB_DAY`] (0.07 credit). The holders that keep the shard earn it at the
/// end of the term; what the collection stores beyond is paid with each insert, whose price
/// (0.5 credit per 100 vectors per replica) covers a stored vector's room for months.
pub const DEPOSIT_PER_SHARD_REPLICA: u64 = 7 * STORAGE_PRICE_PER_MB_DAY;

/// A collection's id: the first 16 bytes of SHA-256 over a tag, the owner and the name, so that
/// an id names one owner's collection and nobody else can claim it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CollectionId(pub [u8; 16]);

impl CollectionId {
    /// The id of `owner`'s collection `name`.
    pub fn of(owner: &NodeId, name: &str) -> Self {
        let mut h = Sha256::new();
        h.update(b"edgenet/collection-id/v1");
        h.update(owner.as_bytes());
        h.update(name.as_bytes());
        let digest: [u8; 32] = h.finalize().into();
        let mut id = [0u8; 16];
        id.copy_from_slice(&digest[..16]);
        Self(id)
    }
}

impl CollectionId {
    /// The task id its creation deposit is escrowed under: derived from the collection, so the
    /// owner, the relay and any validator name the same escrow without telling each other.
    pub fn deposit_task(&self) -> crate::task::TaskId {
        let mut h = Sha256::new();
        h.update(b"edgenet/collection-deposit/v1");
        h.update(self.0);
        let digest: [u8; 32] = h.finalize().into();
        let mut id = [0u8; 16];
        id.copy_from_slice(&digest[..16]);
        crate::task::TaskId(id)
    }
}

impl core::fmt::Display for CollectionId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&crate::radix::hex(&self.0))
    }
}

impl core::str::FromStr for CollectionId {
    type Err = CollectionError;

    /// Parses the 32-character lowercase hex form that `Display` writes.
    fn from_str(s: &str) -> Result<Self, CollectionError> {
        crate::task::hex16(s).map(Self).ok_or_else(|| {
            CollectionError::Invalid(format!("a collection id is 32 hex characters, got {s:?}"))
        })
    }
}

/// What a collection is, as its owner signs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionSpec {
    /// The owner's node id (the only identity that inserts).
    pub owner: [u8; 32],
    /// Its name, unique per owner: `a-z`, `0-9`, `-`, `_`, `.`, 1 to 64 characters.
    pub name: String,
    /// Vector dimension.
    pub dim: u32,
    /// How vectors compare.
    pub metric: SearchMetric,
    /// Shards the ids are split into.
    pub shards: u16,
    /// Holders of each shard.
    pub replicas: u8,
    /// The index's links per node (HNSW `M`).
    pub m: u16,
    /// Candidates kept while inserting.
    pub ef_construction: u16,
    /// The seed of the index's level draws.
    pub seed: u64,
}

impl CollectionSpec {
    /// A spec with the usual index parameters (M 16, ef_construction 200).
    pub fn new(
        owner: &NodeId,
        name: &str,
        dim: u32,
        metric: SearchMetric,
        shards: u16,
        replicas: u8,
    ) -> Self {
        Self {
            owner: *owner.as_bytes(),
            name: name.to_owned(),
            dim,
            metric,
            shards,
            replicas,
            m: 16,
            ef_construction: 200,
            seed: 0x00ed_9e7e,
        }
    }

    /// Its id.
    pub fn id(&self) -> CollectionId {
        match NodeId::from_bytes(&self.owner) {
            Ok(owner) => CollectionId::of(&owner, &self.name),
            // An invalid owner never passes `validate`; give it an id nobody else has.
            Err(_) => CollectionId([0; 16]),
        }
    }

    /// Checks every field against its range.
    pub fn validate(&self) -> Result<(), CollectionError> {
        let bad = |m: String| Err(CollectionError::Invalid(m));
        NodeId::from_bytes(&self.owner)
            .map_err(|e| CollectionError::Invalid(format!("owner: {e}")))?;
        let name_ok = !self.name.is_empty()
            && self.name.len() <= MAX_NAME
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b));
        if !name_ok {
            return bad(format!(
                "name {:?}: 1 to {MAX_NAME} of a-z 0-9 - _ .",
                self.name
            ));
        }
        if self.dim == 0 || self.dim > MAX_DIM {
            return bad(format!("dimension {} not in 1..={MAX_DIM}", self.dim));
        }
        if self.shards == 0 || self.shards > MAX_SHARDS {
            return bad(format!("shards {} not in 1..={MAX_SHARDS}", self.shards));
        }
        if self.replicas == 0 || self.replicas > MAX_REPLICAS {
            return bad(format!(
                "replicas {} not in 1..={MAX_REPLICAS}",
                self.replicas
            ));
        }
        if !(2..=MAX_M).contains(&self.m) {
            return bad(format!("m {} not in 2..={MAX_M}", self.m));
        }
        if self.ef_construction == 0 || self.ef_construction > MAX_EF_CONSTRUCTION {
            return bad(format!(
                "ef_construction {} not in 1..={MAX_EF_CONSTRUCTION}",
                self.ef_construction
            ));
        }
        Ok(())
    }

    /// What creating it escrows: [`DEPOSIT_PER_SHARD_REPLICA`] for each of its shard replicas.
    pub fn deposit(&self) -> u64 {
        u64::from(self.shards) * u64::from(self.replicas) * DEPOSIT_PER_SHARD_REPLICA
    }

    /// Bytes one stored vector takes on a holder (its values, its id, its links at level 0 and
    /// their share above, and the insert log's copy): what storage offers are counted in.
    pub fn bytes_per_vector(&self) -> u64 {
        let dim = u64::from(self.dim);
        let m = u64::from(self.m);
        // values twice (index and log), id twice, norm, 2m level-0 links + ~m/(m-1) above.
        8 * dim + 16 + 4 + 4 * (2 * m + 2)
    }
}

/// A spec with its owner's signature: what holders keep and relays check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedCollection {
    /// The postcard-encoded [`CollectionSpec`].
    pub spec: Vec<u8>,
    /// The owner's Ed25519 signature over a tag and `spec`.
    pub signature: Vec<u8>,
}

/// Largest encoded spec.
pub const MAX_SPEC_LEN: usize = 256;

const SPEC_TAG: &[u8] = b"edgenet/collection-spec/v1";

impl SignedCollection {
    /// Signs `spec` with its owner's key.
    pub fn sign(owner: &SecretKey, spec: &CollectionSpec) -> Result<Self, CollectionError> {
        spec.validate()?;
        if owner.node_id().as_bytes() != &spec.owner {
            return Err(CollectionError::NotOwner);
        }
        let bytes =
            postcard::to_allocvec(spec).map_err(|e| CollectionError::Invalid(e.to_string()))?;
        let signature = owner.sign(&[SPEC_TAG, &bytes].concat()).to_bytes().to_vec();
        Ok(Self {
            spec: bytes,
            signature,
        })
    }

    /// Decodes and checks the spec and its owner's signature.
    pub fn open(&self) -> Result<(CollectionId, CollectionSpec), CollectionError> {
        if self.spec.len() > MAX_SPEC_LEN {
            return Err(CollectionError::Invalid(format!(
                "spec of {} bytes (max {MAX_SPEC_LEN})",
                self.spec.len()
            )));
        }
        let spec: CollectionSpec = postcard::from_bytes(&self.spec)
            .map_err(|e| CollectionError::Invalid(format!("spec does not decode: {e}")))?;
        spec.validate()?;
        let owner = NodeId::from_bytes(&spec.owner)
            .map_err(|e| CollectionError::Invalid(format!("owner: {e}")))?;
        let signature =
            Signature::from_slice(&self.signature).map_err(|_| CollectionError::BadSignature)?;
        owner
            .verify(&[SPEC_TAG, &self.spec].concat(), &signature)
            .map_err(|_| CollectionError::BadSignature)?;
        Ok((spec.id(), spec))
    }
}

/// The shard a vector id belongs to: SplitMix64's finalizer over the id, modulo the shards.
/// Integer-only, so every platform agrees.
pub fn shard_of(id: u64, shards: u16) -> u16 {
    let mut z = id.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    (z % u64::from(shards.max(1))) as u16
}

/// A node's rendezvous score for holding `shard` of `collection`: the highest scores hold it.
/// Each (shard, node) pair scores independently, so a node joining or leaving moves only the
/// shards it wins or held.
pub fn rendezvous(collection: &CollectionId, shard: u16, node: &[u8; 32]) -> u64 {
    let mut h = Sha256::new();
    h.update(b"edgenet/rendezvous/v1");
    h.update(collection.0);
    h.update(shard.to_le_bytes());
    h.update(node);
    let digest: [u8; 32] = h.finalize().into();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(first)
}

/// A shard's state on one holder: two holders with equal states hold the same index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ShardState {
    /// Vectors held.
    pub vectors: u64,
    /// Insert batches applied.
    pub batches: u64,
    /// The chain of every batch applied, from 32 zero bytes.
    pub digest: [u8; 32],
}

impl ShardState {
    /// The state a collection view shows (vectors, batches, the digest in hex).
    pub fn from_view(vectors: u64, batches: u64, digest: &str) -> Option<Self> {
        let digest = crate::radix::from_hex(digest)?.try_into().ok()?;
        Some(Self {
            vectors,
            batches,
            digest,
        })
    }

    /// The state after applying `batch` (the encoded [`VectorInsert`]) of `vectors` vectors.
    pub fn after(&self, batch: &[u8], vectors: u64) -> Self {
        let mut h = Sha256::new();
        h.update(b"edgenet/shard-chain/v1");
        h.update(self.digest);
        h.update(batch);
        Self {
            vectors: self.vectors + vectors,
            batches: self.batches + 1,
            digest: h.finalize().into(),
        }
    }
}

pub(super) fn encode_valid<T: Serialize>(
    value: &T,
    validate: impl FnOnce(&T) -> Result<(), CollectionError>,
) -> Result<Vec<u8>, CollectionError> {
    validate(value)?;
    postcard::to_allocvec(value).map_err(|e| CollectionError::Invalid(e.to_string()))
}

pub(super) fn decode_valid<'a, T: Deserialize<'a>>(
    bytes: &'a [u8],
    what: &str,
    validate: impl FnOnce(&T) -> Result<(), CollectionError>,
) -> Result<T, CollectionError> {
    let value: T = postcard::from_bytes(bytes)
        .map_err(|e| CollectionError::Invalid(format!("{what} does not decode: {e}")))?;
    validate(&value)?;
    Ok(value)
}

/// Errors about collections.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CollectionError {
    /// A spec, id or payload breaks a rule or a limit.
    #[error("collection: {0}")]
    Invalid(String),
    /// The spec's signature does not verify against its owner.
    #[error("the collection's signature does not verify against its owner")]
    BadSignature,
    /// Someone other than the owner signs or inserts.
    #[error("only the collection's owner may do this")]
    NotOwner,
    /// Vectors refused before any is sent, with the code a holder would give.
    #[error("{1}")]
    Refused(&'static str, String),
    /// The batch's head was signed for another state of the shard than the holder's: the owner
    /// planned it from a stale state (another insert came between).
    #[error(
        "the batch was signed to follow another state of the shard than its {0} batches: \
         insert again"
    )]
    OtherState(u64),
    /// A shard state that no head signed by the collection's owner proves.
    #[error("a shard state of {0} batches without its owner's signed head")]
    Unproven(u64),
}

impl ErrorCode for CollectionError {
    fn code(&self) -> &'static str {
        match self {
            Self::Invalid(_) => "EN-190",
            Self::BadSignature => "EN-191",
            Self::NotOwner => "EN-192",
            Self::Refused(code, _) => code,
            Self::OtherState(_) => "EN-195",
            Self::Unproven(_) => "EN-196",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner() -> SecretKey {
        SecretKey::from_seed(&[9; 32])
    }

    #[test]
    fn index_parameters_are_bounded_by_what_a_holder_builds_in_time() {
        let mut spec = CollectionSpec::new(&owner().node_id(), "c", 8, SearchMetric::L2, 2, 2);
        assert!(spec.validate().is_ok());
        spec.m = MAX_M;
        spec.ef_construction = MAX_EF_CONSTRUCTION;
        assert!(spec.validate().is_ok());
        spec.m = MAX_M + 1;
        assert!(spec.validate().is_err());
        spec.m = 16;
        spec.ef_construction = MAX_EF_CONSTRUCTION + 1;
        assert!(spec.validate().is_err());
    }

    #[test]
    fn a_tampered_spec_does_not_open() {
        let spec = CollectionSpec::new(&owner().node_id(), "c", 8, SearchMetric::L2, 2, 2);
        let mut signed = SignedCollection::sign(&owner(), &spec).unwrap();
        signed.spec[40] ^= 1;
        assert!(signed.open().is_err());
    }

    #[test]
    fn only_the_owner_signs() {
        let other = SecretKey::from_seed(&[3; 32]);
        let spec = CollectionSpec::new(&owner().node_id(), "c", 8, SearchMetric::L2, 2, 2);
        assert_eq!(
            SignedCollection::sign(&other, &spec),
            Err(CollectionError::NotOwner)
        );
    }

    #[test]
    fn shards_split_ids_evenly() {
        let mut counts = [0u32; 4];
        for id in 0..40_000u64 {
            counts[usize::from(shard_of(id, 4))] += 1;
        }
        assert!(
            counts.iter().all(|&c| (9_500..10_500).contains(&c)),
            "{counts:?}"
        );
    }

    #[test]
    fn names_are_checked() {
        for name in ["", "Upper", "a b", &"x".repeat(65)] {
            let spec = CollectionSpec::new(&owner().node_id(), name, 8, SearchMetric::L2, 2, 2);
            assert!(spec.validate().is_err(), "{name:?}");
        }
    }

    #[test]
    fn inserts_are_planned_by_shard_in_order_within_the_batch_limits() {
        let collection = CollectionId([5; 16]);
        let dim = 100; // 2,000 vectors per batch (200,000 values)
        let ids: Vec<u64> = (0..9_000).map(|i| i * 7 + 3).collect();
        let vectors: Vec<f32> = ids
            .iter()
            .flat_map(|&id| (0..dim).map(move |j| (id as f32) + j as f32 / 1000.0))
            .collect();
        let plan = plan_inserts(collection, 3, dim, &ids, &vectors).unwrap();
        let mut seen = Vec::new();
        for batch in &plan {
            assert!(batch.ids.len() <= MAX_BATCH_VALUES / dim);
            batch.validate().unwrap();
            for (row, &id) in batch.ids.iter().enumerate() {
                assert_eq!(shard_of(id, 3), batch.shard);
                // Each row travels with its own vector.
                assert_eq!(batch.vectors[row * dim], id as f32);
            }
            seen.extend(batch.ids.iter().map(|&id| (batch.shard, id)));
        }
        // Every id once, and within a shard in the order given.
        let mut want: Vec<(u16, u64)> = ids.iter().map(|&id| (shard_of(id, 3), id)).collect();
        want.sort_by_key(|&(shard, _)| shard);
        assert_eq!(seen, want);

        let code = |r: Result<Vec<VectorInsert>, CollectionError>| r.unwrap_err().code();
        assert_eq!(
            code(plan_inserts(collection, 3, dim, &ids, &vectors[1..])),
            "EN-404"
        );
        let mut bad = vectors.clone();
        bad[dim * 5] = f32::NAN;
        assert_eq!(code(plan_inserts(collection, 3, dim, &ids, &bad)), "EN-401");
        let twice = [1, 2, 1];
        assert_eq!(
            code(plan_inserts(collection, 3, 1, &twice, &[0.0; 3])),
            "EN-405"
        );
        assert_eq!(code(plan_inserts(collection, 3, 1, &[], &[])), "EN-404");
    }

    #[test]
    fn merge_keeps_the_best_across_shards() {
        let a = [IdHit { id: 1, score: 0.9 }, IdHit { id: 2, score: 0.5 }];
        let b = [IdHit { id: 3, score: 0.7 }, IdHit { id: 4, score: 0.5 }];
        let ids: Vec<u64> = merge_top_k([&a[..], &b[..]], 3)
            .iter()
            .map(|h| h.id)
            .collect();
        assert_eq!(ids, [1, 3, 2]);
    }
}
