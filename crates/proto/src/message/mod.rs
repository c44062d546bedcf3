//! Messages: one postcard-encoded enum per direction, inside a [`crate::Frame`].
//!
//! Byte strings that carry keys and signatures are `Vec<u8>` on the wire (serde has no arrays above
//! 32) and their lengths are checked by [`ClientMsg::decode`]/[`RelayMsg::decode`], together with
//! every string and list limit, before anything else looks at them.

use edgenet_core::collection::{CollectionId, ShardState, SignedCollection};
use edgenet_core::ledger::sync::SyncMessage;
use edgenet_core::task::{TaskId, TaskKind};
use edgenet_core::work;
use serde::{Deserialize, Serialize};

use crate::error::ProtoError;

mod collection;
mod limits;
mod reveal;

use limits::*;

pub use collection::{CollectionDown, CollectionUp, MAX_COLLECTION_MSG};
pub use reveal::{MAX_REVEALED, Reveal};

/// Longest string field (adapter names, error messages).
pub const MAX_STRING: usize = 256;
/// Most entries in a list (peers, kernels, voters).
pub const MAX_LIST: usize = 1024;
/// Most ledger entries the relay sends in answer to one `Wants` or `Heads` message: a page. A
/// client that gets a full page asks again from where it ends (`chain::ChainWriter` does).
pub const SYNC_PAGE: usize = 4096;
/// Largest sealed envelope in a message.
pub const MAX_ENVELOPE: usize = crate::MAX_FRAME_LEN - 4096;

/// A [`NodeId`](edgenet_core::NodeId)'s 32 bytes on the wire, not yet validated (the naming rule
/// in `edgenet_core::identity`): whoever acts on one builds the `NodeId` with `from_bytes`.
pub type NodeKey = [u8; 32];

/// What kind of node connects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Role {
    /// A browser tab (WASM/WebGPU workers).
    Browser,
    /// A native node.
    Native,
}

/// What a node offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    /// Logical cores it may use.
    pub cores: u16,
    /// Memory it may use, MiB.
    pub memory_mib: u32,
    /// GPU adapter name, if any.
    pub gpu: Option<String>,
    /// Task kinds it runs.
    pub kernels: Vec<TaskKind>,
    /// Compute backends (e.g. "cpu", "avx2", "wasm-simd", "webgpu", "vulkan").
    pub backends: Vec<String>,
}

/// The signed part of a hello.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelloBody {
    /// Protocol version the client speaks.
    pub version: u8,
    /// The client as other peers will see it (what the relay lists and forwards).
    pub peer: PeerInfo,
}

/// A peer as others see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerInfo {
    /// Its node id.
    pub node: NodeKey,
    /// Its signed X25519 key (128 bytes).
    pub exchange_key: Vec<u8>,
    /// Browser or native.
    pub role: Role,
    /// What it offers.
    pub capabilities: Capabilities,
}

/// A task as submitted. The payload is not here: it goes sealed to each assigned worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskSpec {
    /// Chosen by the submitter.
    pub id: TaskId,
    /// What to run.
    pub kind: TaskKind,
    /// Distinct workers to run it (default 3).
    pub redundancy: u8,
    /// Most micro-credits the submitter will pay, escrowed before it submits (docs/ledger.md).
    pub max_credits: u64,
    /// Higher runs first.
    pub priority: u8,
    /// Milliseconds from submission until the task fails if unfinished.
    pub timeout_ms: u32,
}

/// The shard a collection task runs on (its holders run it, nobody else).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardTarget {
    /// The collection.
    pub collection: CollectionId,
    /// The shard.
    pub shard: u16,
    /// Vectors the task inserts (0 for a search): what the relay checks against the holders'
    /// offered storage.
    pub vectors: u32,
}

/// A shard a node holds, as it reports it on connecting (`hub/storage/collections.rs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holding {
    /// The collection, signed by its owner (a relay that never saw it learns it from this).
    pub collection: SignedCollection,
    /// The shard.
    pub shard: u16,
    /// What the node holds of it.
    pub state: ShardState,
    /// The owner's signed head for `state` (empty for an empty shard).
    pub proof: Vec<u8>,
}

