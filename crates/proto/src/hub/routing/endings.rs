//! How tasks and peers end: a handshake or an assignment past its deadline, a task that expires
//! or cannot be staffed, a peer that leaves (touching only the tasks it is part of), a task that
//! fails, and retirement into the history the API shows.

use edgenet_core::task::TaskId;
use edgenet_core::{ErrorCode, NodeId};

use crate::Millis;
use crate::error::ProtoError;
use crate::hub::timers::Timer;
use crate::hub::{ConnId, Hub, HubEvent, Output, TaskStatus, WorkState, events};
use crate::message::RelayMsg;

/// What a payload a submitter withheld counts for against its message rate: a tenth of the
/// default minute's window, so an identity withholds at most about ten a minute.
pub const WITHHELD_PAYLOAD_COST: u64 = 600;

impl Hub {
    pub(in crate::hub) fn handshake_timed_out(&mut self, conn: ConnId) {
        if self.conns.awaits_hello(conn) {
            self.send(conn, &RelayMsg::error(&ProtoError::HandshakeTimeout));
            self.out.push_back(Output::Close(conn));
            self.conns.remove(conn);
        }
    }

    pub(in crate::hub) fn expire_task(&mut self, id: TaskId, now: Millis) {
        let Some(task) = self.tasks.get(&id).filter(|t| t.is_open()) else {
            return;
        };
        let (submitter, by_node) = (task.submitter, task.origin.asked_by_a_node());
        let err = ProtoError::TaskExpired(format!(
            "{} of {} results by the deadline",
            task.in_state(WorkState::Returned).count(),
            task.workers
        ));
        // Results that need nobody's word are paid for, verdict or not (`economy/verdicts.rs`).
        if by_node && self.settle_by_commitments(id, &err, now) {
            return;
        }
        self.fail_and_tell(id, submitter, &err);
    }

    /// Fails an open task (refunding its escrow) and tells its submitter why.
    pub(in crate::hub) fn fail_and_tell(
        &mut self,
        id: TaskId,
        submitter: NodeId,
        err: &ProtoError,
    ) {
        self.fail_task(id, err);
        self.send_to(&submitter, &RelayMsg::task_failed(id, err));
    }

    /// A task still short of workers past the staffing bound, with fewer peers online that run
    /// its kind than it needs, fails (EN-223): no number of offer rounds can staff it. True if
    /// it did.
    pub(in crate::hub) fn understaffed(&mut self, id: TaskId, now: Millis) -> bool {
        let bound = self.config.staffing_timeout_ms;
        let Some(task) = self
            .tasks
            .get(&id)
            .filter(|t| t.is_open() && t.origin.offered_to_any())
        else {
            return false;
        };
        if bound == 0 || now < task.created + bound {
            return false;
        }
        let (kind, submitter) = (task.spec.kind, task.submitter);
        let need = usize::from(task.workers);
        let capable = self
            .peers
            .iter()
            .filter(|(n, p)| **n != submitter && p.runs(kind))
            .count();
        if capable >= need {
            return false;
        }
        let err = ProtoError::NotEnoughWorkers(format!(
            "{capable} of the {need} peers this task needs run {} (waited {} s)",
            kind.name(),
            bound / 1000
        ));
        self.fail_and_tell(id, submitter, &err);
        true
    }

    /// A worker missed its deadline: its assignment is lost. True if it was still assigned.
    pub(in crate::hub) fn assignment_timed_out(
        &mut self,
        id: TaskId,
        worker: &[u8; 32],
        now: Millis,
    ) -> bool {
        let Some(task) = self.tasks.get_mut(&id).filter(|t| t.is_open()) else {
            return false;
        };
        let Some(node) = task.assigned_worker(worker) else {
            return false;
        };
        if task.awaits_payload(&node) {
            // The submitter's fault, not the worker's: the task ends, its workers are free, and
            // the submitter's window pays for the time it held them.
            let submitter = task.submitter;
            let err = ProtoError::PayloadWithheld;
            self.fail_and_tell(id, submitter, &err);
            // Over its window, its next message closes the connection.
            let _ = self.charge(submitter, WITHHELD_PAYLOAD_COST, now);
            return false;
        }
        let lost = task.lose(&node, &mut self.peers, &mut self.timers);
        if lost {
            self.stats.reassignments += 1;
            let late = ProtoError::TaskExpired("the assignment passed its deadline".into());
            self.tell_worker(node, id, &late);
        }
        lost
    }

