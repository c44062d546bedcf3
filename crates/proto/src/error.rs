//! Protocol errors. Each has a stable code; [`ProtoError::is_fatal`] says whether the relay closes
//! the connection after sending it.

use edgenet_core::ErrorCode;
use thiserror::Error;

use crate::frame::FrameError;

/// Errors a session or the hub reports.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProtoError {
    /// The frame itself was refused (empty, too large, unknown version).
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// The body does not decode as a message.
    #[error("message does not decode: {0}")]
    Malformed(String),
    /// A field breaks a limit (string length, list length, byte length).
    #[error("message breaks a limit: {0}")]
    LimitExceeded(String),
    /// A message arrived that the session's state does not allow (e.g. a task before the handshake).
    #[error("unexpected message: {0}")]
    Unexpected(String),
    /// The hello's signature or keys do not verify against this connection's challenge.
    #[error("handshake refused: {0}")]
    BadHandshake(String),
    /// The relay speaks no protocol version this node does (seen by the node in the challenge).
    #[error("incompatible relay: {0}")]
    IncompatibleRelay(String),
    /// Too many messages from one identity in the last minute.
    #[error("rate limit: more than {limit} messages per minute")]
    RateLimited {
        /// Messages allowed per minute.
        limit: u32,
    },
    /// The task id is not known (or no longer open).
    #[error("unknown or closed task {0}")]
    UnknownTask(String),
    /// The sender is not part of the task in the role it claims.
    #[error("not allowed for this task: {0}")]
    NotAllowed(String),
    /// A task with this id already exists.
    #[error("duplicate task id {0}")]
    DuplicateTask(String),
    /// The task's parameters are out of range.
    #[error("invalid task parameters: {0}")]
    InvalidTask(String),
    /// The task's kind is not one this relay's release knows (EN-144).
    #[error(transparent)]
    UnknownKind(#[from] edgenet_core::kinds::UnknownKind),
    /// The task expired before enough workers returned results.
    #[error("task expired: {0}")]
    TaskExpired(String),
    /// The handshake did not finish in time.
    #[error("handshake timed out")]
    HandshakeTimeout,
    /// The peer could not keep up with its outgoing queue and was disconnected.
    #[error("slow consumer: outgoing queue full")]
    SlowConsumer,
    /// The relay refuses more connections from this address.
    #[error("too many connections from this address")]
    TooManyConnections,
    /// The redundant results had no strict majority.
    #[error("no majority among {0} results")]
    NoMajority(usize),
    /// The relay sent an error.
    #[error("relay error {code}: {message}")]
    Remote {
        /// The stable code (`EN-xxx`).
        code: String,
        /// Its text.
        message: String,
    },
    /// The connection dropped while a submission was open (the relay forgets it with the socket).
    #[error("the connection to the relay dropped before the task finished")]
    ConnectionLost,
    /// The relay could not store ledger entries durably; they are not acknowledged.
    #[error("the relay could not store the entries: {0}")]
    NotStored(String),
    /// A paid task's escrow is missing or smaller than the task's `max_credits`.
    #[error("not enough credits escrowed for this task: {0}")]
    InsufficientCredits(String),
    /// This relay runs paid tasks only (`--paid-only`) and the task offers no credits.
    #[error("this relay runs paid tasks only: escrow credits and set max_credits")]
    PaymentRequired,
    /// Too few peers that run the task's kind are online to give it its redundancy, and none
    /// came within the relay's staffing bound: the task fails now instead of waiting out its
    /// timeout.
    #[error("not enough capable workers: {0}")]
    NotEnoughWorkers(String),
    /// A proof of work that is not for the challenge this relay asked, or whose nonce does not
    /// prove the work (`edgenet_core::work`). The connection stays open; a new challenge follows.
    #[error("bad proof of work: {0}")]
    BadWork(String),
    /// The connection sent [`MAX_WRONG_PROOFS`](crate::hub::MAX_WRONG_PROOFS) proofs of work
    /// that did not prove the work: it is closed.
    #[error("too many wrong proofs of work")]
    WorkRefused,
    /// The submitter sent no payload to a worker it was assigned within the payload wait
    /// (`HubConfig::payload_wait_ms`): the task failed.
    #[error("no payload in time")]
    PayloadWithheld,
    /// A verdict the result commitments contradict was overruled, or a task expired without
    /// one and was settled by them (exact kinds: `hub/economy/verdicts.rs`).
    #[error("verdict overruled: {0}")]
    VerdictOverruled(String),
    /// A task submitted again (its submitter resuming it on another connection) had already
    /// finished with a verdict.
    #[error("the task already finished: {0}")]
    TaskFinished(String),
    /// A task submitted again is still open at another relay that is up (`hub/cluster/records.rs`).
    #[error("the task lives at another relay: {0}")]
    TaskElsewhere(String),
    /// This node could not write a ledger entry of its own (its chain is frozen, a number
    /// overflows): the ledger's own error and code.
    #[error(transparent)]
    Ledger(#[from] edgenet_core::ledger::LedgerError),
}

/// Why the relay refuses a collection request: each is about that request only (the connection
/// stays open), and nothing stored changes. It reaches clients as the code and text of a
/// [`ProtoError::Remote`] (not a variant of its own, so that a page's protocol module, which
/// makes no collection requests, carries none of these texts).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CollectionRefusal {
    /// The spec, its signature or a field of the request is invalid (the collection's own code).
    #[error(transparent)]
    Spec(#[from] edgenet_core::collection::CollectionError),
    /// A collection with this id exists with another spec.
    #[error("collection {0} exists with another spec")]
    Exists(String),
    /// The relay holds its most collections.
    #[error("the relay holds its {0} collections")]
    TooMany(usize),
    /// The owner created its most collections at this relay.
    #[error("the owner has its {0} collections here")]
    OwnerHasMany(usize),
    /// Fewer storage nodes are online than the collection's replicas.
    #[error("{have} storage nodes online, the collection needs {need} per shard")]
    TooFewHolders {
        /// Replicas the collection asks for.
        need: usize,
        /// Nodes that offer storage, online and not the owner.
        have: usize,
    },
    /// The shard is being copied to a new holder that has caught up but for the inserts in
    /// flight; a new insert waits until they end.
    #[error("shard {0} is re-replicating: submit the insert again in a moment")]
    Busy(u16),
    /// No collection with this id is known here.
    #[error("unknown collection {0}")]
    Unknown(String),
    /// A holder of the shard has no room for the batch in the storage it offered.
    #[error("a holder of shard {shard} offers {offered} bytes and would need {needed}")]
    StorageFull {
        /// The shard.
        shard: u16,
        /// What the fullest holder offered.
        offered: u64,
        /// What it would hold with the batch.
        needed: u64,
    },
    /// The shard has no replica online that holds it in full.
    #[error("shard {0} has no replica online")]
    NoReplica(u16),
    /// A holder of the task left before it answered; submitting again reaches the others.
    #[error("a holder of shard {0} left before it answered: submit again")]
    HolderLeft(u16),
    /// The relay prices collections, and this creation's deposit or this shard task's list
    /// price is not escrowed: what it costs and what was offered.
    #[error("{0}")]
    Unpaid(String),
}

impl From<CollectionRefusal> for ProtoError {
    fn from(e: CollectionRefusal) -> Self {
        Self::Remote {
            code: e.code().into(),
            message: e.to_string(),
        }
    }
}

impl ErrorCode for CollectionRefusal {
    fn code(&self) -> &'static str {
        match self {
            Self::Spec(e) => e.code(),
            Self::Exists(_) => "EN-226",
            Self::TooMany(_) => "EN-227",
            Self::OwnerHasMany(_) => "EN-237",
            Self::TooFewHolders { .. } => "EN-228",
            Self::Busy(_) => "EN-229",
            Self::Unknown(_) => "EN-230",
            Self::StorageFull { .. } => "EN-231",
            Self::NoReplica(_) => "EN-232",
            Self::HolderLeft(_) => "EN-233",
            Self::Unpaid(_) => "EN-238",
        }
    }
}

