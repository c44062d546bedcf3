//! Who asked for a task, as a type with behaviour: a node's submission, a collection's shard
//! task, or the relay's own canary. Generic paths ask the origin what it means for them (who may
//! be offered the task, whether a submitter's counts and the cluster see it, who checks its
//! result) instead of matching on which it is.

use edgenet_core::NodeId;
use edgenet_core::task::TaskKind;

use crate::message::ShardTarget;

/// What makes a task a canary: a known-answer task for one worker, which the relay checks.
pub(in crate::hub) struct Canary {
    /// The worker it is for.
    pub(in crate::hub) worker: NodeId,
    /// A kind with canaries.
    pub(in crate::hub) kind: TaskKind,
    /// Its payload (sealed to the worker when it claims).
    pub(in crate::hub) payload: Vec<u8>,
    /// The right answer.
    pub(in crate::hub) expected: Vec<u8>,
    /// The submitter the worker sees: a fresh identity that seals the payload and opens the
    /// result, looking like the last real submitter (`hub/economy/canary.rs`).
    pub(in crate::hub) mask: edgenet_core::SecretKey,
    /// What the worker is told of that submitter.
    pub(in crate::hub) mask_info: crate::message::PeerInfo,
    /// Whether passing it pays the canary reward (a new worker's first) or nothing (a spot
    /// check).
    pub(in crate::hub) pays: bool,
}

/// A task on a collection's shard: where it runs.
pub(in crate::hub) struct ShardTask {
    pub(in crate::hub) target: ShardTarget,
    /// The shard's live replicas when it was accepted: the only nodes it is offered to.
    pub(in crate::hub) holders: Vec<NodeId>,
}

/// Who asked for a task.
pub(in crate::hub) enum Origin {
    /// A node, through `Submit`.
    Submitter,
    /// A node, through `SubmitShard` (`hub/storage/collections.rs`).
    Shard(Box<ShardTask>),
    /// The relay itself: a known-answer canary for one worker (`hub/economy/canary.rs`).
    Canary(Box<Canary>),
}

/// Who may be offered a task.
pub(in crate::hub) enum Audience<'a> {
    /// Only this worker, round after round (a canary).
    One(NodeId),
    /// Only these nodes, each once (a shard's live replicas).
    Holders(&'a [NodeId]),
    /// Any capable peer, this relay's own and borrowed ones (`Peers::least_loaded`).
    Capable,
}

impl Origin {
    /// Who may be offered the task.
    pub(in crate::hub) fn audience(&self) -> Audience<'_> {
        match self {
            Self::Submitter => Audience::Capable,
            Self::Shard(s) => Audience::Holders(&s.holders),
            Self::Canary(c) => Audience::One(c.worker),
        }
    }

    /// Whether any capable peer may be offered it (not a canary's one worker, not a shard's
    /// holders): such a task fails early when too few are online, and borrowed workers are
    /// offered it.
    pub(in crate::hub) fn offered_to_any(&self) -> bool {
        matches!(self.audience(), Audience::Capable)
    }

    /// Whether a node asked for it: it counts among its submitter's open tasks, in metrics and
    /// events, and its result goes to the submitter (a canary is the relay's own, checked here).
    pub(in crate::hub) fn asked_by_a_node(&self) -> bool {
        !matches!(self, Self::Canary(_))
    }

    /// Whether it may live on past this relay: recorded for the cluster and resumed elsewhere
    /// (a shard task lives with its shard's placement here, a canary with its worker).
    pub(in crate::hub) fn outlives_relay(&self) -> bool {
        matches!(self, Self::Submitter)
    }

    /// The canary it is, if the relay made it.
    pub(in crate::hub) fn canary(&self) -> Option<&Canary> {
        match self {
            Self::Canary(c) => Some(c),
            Self::Submitter | Self::Shard(_) => None,
        }
    }

    /// The shard it runs on, if it is a collection task.
    pub(in crate::hub) fn shard(&self) -> Option<&ShardTask> {
        match self {
            Self::Shard(s) => Some(s),
            Self::Submitter | Self::Canary(_) => None,
        }
    }
}
