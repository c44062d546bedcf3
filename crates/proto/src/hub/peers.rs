//! The authenticated peers: who is online on which connection, what each offers, how many
//! assignments each holds, and whether it answers offers. Job counts change only through
//! [`Peers::job_started`] and [`Peers::job_ended`], which the task's work transitions call.
//!
//! Offers go first to peers that have claimed work before and answer offers, then to peers not
//! tried yet, and last to peers that let [`IGNORED_OFFERS`] offers in a row pass: identities that
//! advertise a kind and never claim cannot push honest workers out of every round.

use std::collections::HashMap;

use edgenet_core::NodeId;
use edgenet_core::task::TaskKind;

use super::ConnId;
use crate::Millis;
use crate::message::{PeerInfo, Role};

/// One peer.
pub(super) struct Peer {
    pub(super) conn: ConnId,
    pub(super) info: PeerInfo,
    pub(super) since: Millis,
    /// Online time from here on is not yet paid by the uptime bonus.
    pub(super) unpaid_since: Millis,
    pub(super) results: u64,
    /// Assignments it holds now (offers go to the least loaded first).
    jobs: u32,
    /// Claims it made on this connection.
    claims: u64,
    /// Offers since its last claim or result.
    unanswered: u32,
    /// Its proofs of work (`hub/work.rs`).
    pub(super) work: super::work::WorkAccount,
    /// The relay it is connected to, when that is another relay of the cluster that lends it
    /// (`hub/remote.rs`): such a peer is offered work after this relay's own, and is none of
    /// this relay's to announce, pay for uptime or test with canaries.
    pub(super) via: Option<NodeId>,
}

/// Offers in a row a peer may let pass before it is offered work only after everyone else.
pub const IGNORED_OFFERS: u32 = 3;

impl Peer {
    /// A peer that just joined on `conn`.
    pub(super) fn joined(conn: ConnId, info: PeerInfo, now: Millis) -> Self {
        Self {
            conn,
            info,
            since: now,
            unpaid_since: now,
            results: 0,
            jobs: 0,
            claims: 0,
            unanswered: 0,
            work: super::work::WorkAccount::default(),
            via: None,
        }
    }

    /// A worker `relay` lends, on the virtual connection `conn`.
    pub(super) fn borrowed(conn: ConnId, info: PeerInfo, relay: NodeId, now: Millis) -> Self {
        Self {
            via: Some(relay),
            ..Self::joined(conn, info, now)
        }
    }

    /// Whether it is connected to this relay (not lent by another).
    pub(super) fn is_local(&self) -> bool {
        self.via.is_none()
    }

    /// Where it stands in the offer order: 0 answers offers, 1 not tried yet, 2 ignores them.
    fn offer_rank(&self) -> u8 {
        if self.unanswered >= IGNORED_OFFERS {
            2
        } else if self.claims == 0 && self.results == 0 {
            1
        } else {
            0
        }
    }

    /// It was offered a task.
    pub(super) fn offered(&mut self) {
        self.unanswered = self.unanswered.saturating_add(1);
    }

    /// It claimed a task.
    pub(super) fn claimed(&mut self) {
        self.claims += 1;
        self.unanswered = 0;
    }

    /// It returned a result (a worker busy until now answers offers again).
    pub(super) fn returned_result(&mut self) {
        self.results += 1;
        self.unanswered = 0;
    }

    /// Whether it offers any task kind (a worker, not only a submitter).
    pub(super) fn is_worker(&self) -> bool {
        !self.info.capabilities.kernels.is_empty()
    }

    /// Whether it runs `kind`.
    pub(super) fn runs(&self, kind: TaskKind) -> bool {
        self.info.capabilities.kernels.contains(&kind)
    }

    /// Assignments it holds now.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(super) fn jobs(&self) -> u32 {
        self.jobs
    }
}

/// The peer table.
#[derive(Default)]
pub(super) struct Peers {
    map: HashMap<NodeId, Peer>,
}

impl Peers {
    pub(super) fn get(&self, node: &NodeId) -> Option<&Peer> {
        self.map.get(node)
    }

