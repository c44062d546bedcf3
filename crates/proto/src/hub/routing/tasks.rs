//! Tasks and their work: who is assigned, what came back, and the transitions between. A worker's
//! job count ([`Peers`]) and its assignment timer change only here, with the work's state.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use edgenet_core::NodeId;
use edgenet_core::task::TaskId;
use serde::Serialize;

use crate::Millis;
use crate::hub::routing::origin::{Canary, Origin, ShardTask};
use crate::hub::routing::peers::Peers;
use crate::hub::timers::{Timer, TimerTable};
use crate::message::TaskSpec;

/// A worker's part in a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkState {
    /// Running: the result is due by the work's deadline.
    Assigned,
    /// The result came in.
    Returned,
    /// The worker left or missed its deadline; someone else was asked.
    Lost,
}

/// Where a task stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskStatus {
    /// Waiting for workers or results.
    Open,
    /// Its submitter gave a verdict.
    Verified,
    /// It failed or expired.
    Failed,
}

/// One name per state: what `/api/tasks` shows (serialized) and what tests compare.
macro_rules! named {
    ($ty:ident { $($variant:ident => $name:literal),* $(,)? }) => {
        impl $ty {
            /// Its name in the HTTP API.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $name),* }
            }
        }
        impl Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl PartialEq<&str> for $ty {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }
    };
}
named!(WorkState { Assigned => "assigned", Returned => "returned", Lost => "lost" });
named!(TaskStatus { Open => "open", Verified => "verified", Failed => "failed" });

/// A result commitment and the worker's signature over it (`result_signing_message`).
pub(in crate::hub) type SignedCommitment = ([u8; 32], Vec<u8>);

/// One worker's part (its deadline is a [`Timer::Assignment`]).
pub(in crate::hub) struct Work {
    pub(in crate::hub) worker: NodeId,
    pub(in crate::hub) state: WorkState,
    /// When it was assigned, and how long the result took (the work the early-adopter curve counts).
    assigned_at: Millis,
    pub(in crate::hub) work_ms: Millis,
    /// The worker's signed commitment to its result: evidence if the result is outvoted.
    pub(in crate::hub) commitment: Option<SignedCommitment>,
    /// Whether the submitter sent the worker its payload (until then the assignment's deadline
    /// is the payload wait).
    pub(in crate::hub) payload_sent: bool,
}

/// A task the hub routes.
pub(in crate::hub) struct Task {
    pub(in crate::hub) spec: TaskSpec,
    /// The submitting node (for a canary, its masked submitter: `hub/economy/canary.rs`).
    pub(in crate::hub) submitter: NodeId,
    pub(in crate::hub) origin: Origin,
    /// Workers it runs on, decided when it was accepted (`hub/routing/replication.rs`).
    pub(in crate::hub) workers: u8,
    pub(in crate::hub) created: Millis,
    pub(in crate::hub) expires: Millis,
    pub(in crate::hub) work: Vec<Work>,
    pub(in crate::hub) status: TaskStatus,
    pub(in crate::hub) agreeing: Vec<NodeId>,
    pub(in crate::hub) outvoted: Vec<NodeId>,
    pub(in crate::hub) failure: Option<String>,
    /// Peers offered the task in the current sweep.
    pub(in crate::hub) offered: Vec<NodeId>,
    /// Claims waiting for the draw at the end of the claim window (each from a peer offered
    /// the task, once: no more than `offered`).
    pub(in crate::hub) claims: Vec<NodeId>,
    /// Its verdict rests on evidence the relay checked (result commitments for an exact kind,
    /// revealed results for the others), not on the submitter's word: only then does it
    /// withhold pay or move reputation (`hub/economy/settle.rs`).
    pub(in crate::hub) proven: bool,
}

