//! Cross-relay work in a cluster: each relay lends its workers to the others, and borrows theirs
//! for the tasks its own peers cannot staff. A task stays with the relay it was submitted to (its
//! escrow, offers, deadlines, verdict and settlement happen there, under every rule of that
//! hub); only the frames between the task and a borrowed worker cross, through the worker's own
//! relay, which sees the same ciphertext it would see for its own tasks.
//!
//! ```text
//! lender B --Announcement (signed: B's workers, at most 64)--> every relay
//! borrower A: each announced worker is a peer on a virtual connection, offered work after A's own
//! A --Forward(to worker: Offer, Assignment, Payload, Verdict, entries)--> B --> worker's socket
//! worker --Claim / Result--> B --Forward(from worker)--> A's hub, as from that peer
//! ```
//!
//! An announcement also lists the submitters with open tasks at its relay, and how many: a relay
//! counts those against its own bound on open tasks per submitter, so a submitter connected to
//! several relays holds the bound across them (within an announcement interval).
//!
//! Announcements are signed by the lending relay and taken only from the cluster's validators;
//! a relay that stops announcing has its workers dropped after [`BORROWED_TTL_MS`]. The lender
//! keeps one route per (task, worker) it forwarded an offer for, so that the worker's claim and
//! result go back to the task's relay, and counts a routed assignment as one of the worker's
//! jobs, so that it does not offer a busy worker more than its own tasks would.
//!
//! The transport between relays (NATS in the relay) is the adapter's; it carries
//! [`Output::Forward`] to the named relay and hands what arrives to [`Input::Forwarded`](crate::hub::Input::Forwarded).
//!
//! [`Output::Forward`]: crate::hub::Output::Forward

use std::collections::HashMap;

use edgenet_core::NodeId;
use edgenet_core::ledger::Account;
use edgenet_core::task::TaskId;

use crate::Millis;
use crate::error::ProtoError;
use crate::hub::routing::inbound::Decoded;
use crate::hub::timers::Timer;
use crate::hub::{ConnId, Hub, Output};
use crate::message::{ClientMsg, NodeKey, RelayMsg};

/// Workers one announcement lists (the least loaded first).
pub const MAX_ANNOUNCED_WORKERS: usize = 64;
/// Remote workers a relay borrows at once, from all the others together.
pub const MAX_BORROWED: usize = 256;
/// Routes (task, worker) a lending relay keeps for tasks of other relays.
pub const MAX_LENT: usize = 4_096;
/// Routes one worker of a lending relay may have (offers it has not answered included): a
/// flood of offers for one worker cannot fill the table for the others.
pub const MAX_LENT_PER_WORKER: usize = 64;
/// An offer's route ends this long after the offer unless the worker claimed (the task's relay
/// offers again in its next round if it still needs workers).
pub const OFFER_ROUTE_MS: Millis = 5_000;
/// Submitters with open tasks one announcement lists (those with the most first): what lets
/// every relay hold the bound on open tasks per submitter across the cluster.
pub const MAX_ANNOUNCED_SUBMITTERS: usize = 256;
/// Identities one announcement lists with their messages in the current rate window (the most
/// first): what lets every relay hold the message rate per identity across the cluster.
pub const MAX_ANNOUNCED_BUSY: usize = 256;
/// Largest announcement taken (64 workers of a few hundred bytes each fit well inside).
pub const MAX_ANNOUNCEMENT_LEN: usize = 64 * 1024;
/// How often a relay announces its workers (the adapter's clock).
pub const ANNOUNCE_INTERVAL_MS: Millis = 1_000;
/// A lender's workers are dropped when it has not announced for this long (three intervals).
pub const BORROWED_TTL_MS: Millis = 3 * ANNOUNCE_INTERVAL_MS;
/// Virtual connections of borrowed workers are numbered from here; relays number sockets from 1.
pub(in crate::hub) const REMOTE_CONN_BASE: ConnId = 1 << 62;

/// What an announcement's signature covers, after this domain: the relay's key and the frame.
pub(super) const ANNOUNCEMENT_DOMAIN: &[u8] = b"edgenet-announce-workers-v1";

/// Which way a forwarded frame goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From a task's relay to a worker it borrowed, through the worker's relay.
    ToWorker,
    /// From a lent worker back to its task's relay.
    FromWorker,
}

impl Direction {
    /// Its name on the wire (a header).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ToWorker => "to-worker",
            Self::FromWorker => "from-worker",
        }
    }

    /// The direction named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "to-worker" => Some(Self::ToWorker),
            "from-worker" => Some(Self::FromWorker),
            _ => None,
        }
    }
}