    pub(super) fn get_mut(&mut self, node: &NodeId) -> Option<&mut Peer> {
        self.map.get_mut(node)
    }

    pub(super) fn contains(&self, node: &NodeId) -> bool {
        self.map.contains_key(node)
    }

    /// The connection `node` is on.
    pub(super) fn conn(&self, node: &NodeId) -> Option<ConnId> {
        self.map.get(node).map(|p| p.conn)
    }

    pub(super) fn insert(&mut self, node: NodeId, peer: Peer) {
        self.map.insert(node, peer);
    }

    pub(super) fn remove(&mut self, node: &NodeId) -> Option<Peer> {
        self.map.remove(node)
    }

    /// Peers connected to this relay.
    pub(super) fn local_len(&self) -> usize {
        self.local().count()
    }

    /// Every peer, borrowed ones included.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&NodeId, &Peer)> {
        self.map.iter()
    }

    /// Peers connected to this relay.
    pub(super) fn local(&self) -> impl Iterator<Item = (&NodeId, &Peer)> {
        self.map.iter().filter(|(_, p)| p.is_local())
    }

    /// Every peer's id.
    pub(super) fn ids(&self) -> Vec<NodeId> {
        self.map.keys().copied().collect()
    }

    /// `node` took an assignment.
    pub(super) fn job_started(&mut self, node: &NodeId) {
        if let Some(p) = self.map.get_mut(node) {
            p.jobs += 1;
        }
    }

    /// `node`'s assignment ended (returned, lost or retired with its task).
    pub(super) fn job_ended(&mut self, node: &NodeId) {
        if let Some(p) = self.map.get_mut(node) {
            p.jobs = p.jobs.saturating_sub(1);
        }
    }

    /// What a welcome lists: a bounded sample of peers, natives first, oldest first. The relay
    /// routes tasks itself, so lists only inform, and full lists would cost O(n²) frames as a
    /// network grows.
    pub(super) fn welcome_sample(&self, limit: usize) -> Vec<PeerInfo> {
        let mut sample: Vec<&Peer> = self.map.values().filter(|p| p.is_local()).collect();
        sample.sort_by_key(|p| (p.info.role != Role::Native, p.since));
        sample
            .into_iter()
            .take(limit)
            .map(|p| p.info.clone())
            .collect()
    }

    /// The connections that hear about joins and leaves: at most `limit` of them.
    pub(super) fn announce_to(&self, limit: usize) -> Vec<ConnId> {
        self.map
            .values()
            .filter(|p| p.is_local())
            .take(limit)
            .map(|p| p.conn)
            .collect()
    }

    /// Up to `limit` of this relay's own workers, the least loaded first (what it lends).
    pub(super) fn least_loaded_workers(&self, limit: usize) -> Vec<NodeId> {
        let mut workers: Vec<(u32, Millis, NodeId)> = self
            .local()
            .filter(|(_, p)| p.is_worker())
            .map(|(n, p)| (p.jobs, p.since, *n))
            .collect();
        workers.sort_unstable_by_key(|&(jobs, since, _)| (jobs, since));
        workers.truncate(limit);
        workers.into_iter().map(|(.., n)| n).collect()
    }

    /// Up to `limit` peers that run `kind` and pass `eligible`: this relay's own before borrowed
    /// ones, then those that answer offers (module docs), then the least loaded, then the
    /// longest online.
    pub(super) fn least_loaded(
        &self,
        kind: TaskKind,
        limit: usize,
        eligible: impl Fn(&NodeId) -> bool,
    ) -> Vec<NodeId> {
        let mut candidates: Vec<(bool, u8, u32, Millis, NodeId)> = self
            .map
            .iter()
            .filter(|(n, p)| p.runs(kind) && eligible(n))
            .map(|(n, p)| (!p.is_local(), p.offer_rank(), p.jobs, p.since, *n))
            .collect();
        candidates
            .sort_unstable_by_key(|&(remote, rank, jobs, since, _)| (remote, rank, jobs, since));
        candidates.truncate(limit);
        candidates.into_iter().map(|(.., n)| n).collect()
    }
}