impl Task {
    /// A task just accepted: open, unassigned, expiring after its own timeout, to run on
    /// `workers` workers.
    pub(in crate::hub) fn new(
        spec: TaskSpec,
        submitter: NodeId,
        origin: Origin,
        workers: u8,
        now: Millis,
    ) -> Self {
        let expires = now + Millis::from(spec.timeout_ms);
        Self {
            spec,
            submitter,
            origin,
            workers,
            created: now,
            expires,
            work: Vec::new(),
            status: TaskStatus::Open,
            agreeing: Vec::new(),
            outvoted: Vec::new(),
            failure: None,
            offered: Vec::new(),
            claims: Vec::new(),
            proven: false,
        }
    }

    pub(in crate::hub) fn is_open(&self) -> bool {
        self.status == TaskStatus::Open
    }

    /// The canary this task is, if the relay made it.
    pub(in crate::hub) fn canary(&self) -> Option<&Canary> {
        self.origin.canary()
    }

    /// The shard this task runs on, if it is a collection task.
    pub(in crate::hub) fn shard(&self) -> Option<&ShardTask> {
        self.origin.shard()
    }

    fn active(&self) -> usize {
        self.work
            .iter()
            .filter(|w| w.state != WorkState::Lost)
            .count()
    }

    /// Workers it still needs.
    pub(in crate::hub) fn workers_short(&self) -> usize {
        usize::from(self.workers).saturating_sub(self.active())
    }

    pub(in crate::hub) fn needs_workers(&self) -> bool {
        self.is_open() && self.active() < usize::from(self.workers)
    }

    pub(in crate::hub) fn has_had(&self, node: &NodeId) -> bool {
        self.work.iter().any(|w| w.worker == *node)
    }

    pub(in crate::hub) fn in_state(&self, state: WorkState) -> impl Iterator<Item = &Work> {
        self.work.iter().filter(move |w| w.state == state)
    }

    /// The worker whose key is `key`, if it is assigned now (matched by bytes: building a
    /// [`NodeId`] would decompress a curve point, and this is the relay's hottest path).
    pub(in crate::hub) fn assigned_worker(&self, key: &[u8; 32]) -> Option<NodeId> {
        self.in_state(WorkState::Assigned)
            .find(|w| w.worker.as_bytes() == key)
            .map(|w| w.worker)
    }

    /// `worker` takes the task, due by `deadline`.
    pub(in crate::hub) fn assign(
        &mut self,
        worker: NodeId,
        now: Millis,
        deadline: Millis,
        peers: &mut Peers,
        timers: &mut TimerTable,
    ) {
        self.work.push(Work {
            worker,
            state: WorkState::Assigned,
            assigned_at: now,
            work_ms: 0,
            commitment: None,
            payload_sent: false,
        });
        peers.job_started(&worker);
        timers.set(
            Timer::Assignment(self.spec.id, *worker.as_bytes()),
            deadline,
        );
        if !self.needs_workers() {
            timers.cancel(&Timer::OfferRound(self.spec.id));
        }
    }

    /// The submitter sent `worker` its payload: its deadline becomes `deadline`. False if the
    /// worker holds no assignment, or had its payload already (the deadline stays).
    pub(in crate::hub) fn payload_sent(
        &mut self,
        worker: &NodeId,
        deadline: Millis,
        timers: &mut TimerTable,
    ) -> bool {
        let id = self.spec.id;
        let Some(work) = self
            .work
            .iter_mut()
            .find(|w| w.worker == *worker && w.state == WorkState::Assigned && !w.payload_sent)
        else {
            return false;
        };
        work.payload_sent = true;
        timers.set(Timer::Assignment(id, *worker.as_bytes()), deadline);
        true
    }

    /// Whether `worker`'s assignment still waits for its payload.
    pub(in crate::hub) fn awaits_payload(&self, worker: &NodeId) -> bool {
        self.work
            .iter()
            .any(|w| w.worker == *worker && w.state == WorkState::Assigned && !w.payload_sent)
    }

