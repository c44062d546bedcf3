//! Task records: what lets a task outlive its relay. In a cluster ([`HubConfig::task_records`])
//! the hub writes a signed record of each task a submitter gives it, when it is accepted and when
//! it ends, and the relay's NATS adapter keeps the latest record per task in a JetStream stream
//! that every relay reads back into its hub ([`Hub::merge_task_record`]). A record holds the
//! task's spec, its submitter, its deadline and its state — never a payload or a result, which
//! no relay can open.
//!
//! A submitter whose relay died reconnects to any relay and submits the same task again (same
//! id and spec: the node and the page do it for every submission still open). What the relay
//! answers depends on what it knows of that id:
//!
//! ```text
//! finished here, or recorded finished      -> its verdict (EN-224) or its failure (its own code)
//! recorded open at a relay that announces  -> EN-225: the task lives there
//! recorded open at this relay (restarted),
//!   or at one that stopped announcing      -> adopted: open here until its original deadline
//! never recorded                           -> accepted as a new task
//! ```
//!
//! An adopted task starts its work again (payloads are sealed per worker and died with the old
//! assignments), with the escrow it already had: the relay it lives on now settles it, as for
//! any task of its own. A relay that took over escrows of a dead relay (`hub/cluster/replica.rs`) does
//! not refund one whose task a live relay has adopted ([`Hub::adopted_elsewhere`]); the ledger
//! closes an escrow once, so whoever settles it first settles it alone.
//!
//! [`HubConfig::task_records`]: crate::hub::HubConfig::task_records

use std::collections::{BTreeSet, HashMap};

use edgenet_core::task::TaskId;
use edgenet_core::{NodeId, SecretKey, Signature};
use serde::{Deserialize, Serialize};

use crate::Millis;
use crate::error::ProtoError;
use crate::hub::Hub;
use crate::hub::cluster::remote::BORROWED_TTL_MS;
use crate::hub::routing::tasks::{Task, TaskStatus};
use crate::hub::timers::Timer;
use crate::message::{NodeKey, TaskSpec};

/// Most task records a hub keeps; past it, those whose deadline comes first are forgotten.
pub const MAX_TASK_RECORDS: usize = 16_384;
/// Largest record accepted (a spec and a failure message are a few hundred bytes).
pub const MAX_RECORD_LEN: usize = 2_048;
/// Resumes waiting to learn whether the relay their task is recorded at is still up.
pub const MAX_PARKED: usize = 1_024;
/// Times a resume waits [`BORROWED_TTL_MS`] for its task's relay to go quiet. Twice: an
/// announcement the dead relay sent just before it died may reach this relay after the resume
/// did, and keeps it looking alive for one more time-to-live.
pub const PARK_ROUNDS: u8 = 2;
/// How long past its deadline a record is kept: a submitter reconnecting late still learns
/// how its task ended.
pub const RECORD_LINGER_MS: Millis = 600_000;

const RECORD_DOMAIN: &[u8] = b"edgenet-task-record-v1";

/// Where a recorded task stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RecordState {
    /// Accepted, not finished.
    Open,
    /// Its submitter gave its verdict.
    Verified,
    /// It failed: the stable code and its text.
    Failed {
        /// `EN-xxx`.
        code: String,
        /// Its text.
        message: String,
    },
}

/// The signed part of a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct RecordBody {
    spec: TaskSpec,
    submitter: NodeKey,
    /// When the task fails if unfinished, ms since the Unix epoch (relays of one cluster run
    /// NTP; a skew of a second moves the deadline by a second).
    deadline_unix_ms: u64,
    state: RecordState,
}

/// A record to publish under its task's id: the relay's key (32 bytes), its signature (64), then
/// the body (postcard).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRecord {
    /// The task, the record's key.
    pub task: TaskId,
    /// The signed record.
    pub bytes: Vec<u8>,
}

