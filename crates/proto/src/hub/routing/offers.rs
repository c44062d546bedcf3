//! Offers: a task short of workers is offered in bounded rounds to capable peers, least loaded
//! first and at random among equals (`routing/peers.rs`), and again every `offer_round_ms` until
//! enough have claimed it. Offering to everyone would cost O(peers) frames per task. A peer from
//! the address block of one of the task's workers is neither offered it nor let claim it
//! (`routing/net_group.rs`).

use edgenet_core::NodeId;
use edgenet_core::task::TaskId;
use rand_core::Rng;

use crate::Millis;
use crate::hub::Hub;
use crate::hub::routing::net_group::NetGroup;
use crate::hub::routing::origin::Audience;
use crate::hub::routing::peers::Peers;
use crate::hub::routing::tasks::{Task, WorkState};
use crate::hub::timers::Timer;
use crate::message::RelayMsg;

/// A canary is offered again every this many offer rounds (5 s by default).
pub const CANARY_ROUNDS: u64 = 10;

impl Hub {
    /// One round of offers: up to `offers_per_round` capable peers not yet asked in this sweep.
    pub(in crate::hub) fn offer(&mut self, id: TaskId, now: Millis) {
        let Some(task) = self.tasks.get_mut(&id) else {
            return;
        };
        if !task.needs_workers() {
            self.timers.cancel(&Timer::OfferRound(id));
            return;
        }
        // A canary waits for its one worker, which may be paused or busy: asking it twice a
        // second would cost a relay with thousands of new identities that never claim theirs
        // thousands of frames a second.
        let round = match task.origin.audience() {
            Audience::One(_) => self.config.offer_round_ms * CANARY_ROUNDS,
            _ => self.config.offer_round_ms,
        };
        self.timers.set(Timer::OfferRound(id), now + round);
        let offer = RelayMsg::Offer {
            task: id,
            kind: task.spec.kind,
            submitter: *task.submitter.as_bytes(),
        };
        match task.origin.audience() {
            // A canary is offered to the one worker it was made for, round after round.
            Audience::One(worker) => {
                self.send_to(&worker, &offer);
                return;
            }
            // A shard task is offered to the shard's live replicas, each once.
            Audience::Holders(holders) => {
                let fresh: Vec<NodeId> = holders
                    .iter()
                    .filter(|n| !task.has_had(n) && !task.offered.contains(n))
                    .copied()
                    .collect();
                task.offered.extend(fresh.iter().copied());
                for node in fresh {
                    self.send_to(&node, &offer);
                }
                return;
            }
            Audience::Capable => {}
        }
        let taken = worker_networks(task, &self.peers);
        let peers = &self.peers;
        let mut candidates =
            peers.least_loaded(task.spec.kind, self.config.offers_per_round, |n| {
                *n != task.submitter
                    && !task.has_had(n)
                    && !task.offered.contains(n)
                    && !shares_network(peers, n, &taken)
            });
        // Distrusted peers come last in the order; while enough trusted ones are in the round,
        // they are not asked at all (a quick claim must not win them a task).
        let trusted = candidates
            .iter()
            .filter(|n| peers.get(n).is_some_and(|p| !p.is_distrusted()))
            .count();
        if trusted >= task.workers_short() {
            candidates.retain(|n| peers.get(n).is_some_and(|p| !p.is_distrusted()));
        }
        if candidates.is_empty() {
            // Everyone capable was asked: the next round starts a new sweep (busy peers may be
            // free by then).
            task.offered.clear();
            return;
        }
        for node in candidates {
            self.offer_to(id, node);
        }
    }

    /// Offers the task to one peer, if it can take it.
    pub(in crate::hub) fn offer_to(&mut self, id: TaskId, node: NodeId) {
        let Some(task) = self.tasks.get_mut(&id) else {
            return;
        };
        let Some(peer) = self.peers.get(&node) else {
            return;
        };
        if !task.needs_workers()
            || task.submitter == node
            || task.has_had(&node)
            || !peer.runs(task.spec.kind)
            || !matches!(task.origin.audience(), Audience::Capable)
        {
            return;
        }
        let offer = RelayMsg::Offer {
            task: id,
            kind: task.spec.kind,
            submitter: *task.submitter.as_bytes(),
        };
        let conn = peer.conn;
        task.offered.push(node);
        self.peers.offered(&node, self.rng.next_u64());
        self.send(conn, &offer);
    }
}

/// The address blocks of the task's workers (those not lost).
pub(in crate::hub) fn worker_networks(task: &Task, peers: &Peers) -> Vec<NetGroup> {
    task.work
        .iter()
        .filter(|w| w.state != WorkState::Lost)
        .filter_map(|w| peers.get(&w.worker).and_then(|p| p.network))
        .collect()
}

/// Whether `node` connects from one of the blocks `taken`.
pub(in crate::hub) fn shares_network(peers: &Peers, node: &NodeId, taken: &[NetGroup]) -> bool {
    peers
        .get(node)
        .and_then(|p| p.network)
        .is_some_and(|g| taken.contains(&g))
}