/// A frame for another relay of the cluster: for `worker`, one of that relay's peers this
/// relay borrowed ([`Direction::ToWorker`]), or from `worker`, one of this relay's peers, about
/// a task of that relay ([`Direction::FromWorker`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forward {
    /// The relay it goes to.
    pub relay: NodeId,
    /// The worker it is for or from.
    pub worker: NodeId,
    /// Which way.
    pub direction: Direction,
    /// The frame, as the worker sends or receives it.
    pub frame: Vec<u8>,
}

/// A route the lender keeps: its worker's frames about `task` go back to `relay`.
pub(super) struct Lent {
    relay: NodeId,
    /// The task's relay assigned it: it counts as one of the worker's jobs here.
    assigned: bool,
}

/// Both sides' state.
#[derive(Default)]
pub(in crate::hub) struct Remote {
    /// Borrowed workers: the relay each is on, and its virtual connection.
    pub(super) borrowed: HashMap<NodeId, (NodeId, ConnId)>,
    pub(super) by_conn: HashMap<ConnId, NodeId>,
    pub(super) next_conn: ConnId,
    pub(super) lent: HashMap<(TaskId, NodeId), Lent>,
    /// Routes per worker (the entries of `lent` that name it).
    pub(super) lent_per_worker: HashMap<NodeId, usize>,
    /// Open tasks per submitter at each other relay, as its last announcement said.
    pub(super) open_elsewhere: HashMap<NodeId, HashMap<NodeKey, u16>>,
    /// Messages per identity in its rate window at each other relay, likewise.
    pub(super) busy_elsewhere: HashMap<NodeId, HashMap<NodeKey, u32>>,
}

impl Remote {
    /// The relay and worker behind a virtual connection.
    pub(in crate::hub) fn borrowed_on(&self, conn: ConnId) -> Option<(NodeId, NodeId)> {
        if conn < REMOTE_CONN_BASE {
            return None;
        }
        let worker = self.by_conn.get(&conn)?;
        self.borrowed
            .get(worker)
            .map(|(relay, _)| (*relay, *worker))
    }

    /// Whether a route for `task` through `worker` is kept.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(in crate::hub) fn routes(&self, task: &TaskId, worker: &[u8; 32]) -> bool {
        self.lent
            .keys()
            .any(|(t, w)| t == task && w.as_bytes() == worker)
    }

    /// Routed assignments `worker` holds for other relays.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(in crate::hub) fn lent_jobs(&self, worker: &NodeId) -> u32 {
        let held = self
            .lent
            .iter()
            .filter(|((_, w), l)| w == worker && l.assigned)
            .count();
        u32::try_from(held).unwrap_or(u32::MAX)
    }

    /// A virtual connection is gone (from [`Input::Disconnect`](crate::hub::Input::Disconnect)).
    pub(in crate::hub) fn forget_borrowed(&mut self, conn: ConnId) {
        if let Some(worker) = self.by_conn.remove(&conn) {
            self.borrowed.remove(&worker);
        }
    }

    /// Open tasks `submitter` has at the other relays, as they last announced.
    pub(in crate::hub) fn open_elsewhere(&self, submitter: &NodeId) -> usize {
        self.open_elsewhere
            .values()
            .filter_map(|open| open.get(submitter.as_bytes()))
            .map(|&n| usize::from(n))
            .sum()
    }

    /// Messages `node` sent in its current rate windows at the other relays, as they last
    /// announced (`hub/routing/rates.rs`).
    pub(in crate::hub) fn messages_elsewhere(&self, node: &NodeId) -> u64 {
        self.busy_elsewhere
            .values()
            .filter_map(|busy| busy.get(node.as_bytes()))
            .map(|&n| u64::from(n))
            .sum()
    }

    /// Whether `relay` announced within [`BORROWED_TTL_MS`]: every relay of a cluster announces
    /// each interval, its list empty or not.
    pub(in crate::hub) fn is_alive(&self, relay: &NodeId) -> bool {
        self.open_elsewhere.contains_key(relay)
    }

    /// (borrowed workers, lent routes), for the API.
    pub(in crate::hub) fn counts(&self) -> (usize, usize) {
        (self.borrowed.len(), self.lent.len())
    }
}