/// Most shards one node reports holding.
pub const MAX_HOLDINGS: usize = 256;

/// Client → relay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientMsg {
    /// Answer to the challenge; `signature` covers domain, challenge, relay id and the body.
    Hello {
        /// The signed part.
        body: HelloBody,
        /// Ed25519 signature over the hello transcript (`handshake::hello_transcript`).
        signature: Vec<u8>,
    },
    /// Submit a task.
    Submit(TaskSpec),
    /// A worker asks to run an offered task.
    Claim {
        /// The task.
        task: TaskId,
    },
    /// The submitter's sealed payload for one assigned worker.
    Payload {
        /// The task.
        task: TaskId,
        /// The assigned worker it is sealed to.
        worker: NodeKey,
        /// The sealed bytes (only the addressee can open them).
        envelope: Vec<u8>,
    },
    /// A worker's sealed result, its public commitment and its signature over both.
    Result {
        /// The task.
        task: TaskId,
        /// The sealed bytes (only the addressee can open them).
        envelope: Vec<u8>,
        /// The worker's commitment to its result (compared across workers).
        commitment: [u8; 32],
        /// The worker's signature over the task and commitment.
        signature: Vec<u8>,
    },
    /// The submitter's verdict after comparing results.
    Verdict {
        /// The task.
        task: TaskId,
        /// Workers whose results agree with the majority.
        agreeing: Vec<NodeKey>,
        /// Workers whose results lost the vote.
        outvoted: Vec<NodeKey>,
    },
    /// Ledger reconciliation (heads, wants or entries); entries are answered with a
    /// [`RelayMsg::LedgerAck`] once they are durably stored.
    Ledger(SyncMessage),
    /// A worker's answer to [`RelayMsg::WorkWanted`]: a nonce that proves the work
    /// (`edgenet_core::work`).
    WorkProof {
        /// The challenge answered.
        challenge: [u8; 32],
        /// The nonce found.
        nonce: u64,
    },
    /// Submit a task on a collection's shard. `spec.redundancy` 0 asks for every live replica;
    /// the relay answers [`RelayMsg::ShardAccepted`] with the number it gave.
    SubmitShard {
        /// The task.
        spec: TaskSpec,
        /// Its shard.
        target: ShardTarget,
    },
    /// A collection message (a [`CollectionUp`], encoded: an owner's creation, a holder's
    /// reports and copies), opaque here so that clients that neither create collections nor hold
    /// shards (pages) carry none of its encoding.
    Collection(Vec<u8>),
    /// A submitter's verdict on a kind compared with a tolerance, with the evidence: the
    /// workers' results it opened (a [`Reveal`], encoded; opaque here for the same reason as
    /// `Collection`). The relay checks each against the worker's signed commitment and compares
    /// them itself (`hub/economy/verdicts.rs`).
    Reveal(Vec<u8>),
}