    /// `worker` returned its result with its signed commitment; false if it holds no assignment.
    pub(in crate::hub) fn return_work(
        &mut self,
        worker: &NodeId,
        now: Millis,
        commitment: SignedCommitment,
        peers: &mut Peers,
        timers: &mut TimerTable,
    ) -> bool {
        let Some(work) = self.end_assignment(worker, WorkState::Returned, peers, timers) else {
            return false;
        };
        work.work_ms = now.saturating_sub(work.assigned_at);
        work.commitment = Some(commitment);
        true
    }

    /// `worker`'s assignment is lost (it left or missed its deadline); false if it held none.
    pub(in crate::hub) fn lose(
        &mut self,
        worker: &NodeId,
        peers: &mut Peers,
        timers: &mut TimerTable,
    ) -> bool {
        self.end_assignment(worker, WorkState::Lost, peers, timers)
            .is_some()
    }

    /// Moves `worker`'s assignment to `to`: its job slot and its deadline go with it.
    fn end_assignment(
        &mut self,
        worker: &NodeId,
        to: WorkState,
        peers: &mut Peers,
        timers: &mut TimerTable,
    ) -> Option<&mut Work> {
        let id = self.spec.id;
        let work = self
            .work
            .iter_mut()
            .find(|w| w.worker == *worker && w.state == WorkState::Assigned)?;
        work.state = to;
        peers.job_ended(worker);
        timers.cancel(&Timer::Assignment(id, *worker.as_bytes()));
        Some(work)
    }

    /// The task ended: assignments still outstanding no longer load their workers, and none of
    /// its timers is needed any more.
    pub(in crate::hub) fn end(&mut self, peers: &mut Peers, timers: &mut TimerTable) {
        let assigned: Vec<NodeId> = self
            .in_state(WorkState::Assigned)
            .map(|w| w.worker)
            .collect();
        for worker in assigned {
            self.lose(&worker, peers, timers);
        }
        timers.cancel(&Timer::TaskExpiry(self.spec.id));
        timers.cancel(&Timer::OfferRound(self.spec.id));
        timers.cancel(&Timer::ClaimDraw(self.spec.id));
        self.claims.clear();
    }
}

/// Open tasks and the finished ones kept for the API, with the open ones indexed by the nodes in
/// them, so that a node's departure or its submissions cost what it is part of, not every task.
#[derive(Default)]
pub(in crate::hub) struct Tasks {
    map: BTreeMap<TaskId, Task>,
    finished: VecDeque<TaskId>,
    /// Open tasks.
    open: BTreeSet<TaskId>,
    /// Open tasks by each node in them: the submitter, a canary's worker, every worker assigned.
    by_node: BTreeMap<NodeId, BTreeSet<TaskId>>,
}

impl Tasks {
    pub(in crate::hub) fn get(&self, id: &TaskId) -> Option<&Task> {
        self.map.get(id)
    }

    pub(in crate::hub) fn get_mut(&mut self, id: &TaskId) -> Option<&mut Task> {
        self.map.get_mut(id)
    }

    pub(in crate::hub) fn contains(&self, id: &TaskId) -> bool {
        self.map.contains_key(id)
    }

    /// Adds an accepted task and starts its expiry timer.
    pub(in crate::hub) fn insert(&mut self, task: Task, timers: &mut TimerTable) {
        let id = task.spec.id;
        timers.set(Timer::TaskExpiry(id), task.expires);
        self.link(task.submitter, id);
        if let Some(worker) = task.canary().map(|c| c.worker) {
            self.link(worker, id);
        }
        self.open.insert(id);
        self.map.insert(id, task);
    }

    /// `worker` takes task `id`, due by `deadline` ([`Task::assign`]).
    pub(in crate::hub) fn assign(
        &mut self,
        id: TaskId,
        worker: NodeId,
        now: Millis,
        deadline: Millis,
        peers: &mut Peers,
        timers: &mut TimerTable,
    ) {
        if let Some(task) = self.map.get_mut(&id) {
            task.assign(worker, now, deadline, peers, timers);
            self.link(worker, id);
        }
    }