    /// Tells a worker that a task it claimed or holds is not its own any more, so that it frees
    /// the job slot: a `TaskFailed` about a task it did not submit.
    pub(in crate::hub) fn tell_worker(&mut self, worker: NodeId, task: TaskId, why: &ProtoError) {
        let msg = RelayMsg::TaskFailed {
            task,
            code: why.code().into(),
            message: why.to_string(),
        };
        self.send_to(&worker, &msg);
    }

    pub(in crate::hub) fn remove_peer(&mut self, node: NodeId, now: Millis) {
        if let Some(p) = self.peers.get(&node).filter(|p| p.is_local()) {
            let role = events::role_name(p.info.role);
            self.event(HubEvent::PeerLeft {
                node: node.to_string(),
                role,
            });
        }
        self.peers.remove(&node);
        self.end_routes_of(&node);
        self.timers.cancel(&Timer::Uptime(*node.as_bytes()));
        self.timers.cancel(&Timer::WorkRetry(*node.as_bytes()));
        self.withdraw_canaries(&node);
        let left = RelayMsg::PeerLeft {
            node: *node.as_bytes(),
        };
        for other in self.peers.announce_to(self.config.max_peers_announced) {
            self.send(other, &left);
        }
        // Only the tasks it is part of: a departure costs what the peer was doing.
        let involved = self.tasks.open_involving(&node);
        self.effort.leave_tasks += involved.len() as u64;
        for id in involved {
            let Some(task) = self.tasks.get_mut(&id) else {
                continue;
            };
            if task.submitter == node {
                self.fail_task(
                    id,
                    &ProtoError::NotAllowed("the submitter disconnected".into()),
                );
                continue;
            }
            let shard = task.shard().map(|s| s.target.shard);
            if task.lose(&node, &mut self.peers, &mut self.timers) {
                self.stats.reassignments += 1;
                match shard {
                    // Its other holders are all assigned: none is left to take its part.
                    Some(shard) => {
                        let submitter = task.submitter;
                        let err = crate::error::CollectionRefusal::HolderLeft(shard).into();
                        self.fail_and_tell(id, submitter, &err);
                    }
                    None => self.offer(id, now),
                }
            }
        }
        self.storage_node_left(&node, now);
    }

    pub(in crate::hub) fn fail_task(&mut self, id: TaskId, err: &ProtoError) {
        self.refund(id);
        if let Some(task) = self.tasks.get_mut(&id) {
            task.status = TaskStatus::Failed;
            task.failure = Some(format!("{}: {err}", err.reported_code()));
            self.stats.tasks_failed += 1;
            if task.origin.asked_by_a_node() {
                self.metrics.kind_mut(task.spec.kind).failed += 1;
                let event = HubEvent::TaskFailed {
                    task: id.to_string(),
                    kind: task.spec.kind.name(),
                    code: err.code(),
                };
                self.event(event);
            }
            self.retire(id);
        }
    }

    /// Ends a task and keeps it for the API until the history is full. Workers still assigned are
    /// told it ended.
    pub(in crate::hub) fn retire(&mut self, id: TaskId) {
        let running: Vec<NodeId> = self
            .tasks
            .get(&id)
            .map(|t| t.in_state(WorkState::Assigned).map(|w| w.worker).collect())
            .unwrap_or_default();
        let ended = ProtoError::UnknownTask(format!("{id}: the task ended"));
        for worker in running {
            self.tell_worker(worker, id, &ended);
        }
        self.record_task(id);
        // A shard task's replicas outvoted on evidence (exact results: the commitments decide).
        let shard = self.tasks.get(&id).and_then(|t| {
            let outvoted = if t.status == TaskStatus::Verified && t.proven {
                t.outvoted.clone()
            } else {
                Vec::new()
            };
            t.shard().map(|s| (s.target, outvoted))
        });
        self.tasks.retire(
            id,
            self.config.finished_history,
            &mut self.peers,
            &mut self.timers,
        );
        if let Some((target, outvoted)) = shard {
            self.drop_holders(target, &outvoted);
            self.shard_task_ended(target);
        }
    }
}
