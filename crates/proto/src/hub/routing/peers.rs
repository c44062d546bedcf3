//! The authenticated peers: who is online on which connection, what each offers, how many
//! assignments each holds, and whether it answers offers. Job counts change only through
//! [`Peers::job_started`] and [`Peers::job_ended`], which the task's work transitions call.
//!
//! Offers go first to peers that have claimed work before and answer offers, then to peers not
//! tried yet, and last to peers that let [`IGNORED_OFFERS`] offers in a row pass: identities that
//! advertise a kind and never claim cannot push honest workers out of every round. A peer whose
//! reputation fell below [`TRUSTED_REPUTATION`] (a failed canary, repeated outvotes) is offered
//! work only when no one else can take it. Among equals the order is random: each peer holds a
//! lottery ticket, drawn again every time it is offered a task, so neither the longest online
//! nor the first to join is picked first (liars that join early would otherwise be picked
//! together, task after task).
//!
//! The table is ordered (by node), and it keeps two indexes beside it so that no operation scans
//! every peer: the offer order per kind ([`OfferKey`]: a round of offers reads the first few
//! eligible entries) and the welcome order of this relay's own peers (natives, then the longest
//! online). Everything that changes a key goes through [`Peers`], which moves the entry.

use std::collections::{BTreeMap, BTreeSet};

use edgenet_core::NodeId;
use edgenet_core::task::TaskKind;

use crate::Millis;
use crate::hub::ConnId;
use crate::hub::routing::net_group::NetGroup;
use crate::message::{PeerInfo, Role};

/// One peer.
pub(in crate::hub) struct Peer {
    pub(in crate::hub) conn: ConnId,
    pub(in crate::hub) info: PeerInfo,
    pub(in crate::hub) since: Millis,
    /// Online time from here on is not yet paid by the uptime bonus.
    pub(in crate::hub) unpaid_since: Millis,
    pub(in crate::hub) results: u64,
    /// Assignments it holds now (offers go to the least loaded first).
    jobs: u32,
    /// Claims it made on this connection (taken or not).
    claims: u64,
    /// Offers since its last claim or result.
    unanswered: u32,
    /// Its place among equals in the offer order, drawn at random (module docs).
    ticket: u64,
    /// Its reputation fell below [`TRUSTED_REPUTATION`].
    distrusted: bool,
    /// The address block it connects from (`routing/net_group.rs`).
    pub(in crate::hub) network: Option<NetGroup>,
    /// Its proofs of work (`hub/economy/work.rs`).
    pub(in crate::hub) work: crate::hub::economy::work::WorkAccount,
    /// The relay it is connected to, when that is another relay of the cluster that lends it
    /// (`hub/cluster/remote.rs`): such a peer is offered work after this relay's own, and is none of
    /// this relay's to announce, pay for uptime or test with canaries.
    pub(in crate::hub) via: Option<NodeId>,
}

/// Offers in a row a peer may let pass before it is offered work only after everyone else.
pub const IGNORED_OFFERS: u32 = 3;

/// Reputation (basis points) below which a peer is offered work only after everyone else: one
/// failed canary (-2,000 from the starting 5,000) puts it there; one outvote (-1,000) does not.
pub const TRUSTED_REPUTATION: u16 = 4_000;

impl Peer {
    /// A peer that just joined on `conn`.
    pub(in crate::hub) fn joined(
        conn: ConnId,
        info: PeerInfo,
        network: Option<NetGroup>,
        ticket: u64,
        now: Millis,
    ) -> Self {
        Self {
            conn,
            info,
            ticket,
            distrusted: false,
            network,
            since: now,
            unpaid_since: now,
            results: 0,
            jobs: 0,
            claims: 0,
            unanswered: 0,
            work: crate::hub::economy::work::WorkAccount::default(),
            via: None,
        }
    }

    /// A worker `relay` lends, on the virtual connection `conn`.
    pub(in crate::hub) fn borrowed(
        conn: ConnId,
        info: PeerInfo,
        relay: NodeId,
        ticket: u64,
        now: Millis,
    ) -> Self {
        Self {
            via: Some(relay),
            ..Self::joined(conn, info, None, ticket, now)
        }
    }