impl TaskRecord {
    /// `key`'s relay records `spec`, submitted by `submitter`, due at `deadline_unix_ms`, as
    /// standing at `state` (what a hub writes; public for tests and tools that replay a stream).
    pub fn signed(
        key: &SecretKey,
        spec: &TaskSpec,
        submitter: &NodeId,
        deadline_unix_ms: u64,
        state: RecordState,
    ) -> Result<Self, ProtoError> {
        let body = RecordBody {
            spec: spec.clone(),
            submitter: *submitter.as_bytes(),
            deadline_unix_ms,
            state,
        };
        Ok(Self {
            task: spec.id,
            bytes: encode(key, &body)?,
        })
    }
}

/// A record as a hub keeps it.
#[derive(Debug, Clone)]
pub(in crate::hub) struct Known {
    /// The relay that wrote it: the one the task lives on.
    pub(in crate::hub) owner: NodeId,
    pub(in crate::hub) submitter: NodeId,
    pub(in crate::hub) spec: TaskSpec,
    /// The deadline on this hub's clock.
    pub(in crate::hub) expires: Millis,
    pub(in crate::hub) state: RecordState,
}

/// The records a hub knows, at most [`MAX_TASK_RECORDS`].
#[derive(Default)]
pub(in crate::hub) struct Records {
    map: HashMap<TaskId, Known>,
    by_expiry: BTreeSet<(Millis, TaskId)>,
    /// Resumes waiting for a [`Timer::Resume`]: their submitter, spec, and rounds waited.
    parked: HashMap<TaskId, (NodeId, TaskSpec, u8)>,
}

impl Records {
    #[cfg(any(test, feature = "fuzzing"))]
    pub(in crate::hub) fn is_parked(&self, task: &TaskId) -> bool {
        self.parked.contains_key(task)
    }

    pub(in crate::hub) fn get(&self, task: &TaskId) -> Option<&Known> {
        self.map.get(task)
    }

    pub(in crate::hub) fn len(&self) -> usize {
        self.map.len()
    }

    /// Keeps `known` as the latest record of its task (records arrive in the stream's order:
    /// the last one is the newest), forgetting those long past their deadline and, past the
    /// bound, those whose deadline comes first.
    fn insert(&mut self, known: Known, now: Millis) {
        let id = known.spec.id;
        if let Some(old) = self.map.remove(&id) {
            self.by_expiry.remove(&(old.expires, id));
        }
        while let Some(&(expires, old)) = self.by_expiry.first() {
            let stale = expires.saturating_add(RECORD_LINGER_MS) < now;
            if !stale && self.map.len() < MAX_TASK_RECORDS {
                break;
            }
            self.by_expiry.pop_first();
            self.map.remove(&old);
        }
        self.by_expiry.insert((known.expires, id));
        self.map.insert(id, known);
    }
}

fn signed(relay: &NodeId, body: &[u8]) -> Vec<u8> {
    [RECORD_DOMAIN, relay.as_bytes(), body].concat()
}

/// A record whose signature verified, for [`Hub::merge_task_record`]: decoded outside the hub
/// (a signature check costs tens of microseconds), judged inside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRecord {
    owner: NodeId,
    body: RecordBody,
}

impl SignedRecord {
    /// Reads and verifies a record (whether its relay is one of the cluster's is the hub's to
    /// say).
    pub fn decode(bytes: &[u8]) -> Result<Self, ProtoError> {
        let (owner, body) = decode(bytes)?;
        Ok(Self { owner, body })
    }

    /// The task it records.
    pub fn task(&self) -> TaskId {
        self.body.spec.id
    }
}

fn decode(bytes: &[u8]) -> Result<(NodeId, RecordBody), ProtoError> {
    if bytes.len() > MAX_RECORD_LEN {
        return Err(ProtoError::LimitExceeded(format!(
            "task record of {} bytes (at most {MAX_RECORD_LEN})",
            bytes.len()
        )));
    }
    if bytes.len() < 96 {
        return Err(ProtoError::Malformed("task record too short".into()));
    }
    let (relay, rest) = bytes.split_at(32);
    let (signature, body) = rest.split_at(64);
    let relay: &[u8; 32] = relay
        .try_into()
        .map_err(|_| ProtoError::Malformed("task record relay".into()))?;
    let relay = NodeId::from_bytes(relay)
        .map_err(|e| ProtoError::Malformed(format!("task record relay: {e}")))?;
    let signature = Signature::from_slice(signature)
        .map_err(|e| ProtoError::Malformed(format!("task record signature: {e}")))?;
    relay
        .verify(&signed(&relay, body), &signature)
        .map_err(|_| ProtoError::NotAllowed("task record signature does not verify".into()))?;
    let (record, left) = postcard::take_from_bytes::<RecordBody>(body)
        .map_err(|e| ProtoError::Malformed(format!("task record: {e}")))?;
    if !left.is_empty() {
        return Err(ProtoError::Malformed("bytes after the task record".into()));
    }
    Ok((relay, record))
}

