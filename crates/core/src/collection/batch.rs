//! Inserts: a batch of vectors for one shard, signed by the collection's owner, and the plan that
//! splits a page's or a node's vectors into such batches.

use serde::{Deserialize, Serialize};

use crate::identity::{NodeId, SecretKey, Signature};

use super::*;

/// A `vector_insert` task: vectors for one shard, sent sealed to each of its holders. Every id
/// must belong to `shard` ([`shard_of`]) and be new to it, or the whole batch is refused and
/// nothing changes (EN-405 for an id already there; a batch applied before, resent after a lost
/// answer, is recognized by its digest and answered with the current state).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VectorInsert {
    /// The collection.
    pub collection: CollectionId,
    /// The shard.
    pub shard: u16,
    /// The vectors' ids.
    pub ids: Vec<u64>,
    /// Row-major, `ids.len()` rows of the collection's dimension.
    pub vectors: Vec<f32>,
}

impl VectorInsert {
    /// Checks the limits (the dimension is the holder's check, against the spec).
    pub fn validate(&self) -> Result<(), CollectionError> {
        let n = self.ids.len();
        if n == 0 || n > MAX_BATCH_VECTORS || self.vectors.len() > MAX_BATCH_VALUES {
            return Err(CollectionError::Invalid(format!(
                "a batch holds 1 to {MAX_BATCH_VECTORS} vectors and at most \
                 {MAX_BATCH_VALUES} values, got {n} and {}",
                self.vectors.len()
            )));
        }
        if !self.vectors.len().is_multiple_of(n) {
            return Err(CollectionError::Invalid(format!(
                "{} values do not split into {n} vectors",
                self.vectors.len()
            )));
        }
        Ok(())
    }

    /// Encodes after validating.
    pub fn encode(&self) -> Result<Vec<u8>, CollectionError> {
        encode_valid(self, Self::validate)
    }

    /// Decodes untrusted bytes and validates.
    pub fn decode(bytes: &[u8]) -> Result<Self, CollectionError> {
        decode_valid(bytes, "insert", Self::validate)
    }
}

/// A [`VectorInsert`] signed by the collection's owner: what an insert task carries and what
/// holders log and copy to each other, so that no holder can make up vectors for another. With
/// it comes the shard's *head* after it: the owner's signature over the state the shard has
/// once this batch follows the state the owner planned it from ([`sign_head`]). A holder applies
/// a batch only if that head holds for its own state, keeps the last head, and shows it with
/// every state it reports: a relay believes no state its owner did not sign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedBatch {
    /// The encoded [`VectorInsert`].
    pub insert: Vec<u8>,
    /// The owner's Ed25519 signature over a tag and `insert`.
    pub signature: Vec<u8>,
    /// The owner's signed head of the shard after this batch.
    pub head: Vec<u8>,
}

const BATCH_TAG: &[u8] = b"edgenet/collection-batch/v1";
const HEAD_TAG: &[u8] = b"edgenet/shard-head/v1";

/// What an owner signs for a shard's state.
fn head_message(collection: CollectionId, shard: u16, state: &ShardState) -> Vec<u8> {
    [
        HEAD_TAG,
        &collection.0,
        &shard.to_le_bytes(),
        &state.vectors.to_le_bytes(),
        &state.batches.to_le_bytes(),
        &state.digest,
    ]
    .concat()
}

/// The owner's signed head for `state` of a shard: the proof a holder shows for that state.
pub fn sign_head(
    owner: &SecretKey,
    collection: CollectionId,
    shard: u16,
    state: &ShardState,
) -> Vec<u8> {
    owner
        .sign(&head_message(collection, shard, state))
        .to_bytes()
        .to_vec()
}

/// Whether `proof` is `owner`'s signed head for `state` of the shard (an empty shard needs none).
pub fn head_holds(
    owner: &[u8; 32],
    collection: CollectionId,
    shard: u16,
    state: &ShardState,
    proof: &[u8],
) -> bool {
    if *state == ShardState::default() {
        return true;
    }
    let (Ok(owner), Ok(signature)) = (NodeId::from_bytes(owner), Signature::from_slice(proof))
    else {
        return false;
    };
    owner
        .verify(&head_message(collection, shard, state), &signature)
        .is_ok()
}

/// Largest encoded batch (its values, ids and framing).
pub const MAX_BATCH_LEN: usize = MAX_BATCH_VALUES * 4 + MAX_BATCH_VECTORS * 10 + 64;

impl SignedBatch {
    /// Signs `insert` with the owner's key, to follow the shard's state `before`; returns the
    /// batch and the shard's state after it (what the next batch of the shard follows).
    pub fn sign(
        owner: &SecretKey,
        insert: &VectorInsert,
        before: &ShardState,
    ) -> Result<(Self, ShardState), CollectionError> {
        let bytes = insert.encode()?;
        let signature = owner
            .sign(&[BATCH_TAG, &bytes].concat())
            .to_bytes()
            .to_vec();
        let after = before.after(&bytes, insert.ids.len() as u64);
        let head = sign_head(owner, insert.collection, insert.shard, &after);
        Ok((
            Self {
                insert: bytes,
                signature,
                head,
            },
            after,
        ))
    }