    /// Whether it is connected to this relay (not lent by another).
    pub(in crate::hub) fn is_local(&self) -> bool {
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

    /// It was offered a task; `ticket` is its new place among equals.
    fn offered(&mut self, ticket: u64) {
        self.unanswered = self.unanswered.saturating_add(1);
        self.ticket = ticket;
    }

    /// It claimed a task.
    fn claimed(&mut self) {
        self.claims += 1;
        self.unanswered = 0;
    }

    /// It returned a result (a worker busy until now answers offers again).
    fn returned_result(&mut self) {
        self.results += 1;
        self.unanswered = 0;
    }

    /// Whether its reputation fell below [`TRUSTED_REPUTATION`].
    pub(in crate::hub) fn is_distrusted(&self) -> bool {
        self.distrusted
    }

    /// Whether it offers any task kind (a worker, not only a submitter).
    pub(in crate::hub) fn is_worker(&self) -> bool {
        !self.info.capabilities.kernels.is_empty()
    }

    /// Whether it runs `kind`.
    pub(in crate::hub) fn runs(&self, kind: TaskKind) -> bool {
        self.info.capabilities.kernels.contains(&kind)
    }

    /// Assignments it holds now.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(in crate::hub) fn jobs(&self) -> u32 {
        self.jobs
    }
}

/// Where a peer stands in the offers of one kind: trusted peers before distrusted ones, this
/// relay's own before borrowed ones, then those that answer offers, then the least loaded, then
/// its lottery ticket (module docs). (The node is an `Option` so that `None` is a lower bound for
/// a kind's range.)
type OfferKey = (TaskKind, bool, bool, u8, u32, u64, Option<NodeId>);

impl Peer {
    /// Its places in the offer order, one per kind it runs that this release knows (only known
    /// kinds are ever offered, so a newer peer's kinds take no room in the index).
    fn offer_keys(&self, node: NodeId) -> impl Iterator<Item = OfferKey> + '_ {
        let (distrusted, remote, rank, jobs, ticket) = (
            self.distrusted,
            !self.is_local(),
            self.offer_rank(),
            self.jobs,
            self.ticket,
        );
        self.info
            .capabilities
            .kernels
            .iter()
            .filter(|kind| kind.info().is_some())
            .map(move |&kind| (kind, distrusted, remote, rank, jobs, ticket, Some(node)))
    }

    /// Its place in the welcome order, for this relay's own peers.
    fn age_key(&self, node: NodeId) -> Option<(bool, Millis, NodeId)> {
        self.is_local()
            .then_some((self.info.role != Role::Native, self.since, node))
    }
}

/// The peer table.
#[derive(Default)]
pub(in crate::hub) struct Peers {
    map: BTreeMap<NodeId, Peer>,
    /// Every (kind, peer) in offer order.
    offer_order: BTreeSet<OfferKey>,
    /// This relay's own peers in welcome order: natives first, then the longest online.
    by_age: BTreeSet<(bool, Millis, NodeId)>,
    /// Index entries read while choosing whom to offer (what a test holds flat as the table grows).
    visited: std::cell::Cell<u64>,
}

impl Peers {
    pub(in crate::hub) fn get(&self, node: &NodeId) -> Option<&Peer> {
        self.map.get(node)
    }

    /// A peer to change fields that no index orders by (its work account, its unpaid uptime).
    pub(in crate::hub) fn get_mut(&mut self, node: &NodeId) -> Option<&mut Peer> {
        self.map.get_mut(node)
    }

    pub(in crate::hub) fn contains(&self, node: &NodeId) -> bool {
        self.map.contains_key(node)
    }

    /// The connection `node` is on.
    pub(in crate::hub) fn conn(&self, node: &NodeId) -> Option<ConnId> {
        self.map.get(node).map(|p| p.conn)
    }

    pub(in crate::hub) fn insert(&mut self, node: NodeId, peer: Peer) {
        self.remove(&node);
        self.offer_order.extend(peer.offer_keys(node));
        self.by_age.extend(peer.age_key(node));
        self.map.insert(node, peer);
    }

    pub(in crate::hub) fn remove(&mut self, node: &NodeId) -> Option<Peer> {
        let peer = self.map.remove(node)?;
        for key in peer.offer_keys(*node) {
            self.offer_order.remove(&key);
        }
        if let Some(key) = peer.age_key(*node) {
            self.by_age.remove(&key);
        }
        Some(peer)
    }

    /// Changes what orders `node`'s offers, moving its index entries.
    fn reorder(&mut self, node: &NodeId, change: impl FnOnce(&mut Peer)) {
        let Some(peer) = self.map.get_mut(node) else {
            return;
        };
        for key in peer.offer_keys(*node) {
            self.offer_order.remove(&key);
        }
        change(peer);
        self.offer_order.extend(peer.offer_keys(*node));
    }

    /// `node` was offered a task; `ticket` is its new place among equals.
    pub(in crate::hub) fn offered(&mut self, node: &NodeId, ticket: u64) {
        self.reorder(node, |p| p.offered(ticket));
    }