fn encode(key: &SecretKey, body: &RecordBody) -> Result<Vec<u8>, ProtoError> {
    let body = postcard::to_allocvec(body)
        .map_err(|e| ProtoError::Malformed(format!("task record: {e}")))?;
    let relay = key.node_id();
    let signature = key.sign(&signed(&relay, &body));
    let bytes = [relay.as_bytes(), &signature.to_bytes()[..], &body].concat();
    if bytes.len() > MAX_RECORD_LEN {
        return Err(ProtoError::LimitExceeded("task record".into()));
    }
    Ok(bytes)
}

/// What a submission's id says before the task is taken as new (module docs).
pub(in crate::hub) enum Resumed {
    /// Nothing known: a new task.
    New,
    /// Recorded open where it can no longer run: taken here, with the record's spec, until the
    /// record's deadline.
    Adopt(TaskSpec, Millis),
    /// Recorded open at another relay that still announces: that relay may have just died
    /// (its announcements stop counting after `BORROWED_TTL_MS`), so the resume waits that
    /// long, [`PARK_ROUNDS`] times, and is looked at again; if it is still up then, this is
    /// the answer.
    Elsewhere(ProtoError),
    /// Known finished: the answer.
    Answer(ProtoError),
}

/// The answer for a task that already ended.
fn ended(state: &RecordState, relay: &NodeId) -> ProtoError {
    match state {
        RecordState::Open | RecordState::Verified => {
            ProtoError::TaskFinished(format!("verified at relay {}", relay.fmt_short()))
        }
        RecordState::Failed { code, message } => ProtoError::Remote {
            code: code.clone(),
            message: message.clone(),
        },
    }
}

/// A finished task's state, as a record says it (`failure` is "EN-xxx: text").
fn state_of(task: &Task) -> RecordState {
    match task.status {
        TaskStatus::Open => RecordState::Open,
        TaskStatus::Verified => RecordState::Verified,
        TaskStatus::Failed => {
            let failure = task.failure.as_deref().unwrap_or("EN-212: failed");
            let (code, message) = failure.split_once(": ").unwrap_or(("EN-212", failure));
            RecordState::Failed {
                code: code.to_owned(),
                message: message.to_owned(),
            }
        }
    }
}

impl Hub {
    /// Another relay's record of a task (or this relay's own, read back from the stream),
    /// verified here: kept as the task's latest. Only the cluster's validators write records.
    pub(in crate::hub) fn merge_task_record(
        &mut self,
        record: SignedRecord,
        now: Millis,
    ) -> Result<(), ProtoError> {
        let SignedRecord { owner, body } = record;
        if !self
            .ledger
            .config()
            .is_validator(&edgenet_core::ledger::Account::of(&owner))
        {
            return Err(ProtoError::NotAllowed(format!(
                "{owner} is not a relay of this cluster"
            )));
        }
        let submitter = NodeId::from_bytes(&body.submitter)
            .map_err(|e| ProtoError::Malformed(format!("task record submitter: {e}")))?;
        let expires = body
            .deadline_unix_ms
            .saturating_sub(self.config.epoch_unix_ms);
        let known = Known {
            owner,
            submitter,
            spec: body.spec,
            expires,
            state: body.state,
        };
        self.records.insert(known, now);
        Ok(())
    }

    /// Task records this hub knows (at most [`MAX_TASK_RECORDS`]).
    pub fn task_records(&self) -> usize {
        self.records.len()
    }