impl Hub {
    /// A frame another relay forwarded: `ToWorker` for one of this relay's own peers, from a task
    /// of `relay` that borrowed it; `FromWorker` from a worker `relay` lent this relay, answered
    /// as any peer's frame (only claims and results cross). Refusals are returned, not answered:
    /// the frame's sender is another relay.
    pub(in crate::hub) fn on_forwarded(
        &mut self,
        relay: NodeId,
        worker: NodeId,
        direction: Direction,
        frame: &[u8],
        now: Millis,
    ) -> Result<(), ProtoError> {
        match direction {
            Direction::FromWorker => self.frame_of_borrowed(relay, worker, frame, now),
            Direction::ToWorker => self.frame_for_lent(relay, worker, frame, now),
        }
    }

    fn frame_of_borrowed(
        &mut self,
        relay: NodeId,
        worker: NodeId,
        frame: &[u8],
        now: Millis,
    ) -> Result<(), ProtoError> {
        let conn = match self.remote.borrowed.get(&worker) {
            Some(&(via, conn)) if via == relay => conn,
            _ => {
                return Err(ProtoError::NotAllowed(format!(
                    "{worker} is not a worker {relay} lends here"
                )));
            }
        };
        let inbound = self.decoder.decode(frame);
        let crosses = matches!(
            &inbound.0,
            Ok(Decoded::Msg(
                ClientMsg::Claim { .. } | ClientMsg::Result { .. }
            ))
        );
        if !crosses {
            return Err(ProtoError::NotAllowed(
                "only claims and results cross relays".into(),
            ));
        }
        self.on_inbound(conn, inbound, now)
    }

    fn frame_for_lent(
        &mut self,
        relay: NodeId,
        worker: NodeId,
        frame: &[u8],
        now: Millis,
    ) -> Result<(), ProtoError> {
        if !self.ledger.config().is_validator(&Account::of(&relay)) || relay == self.key.node_id() {
            return Err(ProtoError::NotAllowed(format!(
                "{relay} is not another relay of this cluster"
            )));
        }
        let conn = match self.peers.get(&worker) {
            Some(p) if p.via.is_none() => p.conn,
            _ => {
                return Err(ProtoError::UnknownTask(format!(
                    "{worker} is not on this relay"
                )));
            }
        };
        let msg = RelayMsg::decode(frame)?;
        match &msg {
            RelayMsg::Offer { task, .. } => self.route_offer(relay, *task, worker, now)?,
            RelayMsg::Assignment { task, .. } => {
                let lent = self
                    .remote
                    .lent
                    .get_mut(&(*task, worker))
                    .filter(|l| l.relay == relay && !l.assigned)
                    .ok_or_else(|| ProtoError::UnknownTask(format!("{task}: not offered")))?;
                lent.assigned = true;
                self.peers.job_started(&worker);
                let until = now + Millis::from(self.config.max_task_timeout_ms);
                self.timers
                    .set(Timer::Lent(*task, *worker.as_bytes()), until);
            }
            RelayMsg::Payload { task, .. } => {
                self.remote
                    .lent
                    .get(&(*task, worker))
                    .filter(|l| l.relay == relay && l.assigned)
                    .ok_or_else(|| ProtoError::UnknownTask(format!("{task}: not assigned")))?;
            }
            RelayMsg::Verdict { task, .. } | RelayMsg::TaskFailed { task, .. } => {
                self.end_route(*task, &worker, Some(relay));
            }
            // The task relay's answer to one of the worker's frames, and its payments.
            RelayMsg::Error { .. } | RelayMsg::Ledger(_) => {}
            _ => {
                return Err(ProtoError::NotAllowed(
                    "only task frames are forwarded to a lent worker".into(),
                ));
            }
        }
        self.stats.frames_out += 1;
        self.out.push_back(Output::Send(conn, frame.to_vec()));
        Ok(())
    }

    /// An offer for `worker` from `relay`'s task: the route its claim will take back.
    fn route_offer(
        &mut self,
        relay: NodeId,
        task: TaskId,
        worker: NodeId,
        now: Millis,
    ) -> Result<(), ProtoError> {
        let key = (task, worker);
        let remote = &mut self.remote;
        if let Some(lent) = remote.lent.get(&key) {
            if lent.relay != relay || lent.assigned {
                return Err(ProtoError::NotAllowed(format!("{task} is routed already")));
            }
        } else {
            let of_worker = remote.lent_per_worker.get(&worker).copied().unwrap_or(0);
            if remote.lent.len() >= MAX_LENT || of_worker >= MAX_LENT_PER_WORKER {
                return Err(ProtoError::LimitExceeded(format!(
                    "routes for other relays' tasks: {of_worker} of {MAX_LENT_PER_WORKER} for \
                     this worker, {} of {MAX_LENT} in all",
                    remote.lent.len()
                )));
            }
            remote.lent.insert(
                key,
                Lent {
                    relay,
                    assigned: false,
                },
            );
            *remote.lent_per_worker.entry(worker).or_insert(0) += 1;
        }
        self.timers
            .set(Timer::Lent(task, *worker.as_bytes()), now + OFFER_ROUTE_MS);
        Ok(())
    }

