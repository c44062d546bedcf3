//! How many workers a task runs on, and when that is decided: the one seam where a replication
//! policy lives. Today's policy is [`Fixed`]: what the submitter asked for, decided when the hub
//! accepts the task (a canary asks for 1, a shard task for its live replicas).

use edgenet_core::NodeId;

use crate::Millis;
use crate::hub::Hub;
use crate::hub::routing::origin::Origin;
use crate::hub::routing::tasks::Task;
use crate::message::TaskSpec;

/// Decides a task's workers when the hub accepts it.
pub trait ReplicationPolicy: Send {
    /// Workers the task runs on (at least 1), decided once, at acceptance.
    fn workers(&self, spec: &TaskSpec, origin: &OriginKind) -> u8;
}

/// What a policy may know of a task's origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OriginKind {
    /// A node's submission.
    Submitter,
    /// A collection's shard task.
    Shard,
    /// The relay's own known-answer canary.
    Canary,
}

impl OriginKind {
    pub(in crate::hub) fn of(origin: &Origin) -> Self {
        match origin {
            Origin::Submitter => Self::Submitter,
            Origin::Shard(_) => Self::Shard,
            Origin::Canary(_) => Self::Canary,
        }
    }
}

/// The submitter's own redundancy, as asked.
#[derive(Debug, Clone, Copy, Default)]
pub struct Fixed;

impl ReplicationPolicy for Fixed {
    fn workers(&self, spec: &TaskSpec, _origin: &OriginKind) -> u8 {
        spec.redundancy.max(1)
    }
}

impl Hub {
    /// A task accepted at `now`, its workers decided by the hub's policy.
    pub(in crate::hub) fn accepted_task(
        &self,
        spec: TaskSpec,
        submitter: NodeId,
        origin: Origin,
        now: Millis,
    ) -> Task {
        let workers = self.replication.workers(&spec, &OriginKind::of(&origin));
        Task::new(spec, submitter, origin, workers, now)
    }

    /// Runs tasks under `policy` instead of [`Fixed`].
    pub fn with_replication(mut self, policy: impl ReplicationPolicy + 'static) -> Self {
        self.replication = Box::new(policy);
        self
    }
}