    fn link(&mut self, node: NodeId, id: TaskId) {
        self.by_node.entry(node).or_default().insert(id);
    }

    /// Takes a task that is ending out of the open index.
    fn close(&mut self, id: &TaskId) {
        let Some(task) = self.map.get(id) else {
            return;
        };
        let nodes: BTreeSet<NodeId> = std::iter::once(task.submitter)
            .chain(task.canary().map(|c| c.worker))
            .chain(task.work.iter().map(|w| w.worker))
            .collect();
        for node in nodes {
            if let Some(ids) = self.by_node.get_mut(&node) {
                ids.remove(id);
                if ids.is_empty() {
                    self.by_node.remove(&node);
                }
            }
        }
        self.open.remove(id);
    }

    /// Forgets an open task outright (a withdrawn canary), with its timers.
    pub(in crate::hub) fn remove(
        &mut self,
        id: &TaskId,
        peers: &mut Peers,
        timers: &mut TimerTable,
    ) {
        self.close(id);
        if let Some(mut task) = self.map.remove(id) {
            task.end(peers, timers);
        }
    }

    /// Ends a task that was verified or failed, and keeps it for the API until `history` newer
    /// ones have finished.
    pub(in crate::hub) fn retire(
        &mut self,
        id: TaskId,
        history: usize,
        peers: &mut Peers,
        timers: &mut TimerTable,
    ) {
        self.close(&id);
        if let Some(task) = self.map.get_mut(&id) {
            task.end(peers, timers);
        }
        self.finished.push_back(id);
        while self.finished.len() > history {
            if let Some(old) = self.finished.pop_front() {
                self.map.remove(&old);
            }
        }
    }

    /// The open tasks `node` is part of (submitter, canary's worker, assigned worker), in id
    /// order.
    pub(in crate::hub) fn open_involving(&self, node: &NodeId) -> Vec<TaskId> {
        self.by_node
            .get(node)
            .map(|ids| ids.iter().copied().filter(|id| self.is_open(id)).collect())
            .unwrap_or_default()
    }

    /// The open index lists exactly the open tasks, under exactly the nodes in them.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(in crate::hub) fn check_index(&self) -> Result<(), String> {
        let mut want: BTreeMap<NodeId, BTreeSet<TaskId>> = BTreeMap::new();
        let mut open = BTreeSet::new();
        for (id, task) in self.map.iter().filter(|(_, t)| t.is_open()) {
            open.insert(*id);
            let nodes = std::iter::once(task.submitter)
                .chain(task.canary().map(|c| c.worker))
                .chain(task.work.iter().map(|w| w.worker));
            for node in nodes {
                want.entry(node).or_default().insert(*id);
            }
        }
        if open != self.open {
            return Err(format!("open index {:?} != open tasks {open:?}", self.open));
        }
        if want != self.by_node {
            return Err("the index of tasks by node differs from the open tasks".into());
        }
        Ok(())
    }

    fn is_open(&self, id: &TaskId) -> bool {
        self.map.get(id).is_some_and(Task::is_open)
    }

    pub(in crate::hub) fn iter(&self) -> impl Iterator<Item = (&TaskId, &Task)> {
        self.map.iter()
    }

    /// Open tasks, in id order (what is open, not the history kept).
    pub(in crate::hub) fn open(&self) -> impl Iterator<Item = (&TaskId, &Task)> {
        self.open
            .iter()
            .filter_map(|id| self.map.get_key_value(id))
            .filter(|(_, t)| t.is_open())
    }

    /// Open tasks of `submitter`.
    pub(in crate::hub) fn open_of(&self, submitter: &NodeId) -> usize {
        self.by_node.get(submitter).map_or(0, |ids| {
            ids.iter()
                .filter_map(|id| self.map.get(id))
                .filter(|t| t.is_open() && t.submitter == *submitter)
                .count()
        })
    }

    #[cfg(any(test, feature = "fuzzing"))]
    pub(in crate::hub) fn finished_len(&self) -> usize {
        self.finished.len()
    }
}