    /// Encodes.
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_allocvec(self).unwrap_or_default()
    }

    /// Decodes untrusted bytes (the signature is checked by [`SignedBatch::open`]).
    pub fn decode(bytes: &[u8]) -> Result<Self, CollectionError> {
        let value: Self = postcard::from_bytes(bytes)
            .map_err(|e| CollectionError::Invalid(format!("batch does not decode: {e}")))?;
        if value.insert.len() > MAX_BATCH_LEN
            || value.signature.len() != 64
            || value.head.len() != 64
        {
            return Err(CollectionError::Invalid(format!(
                "a batch of {} bytes (max {MAX_BATCH_LEN}) with a {}-byte signature and a \
                 {}-byte head",
                value.insert.len(),
                value.signature.len(),
                value.head.len()
            )));
        }
        Ok(value)
    }

    /// Checks the owner's signature and decodes the insert.
    pub fn open(&self, owner: &[u8; 32]) -> Result<VectorInsert, CollectionError> {
        let owner = NodeId::from_bytes(owner).map_err(|_| CollectionError::BadSignature)?;
        let signature =
            Signature::from_slice(&self.signature).map_err(|_| CollectionError::BadSignature)?;
        owner
            .verify(&[BATCH_TAG, &self.insert].concat(), &signature)
            .map_err(|_| CollectionError::NotOwner)?;
        VectorInsert::decode(&self.insert)
    }

    /// The shard's state once this batch (`insert`, opened) follows `before`, if its head says
    /// the owner signed that state (EN-195 otherwise: it was planned from another state).
    pub fn follow(
        &self,
        owner: &[u8; 32],
        insert: &VectorInsert,
        before: &ShardState,
    ) -> Result<ShardState, CollectionError> {
        let after = before.after(&self.insert, insert.ids.len() as u64);
        if head_holds(owner, insert.collection, insert.shard, &after, &self.head) {
            Ok(after)
        } else {
            Err(CollectionError::OtherState(before.batches))
        }
    }
}

/// Signs planned batches in order, each to follow the one before it in its shard and the first
/// of a shard to follow `states[shard]` (the shard's state now, as its holders agree: the relay's
/// view shows it); `states` ends as each shard's state after them.
pub fn sign_batches(
    owner: &SecretKey,
    batches: &[VectorInsert],
    states: &mut [ShardState],
) -> Result<Vec<SignedBatch>, CollectionError> {
    batches
        .iter()
        .map(|insert| {
            let state = states.get_mut(usize::from(insert.shard)).ok_or_else(|| {
                CollectionError::Invalid(format!("no state for shard {}", insert.shard))
            })?;
            let (signed, after) = SignedBatch::sign(owner, insert, state)?;
            *state = after;
            Ok(signed)
        })
        .collect()
}

/// An owner's inserts cut into batches: each id to its shard ([`shard_of`]), ids in the order
/// given within a shard, each batch as large as one payload allows. Checked whole first, so that
/// a batch is refused by its holders only for what only they know (an id already stored): the
/// values are whole vectors of `dim` (EN-404), finite (EN-401), and no id comes twice (EN-405).
pub fn plan_inserts(
    collection: CollectionId,
    shards: u16,
    dim: usize,
    ids: &[u64],
    vectors: &[f32],
) -> Result<Vec<VectorInsert>, CollectionError> {
    if ids.is_empty() || dim == 0 || vectors.len() != ids.len() * dim {
        return Err(CollectionError::Refused(
            "EN-404",
            format!(
                "{} ids and {} values: the collection's vectors have {dim} values each",
                ids.len(),
                vectors.len()
            ),
        ));
    }
    if let Some(at) = vectors.iter().position(|x| !x.is_finite()) {
        return Err(CollectionError::Refused(
            "EN-401",
            format!("vector {} holds NaN or infinity", at / dim),
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for &id in ids {
        if !seen.insert(id) {
            return Err(CollectionError::Refused(
                "EN-405",
                format!("id {id} is given twice"),
            ));
        }
    }
    let mut by_shard: Vec<Vec<usize>> = vec![Vec::new(); usize::from(shards.max(1))];
    for (row, &id) in ids.iter().enumerate() {
        by_shard[usize::from(shard_of(id, shards))].push(row);
    }
    let per_batch = (MAX_BATCH_VALUES / dim).clamp(1, MAX_BATCH_VECTORS);
    let mut batches = Vec::new();
    for (shard, rows) in by_shard.iter().enumerate() {
        for chunk in rows.chunks(per_batch) {
            batches.push(VectorInsert {
                collection,
                shard: shard as u16,
                ids: chunk.iter().map(|&r| ids[r]).collect(),
                vectors: chunk
                    .iter()
                    .flat_map(|&r| vectors[r * dim..(r + 1) * dim].iter().copied())
                    .collect(),
            });
        }
    }
    Ok(batches)
}