impl ErrorCode for ProtoError {
    fn code(&self) -> &'static str {
        match self {
            Self::Frame(e) => e.code(),
            Self::Malformed(_) => "EN-203",
            Self::LimitExceeded(_) => "EN-204",
            Self::Unexpected(_) => "EN-205",
            Self::BadHandshake(_) => "EN-206",
            // The same condition as a frame of another version, seen from the node's side.
            Self::IncompatibleRelay(_) => "EN-202",
            Self::RateLimited { .. } => "EN-207",
            Self::UnknownTask(_) => "EN-208",
            Self::NotAllowed(_) => "EN-209",
            Self::DuplicateTask(_) => "EN-210",
            Self::InvalidTask(_) => "EN-211",
            Self::UnknownKind(e) => e.code(),
            Self::TaskExpired(_) => "EN-212",
            Self::HandshakeTimeout => "EN-213",
            Self::SlowConsumer => "EN-214",
            Self::TooManyConnections => "EN-215",
            Self::Remote { .. } => "EN-216",
            Self::NoMajority(_) => "EN-217",
            Self::ConnectionLost => "EN-218",
            Self::NotStored(_) => "EN-219",
            Self::InsufficientCredits(_) => "EN-220",
            Self::PaymentRequired => "EN-221",
            Self::BadWork(_) => "EN-222",
            Self::WorkRefused => "EN-234",
            Self::PayloadWithheld => "EN-235",
            Self::VerdictOverruled(_) => "EN-236",
            Self::NotEnoughWorkers(_) => "EN-223",
            Self::TaskFinished(_) => "EN-224",
            Self::TaskElsewhere(_) => "EN-225",
            Self::Ledger(e) => e.code(),
        }
    }
}

impl ProtoError {
    /// The code to show: the relay's own for a [`ProtoError::Remote`], else this error's.
    pub fn reported_code(&self) -> &str {
        match self {
            Self::Remote { code, .. } => code,
            other => other.code(),
        }
    }

    /// Whether connecting again may help: false only when the two sides speak no common protocol
    /// version (this node saw it in the challenge, or the relay refused this node's frames), which
    /// another attempt would only repeat. Clients stop reconnecting on these.
    pub fn is_retryable(&self) -> bool {
        let version = FrameError::UnsupportedVersion { got: 0 }.code();
        match self {
            Self::IncompatibleRelay(_) | Self::Frame(FrameError::UnsupportedVersion { .. }) => {
                false
            }
            Self::Remote { code, .. } => code != version,
            _ => true,
        }
    }

    /// Whether the relay closes the connection after reporting this error. Errors about one task
    /// leave the connection open; errors about the connection itself close it.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            Self::Frame(_)
                | Self::Malformed(_)
                | Self::LimitExceeded(_)
                | Self::Unexpected(_)
                | Self::BadHandshake(_)
                | Self::RateLimited { .. }
                | Self::HandshakeTimeout
                | Self::SlowConsumer
                | Self::TooManyConnections
                | Self::WorkRefused
        )
    }
}