/// Relay → client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RelayMsg {
    /// First message on every connection.
    Challenge {
        /// Fresh randomness this connection's hello must sign.
        nonce: [u8; 32],
        /// The relay's identity.
        relay: NodeKey,
        /// The oldest protocol version it speaks.
        min_version: u8,
        /// The newest protocol version it speaks.
        max_version: u8,
    },
    /// The handshake succeeded; here are the peers online.
    Welcome {
        /// A bounded sample of the peers online.
        peers: Vec<PeerInfo>,
    },
    /// A peer came online.
    PeerJoined(PeerInfo),
    /// A peer went offline.
    PeerLeft {
        /// The peer that left.
        node: NodeKey,
    },
    /// The relay accepted a submitted task.
    Accepted {
        /// The task.
        task: TaskId,
    },
    /// A task this node can run is looking for workers.
    Offer {
        /// The task.
        task: TaskId,
        /// What to run.
        kind: TaskKind,
        /// Who submitted it.
        submitter: NodeKey,
    },
    /// To a worker: you run this task for this submitter; its payload follows.
    Assignment {
        /// The task.
        task: TaskId,
        /// What to run.
        kind: TaskKind,
        /// The submitter, with the exchange key results are sealed to.
        submitter: PeerInfo,
        /// Time from now to return the result.
        deadline_ms: u32,
    },
    /// To a submitter: this worker runs your task; seal its payload to it.
    Assigned {
        /// The task.
        task: TaskId,
        /// The worker, with the exchange key payloads are sealed to.
        worker: PeerInfo,
    },
    /// To a worker: the submitter's sealed payload.
    Payload {
        /// The task.
        task: TaskId,
        /// Who sealed it.
        submitter: NodeKey,
        /// The sealed bytes (only the addressee can open them).
        envelope: Vec<u8>,
    },
    /// To a submitter: a worker's sealed result.
    Result {
        /// The task.
        task: TaskId,
        /// The worker that computed it.
        worker: NodeKey,
        /// The sealed bytes (only the addressee can open them).
        envelope: Vec<u8>,
        /// The worker's commitment to its result (compared across workers).
        commitment: [u8; 32],
        /// The worker's signature over the task and commitment.
        signature: Vec<u8>,
    },
    /// To the workers of a task: the submitter's verdict.
    Verdict {
        /// The task.
        task: TaskId,
        /// Workers whose results agree with the majority.
        agreeing: Vec<NodeKey>,
        /// Workers whose results lost the vote.
        outvoted: Vec<NodeKey>,
    },
    /// To a submitter: the task failed.
    TaskFailed {
        /// The task.
        task: TaskId,
        /// The stable code (`EN-xxx`).
        code: String,
        /// Its text.
        message: String,
    },
    /// An error; fatal ones are followed by closing the connection.
    Error {
        /// The stable code (`EN-xxx`).
        code: String,
        /// Its text.
        message: String,
    },
    /// Ledger reconciliation from the relay's replica.
    Ledger(SyncMessage),
    /// Answer to a client's ledger entries (how many the relay now holds durably, new or already
    /// held, and how many it refused, with the first refusal's code), and the end of the entries
    /// that answer its wants. `clock` is the greatest clock in the relay's replica: a client's
    /// next entry must carry a greater one to order after what credited it.
    LedgerAck {
        /// Entries of the message now held (new or already there).
        held: u32,
        /// Entries refused.
        rejected: u32,
        /// The code of the first refusal, if any.
        code: Option<String>,
        /// The greatest Lamport clock the relay holds: a node writes past it.
        clock: u64,
    },
    /// To a worker: prove this much work (`edgenet_core::work`) for what the relay mints per
    /// identity (a canary's reward, an uptime period's bonus); answered with
    /// [`ClientMsg::WorkProof`] whenever it is found.
    WorkWanted {
        /// Fresh randomness: the proof is for this challenge only.
        challenge: [u8; 32],
        /// Leading zero bits the digest must have.
        bits: u8,
    },
    /// The relay accepted a shard task with this many holders to run it.
    ShardAccepted {
        /// The task.
        task: TaskId,
        /// Holders it runs on (the results the submitter waits for).
        redundancy: u8,
    },
    /// A collection message (a [`CollectionDown`], encoded: an owner's answer, a holder's
    /// orders and copies), opaque for the same reason as [`ClientMsg::Collection`].
    Collection(Vec<u8>),
}