    /// `node`'s reputation is now `score`: below [`TRUSTED_REPUTATION`] it is offered work last.
    pub(in crate::hub) fn reputation(&mut self, node: &NodeId, score: u16) {
        self.reorder(node, |p| p.distrusted = score < TRUSTED_REPUTATION);
    }

    /// `node` claimed a task.
    pub(in crate::hub) fn claimed(&mut self, node: &NodeId) {
        self.reorder(node, Peer::claimed);
    }

    /// `node` returned a result.
    pub(in crate::hub) fn returned_result(&mut self, node: &NodeId) {
        self.reorder(node, Peer::returned_result);
    }

    /// Peers connected to this relay.
    pub(in crate::hub) fn local_len(&self) -> usize {
        self.by_age.len()
    }

    /// Every peer, borrowed ones included, in node order.
    pub(in crate::hub) fn iter(&self) -> impl Iterator<Item = (&NodeId, &Peer)> {
        self.map.iter()
    }

    /// Peers connected to this relay.
    pub(in crate::hub) fn local(&self) -> impl Iterator<Item = (&NodeId, &Peer)> {
        self.map.iter().filter(|(_, p)| p.is_local())
    }

    /// `node` took an assignment.
    pub(in crate::hub) fn job_started(&mut self, node: &NodeId) {
        self.reorder(node, |p| p.jobs += 1);
    }

    /// `node`'s assignment ended (returned, lost or retired with its task).
    pub(in crate::hub) fn job_ended(&mut self, node: &NodeId) {
        self.reorder(node, |p| p.jobs = p.jobs.saturating_sub(1));
    }

    /// What a welcome lists: a bounded sample of peers, natives first, oldest first. The relay
    /// routes tasks itself, so lists only inform, and full lists would cost O(n²) frames as a
    /// network grows.
    pub(in crate::hub) fn welcome_sample(&self, limit: usize) -> Vec<PeerInfo> {
        self.by_age
            .iter()
            .take(limit)
            .filter_map(|(.., node)| self.map.get(node))
            .map(|p| p.info.clone())
            .collect()
    }

    /// The connections that hear about joins and leaves: at most `limit` of them.
    pub(in crate::hub) fn announce_to(&self, limit: usize) -> Vec<ConnId> {
        self.by_age
            .iter()
            .take(limit)
            .filter_map(|(.., node)| self.map.get(node))
            .map(|p| p.conn)
            .collect()
    }

    /// Up to `limit` of this relay's own workers, the least loaded first (what it lends).
    pub(in crate::hub) fn least_loaded_workers(&self, limit: usize) -> Vec<NodeId> {
        let mut workers: Vec<(u32, Millis, NodeId)> = self
            .local()
            .filter(|(_, p)| p.is_worker())
            .map(|(n, p)| (p.jobs, p.since, *n))
            .collect();
        workers.sort_unstable_by_key(|&(jobs, since, _)| (jobs, since));
        workers.truncate(limit);
        workers.into_iter().map(|(.., n)| n).collect()
    }

    /// Up to `limit` peers that run `kind` and pass `eligible`, in offer order ([`OfferKey`]):
    /// read from the index, so a round costs the entries it passes over, not the table.
    pub(in crate::hub) fn least_loaded(
        &self,
        kind: TaskKind,
        limit: usize,
        eligible: impl Fn(&NodeId) -> bool,
    ) -> Vec<NodeId> {
        let mut chosen = Vec::with_capacity(limit);
        if limit == 0 {
            return chosen;
        }
        let from = (kind, false, false, 0, 0, 0, None);
        for &(k, .., node) in self.offer_order.range(from..) {
            let Some(node) = node.filter(|_| k == kind) else {
                break;
            };
            self.visited.set(self.visited.get() + 1);
            if eligible(&node) {
                chosen.push(node);
                if chosen.len() == limit {
                    break;
                }
            }
        }
        chosen
    }

    /// The offer and welcome indexes hold exactly each peer's keys.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(in crate::hub) fn check_index(&self) -> Result<(), String> {
        let offers: BTreeSet<OfferKey> = self
            .map
            .iter()
            .flat_map(|(n, p)| p.offer_keys(*n))
            .collect();
        let ages: BTreeSet<_> = self.map.iter().filter_map(|(n, p)| p.age_key(*n)).collect();
        if offers != self.offer_order || ages != self.by_age {
            return Err("a peer index differs from the peer table".into());
        }
        Ok(())
    }

    /// Index entries read while choosing whom to offer, since the hub started.
    pub(in crate::hub) fn visited(&self) -> u64 {
        self.visited.get()
    }
}
