//! What an endpoint tells its driver: one [`Event`] per thing that happened.

use edgenet_core::NodeId;
use edgenet_core::ledger::Entry;
use edgenet_core::task::{TaskId, TaskKind};

use crate::error::ProtoError;
use crate::message::RelayMsg;
use crate::submit::{Outcome, Submission};

/// What happened, for the driver.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The handshake completed.
    Connected {
        /// The relay's identity.
        relay: NodeId,
        /// Peers it listed.
        peers: usize,
    },
    /// Run this task's payload, then call [`Endpoint::finish`] (or [`Endpoint::abandon`]).
    Execute {
        /// The task.
        task: TaskId,
        /// What to run.
        kind: TaskKind,
        /// The opened plaintext payload.
        payload: Vec<u8>,
    },
    /// Ledger entries that concern this node, to keep: those the relay sent it (credits minted or
    /// paid to it, its own chain) and those it wrote itself once the relay held them.
    Ledger {
        /// The entries (the relay's verified by the relay, not here).
        entries: Vec<Entry>,
    },
    /// The submitter's verdict on a task this node returned.
    Verdict {
        /// The task.
        task: TaskId,
        /// Whether this node's result was in the majority.
        agreed: bool,
    },
    /// The relay accepted one of this node's submissions.
    Accepted {
        /// The task.
        task: TaskId,
    },
    /// One of this node's submissions moved on: a worker was assigned, or a result came in.
    Progress {
        /// The task.
        task: TaskId,
        /// Workers assigned so far (a replaced worker's successor counts too).
        assigned: usize,
        /// Results in.
        results: usize,
        /// Results the task needs (its redundancy).
        needed: usize,
    },
    /// One of this node's submissions has a verified result.
    Done {
        /// The task.
        task: TaskId,
        /// Its kind.
        kind: TaskKind,
        /// The result and who agreed.
        outcome: Outcome,
    },
    /// One of this node's submissions failed.
    Failed {
        /// The task.
        task: TaskId,
        /// Why.
        error: ProtoError,
    },
    /// The relay asks for a proof of work (what its mints per identity cost: a canary's reward,
    /// an uptime period's bonus). Solve it off the event loop (`edgenet_core::work::Solver`, or
    /// `work::solve` on a thread) while contributing, then call [`Endpoint::prove`].
    WorkWanted {
        /// The challenge to answer.
        challenge: [u8; 32],
        /// Leading zero bits asked (at most `edgenet_core::work::MAX_BITS`).
        bits: u8,
    },
    /// A collection message for this node, encoded: decode it with `CollectionDown::decode` (an
    /// owner's answer, a holder's orders and copies: `hub/storage/collections.rs`). Answer with
    /// [`Endpoint::send`].
    Collection(Vec<u8>),
    /// The relay reported an error not tied to a task of ours (it may close the connection).
    RelayError {
        /// Stable code.
        code: String,
        /// Its text.
        message: String,
    },
}

/// The task a relay message is about, if it is one a submitter receives.
pub(super) fn submission_task(msg: &RelayMsg) -> Option<TaskId> {
    match msg {
        RelayMsg::Accepted { task }
        | RelayMsg::ShardAccepted { task, .. }
        | RelayMsg::Assigned { task, .. }
        | RelayMsg::Result { task, .. }
        | RelayMsg::TaskFailed { task, .. } => Some(*task),
        _ => None,
    }
}

/// Where one of this node's submissions stands, as an event.
pub(super) fn progress_of(task: TaskId, submission: &Submission) -> Event {
    let (assigned, results) = submission.counts();
    Event::Progress {
        task,
        assigned,
        results,
        needed: usize::from(submission.spec().redundancy),
    }
}