impl ClientMsg {
    /// The message's kind, for errors and logs.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Hello { .. } => "Hello",
            Self::Submit(_) => "Submit",
            Self::Claim { .. } => "Claim",
            Self::Payload { .. } => "Payload",
            Self::Result { .. } => "Result",
            Self::Verdict { .. } => "Verdict",
            Self::Ledger(_) => "Ledger",
            Self::WorkProof { .. } => "WorkProof",
            Self::SubmitShard { .. } => "SubmitShard",
            Self::Collection(_) => "Collection",
            Self::Reveal(_) => "Reveal",
        }
    }

    /// Encodes into a frame.
    pub fn encode(&self) -> Result<Vec<u8>, ProtoError> {
        encode(self)
    }

    /// Decodes a frame from untrusted bytes and checks every limit.
    pub fn decode(bytes: &[u8]) -> Result<Self, ProtoError> {
        let msg: Self = decode(bytes)?;
        match &msg {
            Self::Hello { body, signature } => {
                check_peer(&body.peer)?;
                check_exact("signature", signature.len(), 64)?;
            }
            Self::Submit(_)
            | Self::Claim { .. }
            | Self::WorkProof { .. }
            | Self::SubmitShard { .. } => {}
            Self::Collection(bytes) => {
                check_len("collection message", bytes.len(), MAX_COLLECTION_MSG)?
            }
            Self::Reveal(bytes) => check_len("reveal", bytes.len(), MAX_ENVELOPE)?,
            Self::Payload { envelope, .. } => check_len("envelope", envelope.len(), MAX_ENVELOPE)?,
            Self::Result {
                envelope,
                signature,
                ..
            } => check_result(envelope, signature)?,
            Self::Verdict {
                agreeing, outvoted, ..
            } => check_verdict(agreeing, outvoted)?,
            Self::Ledger(sync) => check_sync(sync)?,
        }
        Ok(msg)
    }
}

impl RelayMsg {
    /// Encodes into a frame.
    pub fn encode(&self) -> Result<Vec<u8>, ProtoError> {
        encode(self)
    }

    /// Decodes a frame from untrusted bytes and checks every limit.
    pub fn decode(bytes: &[u8]) -> Result<Self, ProtoError> {
        let msg: Self = decode(bytes)?;
        match &msg {
            Self::Welcome { peers } => {
                check_len("peers", peers.len(), MAX_LIST)?;
                peers.iter().try_for_each(check_peer)?;
            }
            Self::PeerJoined(p) => check_peer(p)?,
            Self::Assignment { submitter, .. } => check_peer(submitter)?,
            Self::Assigned { worker, .. } => check_peer(worker)?,
            Self::Payload { envelope, .. } => check_len("envelope", envelope.len(), MAX_ENVELOPE)?,
            Self::Result {
                envelope,
                signature,
                ..
            } => check_result(envelope, signature)?,
            Self::Verdict {
                agreeing, outvoted, ..
            } => check_verdict(agreeing, outvoted)?,
            Self::TaskFailed { code, message, .. } | Self::Error { code, message } => {
                check_len("code", code.len(), 16)?;
                check_len("message", message.len(), MAX_STRING)?;
            }
            Self::Ledger(sync) => check_sync(sync)?,
            Self::LedgerAck { code, .. } => {
                check_len("code", code.as_ref().map_or(0, String::len), 16)?
            }
            Self::WorkWanted { bits, .. } => {
                check_len("work bits", usize::from(*bits), usize::from(work::MAX_BITS))?
            }
            Self::Collection(bytes) => {
                check_len("collection message", bytes.len(), MAX_COLLECTION_MSG)?
            }
            Self::Challenge { .. }
            | Self::PeerLeft { .. }
            | Self::Accepted { .. }
            | Self::ShardAccepted { .. }
            | Self::Offer { .. } => {}
        }
        Ok(msg)
    }

    /// The failure of `task` for `err`: a relay's own refusal (a [`ProtoError::Remote`]) keeps
    /// its code and text, anything else its code and its display.
    pub fn task_failed(task: TaskId, err: &ProtoError) -> Self {
        let mut message = match err {
            ProtoError::Remote { message, .. } => message.clone(),
            other => other.to_string(),
        };
        truncate(&mut message, MAX_STRING);
        Self::TaskFailed {
            task,
            code: err.reported_code().into(),
            message,
        }
    }

    /// An error message for `err`, its text cut to the string limit.
    pub fn error(err: &ProtoError) -> Self {
        let mut message = err.to_string();
        truncate(&mut message, MAX_STRING);
        Self::Error {
            code: err.reported_code().to_owned(),
            message,
        }
    }
}