    /// Writes `id`'s record as it stands now (a submitter's task only, in a cluster), keeps it,
    /// and hands it to the relay to publish.
    pub(in crate::hub) fn record_task(&mut self, id: TaskId) {
        if !self.config.task_records {
            return;
        }
        // A shard task lives with its shard's placement at this relay: it is not resumed elsewhere.
        let Some(task) = self.tasks.get(&id).filter(|t| t.origin.outlives_relay()) else {
            return;
        };
        let known = Known {
            owner: self.key.node_id(),
            submitter: task.submitter,
            spec: task.spec.clone(),
            expires: task.expires,
            state: state_of(task),
        };
        let deadline = self.config.epoch_unix_ms.saturating_add(task.expires);
        // Its creation is a time no later than now: enough to prune records long past theirs.
        let created = task.created;
        let record = TaskRecord::signed(
            &self.key,
            &known.spec,
            &known.submitter,
            deadline,
            known.state.clone(),
        );
        // A record that cannot be encoded is not kept: the task still runs, it only would not
        // survive this relay.
        if let Ok(record) = record {
            self.records.insert(known, created);
            self.out
                .push_back(crate::hub::Output::TaskRecord(Box::new(record)));
        }
    }

    /// What `spec`'s id says, submitted by `node` (module docs).
    pub(in crate::hub) fn resumed(&self, node: &NodeId, spec: &TaskSpec, now: Millis) -> Resumed {
        if let Some(task) = self.tasks.get(&spec.id) {
            if task.submitter != *node || task.is_open() {
                return Resumed::Answer(ProtoError::DuplicateTask(spec.id.to_string()));
            }
            return Resumed::Answer(ended(&state_of(task), &self.key.node_id()));
        }
        let Some(known) = self.records.get(&spec.id) else {
            return Resumed::New;
        };
        if known.submitter != *node {
            return Resumed::Answer(ProtoError::DuplicateTask(spec.id.to_string()));
        }
        if known.state != RecordState::Open {
            return Resumed::Answer(ended(&known.state, &known.owner));
        }
        let mine = known.owner == self.key.node_id();
        if !mine && self.remote.is_alive(&known.owner) {
            return Resumed::Elsewhere(ProtoError::TaskElsewhere(format!(
                "task {} is open at relay {}, which is up: it fails there once its submitter \
                 has left",
                spec.id,
                known.owner.fmt_short()
            )));
        }
        if now >= known.expires {
            return Resumed::Answer(ProtoError::TaskExpired(spec.id.to_string()));
        }
        Resumed::Adopt(known.spec.clone(), known.expires)
    }

    /// Holds a resume until the owner's announcements would have lapsed; false when
    /// [`MAX_PARKED`] wait already (then it is answered now).
    pub(in crate::hub) fn park(&mut self, node: NodeId, spec: TaskSpec, now: Millis) -> bool {
        let id = spec.id;
        if self.records.parked.len() >= MAX_PARKED || self.records.parked.contains_key(&id) {
            return false;
        }
        self.records.parked.insert(id, (node, spec, 1));
        self.timers
            .set(Timer::Resume(id), now.saturating_add(BORROWED_TTL_MS));
        true
    }

    /// A parked resume's time: answered now, adopted if its relay went silent meanwhile. One
    /// whose submitter left is dropped.
    pub(in crate::hub) fn unpark(&mut self, task: TaskId, now: Millis) {
        let Some((node, spec, rounds)) = self.records.parked.remove(&task) else {
            return;
        };
        if !self.peers.get(&node).is_some_and(|p| p.is_local()) {
            return;
        }
        let owner_up = self
            .records
            .get(&task)
            .is_some_and(|k| k.state == RecordState::Open && self.remote.is_alive(&k.owner));
        if owner_up && rounds < PARK_ROUNDS {
            self.records.parked.insert(task, (node, spec, rounds + 1));
            self.timers
                .set(Timer::Resume(task), now.saturating_add(BORROWED_TTL_MS));
            return;
        }
        self.on_submit(node, spec, now, false);
    }

    /// Whether a relay that is up has adopted `task` and holds it open: then its escrow is that
    /// relay's to settle, not this one's to refund.
    pub(in crate::hub) fn adopted_elsewhere(&self, task: &TaskId) -> bool {
        self.records.get(task).is_some_and(|k| {
            k.state == RecordState::Open
                && k.owner != self.key.node_id()
                && self.remote.is_alive(&k.owner)
        })
    }
}
