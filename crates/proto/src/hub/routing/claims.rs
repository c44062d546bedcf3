//! Claims: a peer offered a task asks for it, and the hub takes or refuses the claim.
//!
//! A task open to any capable peer does not go to whoever claims first: that would hand every
//! task to the peers nearest the relay, or to the fastest claimers, which is what a group of
//! colluding workers would make itself. Claims that arrive within `HubConfig::claim_window_ms`
//! of the first are gathered, and the task's workers are drawn from them at random; the rest are
//! told the task has all its workers. The window is for tasks of two workers or more, where
//! colluders must be drawn together to win a vote; a one-worker task takes the first claim (its
//! offers already went out in random order), so it costs no latency. Canaries (one worker) and
//! shard tasks (the shard's holders) take their claims as they come.

use edgenet_core::NodeId;
use edgenet_core::task::TaskId;
use rand_core::Rng;

use crate::Millis;
use crate::error::ProtoError;
use crate::hub::routing::offers::{shares_network, worker_networks};
use crate::hub::routing::origin::Audience;
use crate::hub::timers::Timer;
use crate::hub::{Hub, HubEvent};
use crate::message::RelayMsg;

impl Hub {
    /// `node` claims task `id`.
    pub(in crate::hub) fn on_claim(&mut self, node: NodeId, id: TaskId, now: Millis) {
        let Some(task) = self.tasks.get(&id) else {
            self.refuse_claim(node, id, "the task is unknown or finished");
            return;
        };
        if task.canary().is_some() {
            if self.assign_canary(id, node, now) {
                // A new worker that claims its first canary answers offers: it goes ahead of
                // identities that only advertise kinds.
                self.peers.claimed(&node);
            } else {
                self.refuse_claim(node, id, "the task was not offered to this node");
            }
            return;
        }
        if task.offered.contains(&node) {
            // It answers offers, taken or not: a claim that lost the draw must not leave the
            // winner alone in the first rank of the offer order.
            self.peers.claimed(&node);
        }
        if let Some(reason) = self.claim_refusal(id, &node) {
            self.refuse_claim(node, id, reason);
            return;
        }
        let window = self.config.claim_window_ms;
        let Some(task) = self.tasks.get_mut(&id) else {
            return;
        };
        if window == 0 || task.workers < 2 || !matches!(task.origin.audience(), Audience::Capable) {
            self.take_claim(id, node, now);
            return;
        }
        if !task.claims.contains(&node) {
            task.claims.push(node);
        }
        if task.claims.len() == 1 {
            self.timers.set(Timer::ClaimDraw(id), now + window);
        }
    }

    /// The claim window of task `id` closed: its workers are drawn at random from the claims.
    pub(in crate::hub) fn draw_claims(&mut self, id: TaskId, now: Millis) {
        let Some(task) = self.tasks.get_mut(&id) else {
            return;
        };
        let mut claims = std::mem::take(&mut task.claims);
        // Fisher–Yates with the hub's randomness, then trusted peers first (a stable sort
        // keeps each tier in its random order).
        for i in (1..claims.len()).rev() {
            let j = usize::try_from(self.rng.next_u64() % (i as u64 + 1)).unwrap_or(i);
            claims.swap(i, j);
        }
        claims.sort_by_key(|n| self.peers.get(n).is_some_and(|p| p.is_distrusted()));
        for node in claims {
            // Checked again: the task may be full by now, the peer gone, or one of its network's
            // peers drawn before it.
            match self.claim_refusal(id, &node) {
                None => self.take_claim(id, node, now),
                Some(reason) => self.refuse_claim(node, id, reason),
            }
        }
    }

    /// Why `node` may not work on task `id` now, if it may not.
    fn claim_refusal(&self, id: TaskId, node: &NodeId) -> Option<&'static str> {
        let Some(task) = self.tasks.get(&id) else {
            return Some("the task is unknown or finished");
        };
        // A shard task runs on its holders only, whatever else they list.
        let runs = match task.origin.audience() {
            Audience::Holders(holders) => holders.contains(node),
            Audience::One(_) | Audience::Capable => {
                self.peers.get(node).is_some_and(|p| p.runs(task.spec.kind))
            }
        };
        if !task.needs_workers() {
            Some("the task has all its workers")
        } else if !runs || !task.offered.contains(node) || task.has_had(node) {
            Some("the task was not offered to this node")
        } else if task.submitter == *node || !self.peers.contains(&task.submitter) {
            Some("the task's submitter is not online")
        } else if shares_network(&self.peers, node, &worker_networks(task, &self.peers)) {
            Some("another worker of this task connects from the same network")
        } else {
            None
        }
    }

    /// Assigns task `id` to `node`, whose claim was checked: the worker is told what to run and
    /// the submitter whom to send the payload.
    fn take_claim(&mut self, id: TaskId, node: NodeId, now: Millis) {
        // First the submitter's payload must come; the result's time starts with it.
        let deadline = now
            + self
                .config
                .payload_wait_ms
                .min(self.config.assignment_timeout_ms);
        let Some((kind, submitter)) = self.tasks.get(&id).map(|t| (t.spec.kind, t.submitter))
        else {
            return;
        };
        self.tasks
            .assign(id, node, now, deadline, &mut self.peers, &mut self.timers);
        let role = self.peers.get(&node).map(|p| p.info.role);
        self.event(HubEvent::TaskAssigned {
            task: id.to_string(),
            kind: kind.name(),
            worker: node.to_string(),
            role: role.map_or("unknown", crate::hub::events::role_name),
        });
        let (Some(worker), Some(owner)) = (self.peers.get(&node), self.peers.get(&submitter))
        else {
            return;
        };
        let assignment = RelayMsg::Assignment {
            task: id,
            kind,
            submitter: owner.info.clone(),
            deadline_ms: self.config.assignment_deadline_ms(),
        };
        let assigned = RelayMsg::Assigned {
            task: id,
            worker: worker.info.clone(),
        };
        self.send_to(&node, &assignment);
        self.send_to(&submitter, &assigned);
    }

    /// Tells `node` its claim on `task` was not taken (it frees the job slot it kept for it).
    pub(in crate::hub) fn refuse_claim(&mut self, node: NodeId, task: TaskId, reason: &str) {
        self.tell_worker(
            node,
            task,
            &ProtoError::NotAllowed(format!("claim not taken: {reason}")),
        );
    }
}