    /// Forgets a route (its task ended, its time ran out, or its worker left); an assignment it
    /// held no longer counts as the worker's job. With `relay`, only that relay's route.
    pub(in crate::hub) fn end_route(
        &mut self,
        task: TaskId,
        worker: &NodeId,
        relay: Option<NodeId>,
    ) {
        let key = (task, *worker);
        if relay.is_some_and(|r| self.remote.lent.get(&key).is_some_and(|l| l.relay != r)) {
            return;
        }
        if let Some(lent) = self.remote.lent.remove(&key) {
            if let Some(n) = self.remote.lent_per_worker.get_mut(worker) {
                *n -= 1;
                if *n == 0 {
                    self.remote.lent_per_worker.remove(worker);
                }
            }
            if lent.assigned {
                self.peers.job_ended(worker);
            }
            self.timers.cancel(&Timer::Lent(task, *worker.as_bytes()));
        }
    }

    /// Routes of a worker that left this relay.
    pub(in crate::hub) fn end_routes_of(&mut self, worker: &NodeId) {
        let tasks: Vec<TaskId> = self
            .remote
            .lent
            .keys()
            .filter(|(_, w)| w == worker)
            .map(|(t, _)| *t)
            .collect();
        for task in tasks {
            self.end_route(task, worker, None);
        }
    }

    /// A frame a lent worker sent about another relay's task: it goes there. True if it did.
    pub(in crate::hub) fn route_back(&mut self, worker: NodeId, msg: &ClientMsg) -> bool {
        let task = match msg {
            ClientMsg::Claim { task } | ClientMsg::Result { task, .. } => *task,
            _ => return false,
        };
        if self.tasks.contains(&task) {
            return false;
        }
        let Some(relay) = self.remote.lent.get(&(task, worker)).map(|l| l.relay) else {
            return false;
        };
        let Ok(frame) = msg.encode() else {
            return false;
        };
        self.forward(relay, worker, Direction::FromWorker, frame);
        true
    }

    /// Sends to a borrowed worker's virtual connection: through its relay.
    pub(in crate::hub) fn forward_to_worker(
        &mut self,
        relay: NodeId,
        worker: NodeId,
        frame: Vec<u8>,
    ) {
        self.forward(relay, worker, Direction::ToWorker, frame);
    }

    fn forward(&mut self, relay: NodeId, worker: NodeId, direction: Direction, frame: Vec<u8>) {
        self.out.push_back(Output::Forward(Box::new(Forward {
            relay,
            worker,
            direction,
            frame,
        })));
    }

    /// A relay stopped announcing: the workers it lent are dropped (their assignments offered
    /// again), and the routes kept for its tasks end, freeing the job slots they held (its tasks
    /// are gone, or taken over by a relay that offers them anew: `hub/cluster/records.rs`).
    pub(in crate::hub) fn lender_silent(&mut self, relay: NodeId, now: Millis) {
        self.remote.open_elsewhere.remove(&relay);
        self.remote.busy_elsewhere.remove(&relay);
        let routes: Vec<(TaskId, NodeId)> = self
            .remote
            .lent
            .iter()
            .filter(|(_, l)| l.relay == relay)
            .map(|(key, _)| *key)
            .collect();
        // The worker is told, as when a task of this relay ends: an assignment whose payload
        // never came would otherwise hold its slot, and keep it from the same task taken over.
        let gone = ProtoError::UnknownTask(format!("{relay}: the task's relay went quiet"));
        for (task, worker) in routes {
            self.end_route(task, &worker, Some(relay));
            self.tell_worker(worker, task, &gone);
        }
        let workers: Vec<NodeId> = self
            .remote
            .borrowed
            .iter()
            .filter(|(_, (r, _))| *r == relay)
            .map(|(w, _)| *w)
            .collect();
        for worker in workers {
            self.drop_borrowed(&worker, now);
        }
    }

    pub(super) fn drop_borrowed(&mut self, worker: &NodeId, now: Millis) {
        if let Some(&(_, conn)) = self.remote.borrowed.get(worker) {
            self.on_disconnect(conn, now);
        }
    }

    /// (workers borrowed from other relays, routes kept for their tasks).
    pub fn remote_counts(&self) -> (usize, usize) {
        self.remote.counts()
    }
}
