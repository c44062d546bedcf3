//! The collection messages, carried inside [`ClientMsg::Collection`](super::ClientMsg::Collection)
//! and [`RelayMsg::Collection`](super::RelayMsg::Collection): an owner's creations, a holder's
//! storage report and shard states, shard copies between holders.

use edgenet_core::collection::{CollectionId, ShardState, SignedCollection};
use serde::{Deserialize, Serialize};

use super::*;
use crate::error::ProtoError;

/// Largest shard head (an Ed25519 signature).
pub(super) const MAX_HEAD: usize = 64;

/// Largest encoded collection message (a chunk's envelope and its framing).
pub const MAX_COLLECTION_MSG: usize = MAX_ENVELOPE + 1024;

/// What an owner or a shard holder sends the relay, inside [`ClientMsg::Collection`]
/// (`hub/storage/collections.rs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CollectionUp {
    /// Create a collection owned by the sender (answered with [`CollectionDown::Created`]).
    Create(SignedCollection),
    /// A native node offers storage for shards, and lists the shards it already holds.
    Storage {
        /// Bytes it offers in all.
        offered: u64,
        /// The shards on its disk.
        holding: Vec<Holding>,
    },
    /// A holder's shard changed (an insert applied, a copy caught up).
    ShardState {
        /// The collection.
        collection: CollectionId,
        /// The shard.
        shard: u16,
        /// Its state now.
        state: ShardState,
        /// The owner's signed head for `state` (empty for an empty shard): a relay believes no
        /// state without it (`edgenet_core::collection::head_holds`).
        proof: Vec<u8>,
    },
    /// A new holder asks its source for the shard's insert batches from `from_batch` on.
    Fetch {
        /// The collection.
        collection: CollectionId,
        /// The shard.
        shard: u16,
        /// The first batch it lacks.
        from_batch: u64,
    },
    /// A source's answer to a fetch: batches sealed to the new holder.
    Chunk {
        /// The collection.
        collection: CollectionId,
        /// The shard.
        shard: u16,
        /// The new holder.
        to: NodeKey,
        /// The sealed batches.
        envelope: Vec<u8>,
        /// Whether the source holds batches past these.
        more: bool,
    },
}

/// What the relay sends an owner or a shard holder, inside [`RelayMsg::Collection`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CollectionDown {
    /// The answer to [`CollectionUp::Create`]: `code` is `None` when it exists now.
    Created {
        /// The collection.
        collection: CollectionId,
        /// The refusal's code, if refused.
        code: Option<String>,
        /// The refusal's text, or empty.
        message: String,
    },
    /// To a native node: hold this shard; with a `source`, fetch its batches from there.
    Hold {
        /// The collection, signed by its owner.
        collection: SignedCollection,
        /// The shard.
        shard: u16,
        /// The holder to copy from.
        source: Option<PeerInfo>,
    },
    /// To a source: a new holder asks for batches from `from_batch` on; seal them to `to`.
    Fetch {
        /// The collection.
        collection: CollectionId,
        /// The shard.
        shard: u16,
        /// The first batch it lacks.
        from_batch: u64,
        /// The new holder.
        to: PeerInfo,
    },
    /// To a new holder: batches from its source.
    Chunk {
        /// The collection.
        collection: CollectionId,
        /// The shard.
        shard: u16,
        /// The source, with the exchange key it sealed with.
        from: PeerInfo,
        /// The sealed batches.
        envelope: Vec<u8>,
        /// Whether the source holds batches past these.
        more: bool,
    },
}

impl CollectionUp {
    /// Encodes, as the payload of a [`ClientMsg::Collection`].
    pub fn to_msg(&self) -> ClientMsg {
        ClientMsg::Collection(postcard::to_allocvec(self).unwrap_or_default())
    }

    /// Decodes untrusted bytes and checks every limit.
    pub fn decode(bytes: &[u8]) -> Result<Self, ProtoError> {
        let msg: Self =
            postcard::from_bytes(bytes).map_err(|e| ProtoError::Malformed(e.to_string()))?;
        match &msg {
            Self::Storage { holding, .. } => {
                check_len("holdings", holding.len(), MAX_HOLDINGS)?;
                holding.iter().try_for_each(|h| {
                    check_signed(&h.collection)?;
                    check_len("head", h.proof.len(), MAX_HEAD)
                })?;
            }
            Self::ShardState { proof, .. } => check_len("head", proof.len(), MAX_HEAD)?,
            Self::Chunk { envelope, .. } => check_len("envelope", envelope.len(), MAX_ENVELOPE)?,
            Self::Create(signed) => check_signed(signed)?,
            Self::Fetch { .. } => {}
        }
        Ok(msg)
    }
}

impl CollectionDown {
    /// Encodes, as the payload of a [`RelayMsg::Collection`].
    pub fn to_msg(&self) -> RelayMsg {
        RelayMsg::Collection(postcard::to_allocvec(self).unwrap_or_default())
    }

    /// Decodes untrusted bytes and checks every limit.
    pub fn decode(bytes: &[u8]) -> Result<Self, ProtoError> {
        let msg: Self =
            postcard::from_bytes(bytes).map_err(|e| ProtoError::Malformed(e.to_string()))?;
        match &msg {
            Self::Hold {
                collection, source, ..
            } => {
                check_signed(collection)?;
                source.iter().try_for_each(check_peer)?;
            }
            Self::Fetch { to, .. } => check_peer(to)?,
            Self::Chunk { from, envelope, .. } => {
                check_peer(from)?;
                check_len("envelope", envelope.len(), MAX_ENVELOPE)?;
            }
            Self::Created { code, message, .. } => {
                check_len("code", code.as_ref().map_or(0, String::len), 16)?;
                check_len("message", message.len(), MAX_STRING)?;
            }
        }
        Ok(msg)
    }
}
