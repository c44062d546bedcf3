//! The relay's state machine: every connection's handshake, the peer table, the task queue and its
//! assignments, limits and timers. No IO: the relay feeds it connections, frames, disconnects and
//! the time, and carries out what [`Hub::poll_output`] returns.
//!
//! Task lifecycle, as the hub routes it:
//!
//! ```text
//! submitter --Submit--> hub --Offer--> capable peers --Claim--> hub
//!   hub --Assignment--> worker, --Assigned--> submitter          (first N distinct claimers)
//! submitter --Payload(sealed to worker)--> hub --> worker
//! worker --Result(sealed to submitter, commitment, signature)--> hub --> submitter
//! submitter --Verdict(agreeing, outvoted)--> hub --> the task's workers
//! ```
//!
//! A worker that disconnects or misses its deadline loses the assignment; the task is offered again
//! to peers that have not had it. A task still short of results at its timeout fails. The hub never
//! sees a plaintext payload or result: only envelopes, commitments and signatures.
//!
//! The parts, each owning its own state (docs/architecture.md has the map): `conns` (handshakes
//! and rate windows), `peers` (the peer table and job counts), `tasks` (tasks, their work and its
//! transitions), `timers` (one table of deadlines behind [`Hub::poll_timeout`]), `offers` (rounds
//! of offers), `dispatch` (one function per message kind), `views` (what the HTTP API shows), and
//! the economics: `ledger` (sync and storage), `settle` (payments on the verdict), `escrows`
//! (stray escrows) and `canary`. `invariants` checks them all (tests and fuzzing).

use std::collections::{BTreeSet, VecDeque};

use edgenet_core::work::ChallengeKey;
use edgenet_core::{ErrorCode, NodeId, SecretKey};

mod cluster;
mod config;
mod economy;
mod effort;
mod events;
#[cfg(any(test, feature = "fuzzing"))]
mod invariants;
mod metrics;
mod routing;
mod storage;
mod timers;
mod views;

pub use cluster::announcement::Announcement;
pub use cluster::attest::{
    ATTEST_RETRY_MS, AttestStats, MAX_ATTESTED_REMEMBERED, MAX_AWAITING, decode_attested,
    encode_attested,
};
pub use cluster::records::{
    MAX_PARKED, MAX_RECORD_LEN, MAX_TASK_RECORDS, PARK_ROUNDS, RECORD_LINGER_MS, RecordState,
    SignedRecord, TaskRecord,
};
pub use cluster::remote::{
    ANNOUNCE_INTERVAL_MS, BORROWED_TTL_MS, Direction, Forward, MAX_ANNOUNCED_BUSY,
    MAX_ANNOUNCED_SUBMITTERS, MAX_ANNOUNCED_WORKERS, MAX_ANNOUNCEMENT_LEN, MAX_BORROWED, MAX_LENT,
    MAX_LENT_PER_WORKER, OFFER_ROUTE_MS,
};
pub use cluster::replica::Merged;
pub use config::HubConfig;
pub use economy::ledger::{EntryStore, MemoryStore};
pub use economy::pages::EntryPage;
pub use economy::verdicts::DISPUTE_COST;
pub use economy::work::{BANKED, MAX_WRONG_PROOFS, WRONG_PROOF_BACKOFF_MS};
pub use effort::Effort;
pub use events::{HubEvent, MAX_PENDING_EVENTS};
pub use metrics::{Histogram, HubMetrics, KindMetrics, LATENCY_BUCKETS_MS};
pub use routing::endings::WITHHELD_PAYLOAD_COST;
pub use routing::inbound::{Decoder, Inbound, WRONG_PROOF_COST, WorkCheck};
pub use routing::input::{Handled, Input};
pub use routing::net_group::NetGroup;
pub use routing::offers::CANARY_ROUNDS;
pub use routing::peers::{IGNORED_OFFERS, TRUSTED_REPUTATION};
pub use routing::replication::{Fixed, OriginKind, ReplicationPolicy};
pub use routing::tasks::{TaskStatus, WorkState};
pub use storage::collections::{MAX_COLLECTIONS, MAX_COLLECTIONS_PER_OWNER, MAX_SHARDS_PER_HOLDER};
pub use storage::views::{CollectionView, HolderView, ShardView};
pub use views::{HubStats, PeerSummary, Rewards, TaskSummary, WorkSummary};

use crate::error::ProtoError;
use crate::message::RelayMsg;
use crate::{Millis, PROTOCOL_VERSION};
use routing::conns::{Conn, Conns};
use routing::peers::Peers;
use routing::tasks::Tasks;
use timers::{Timer, TimerTable};

/// A connection's id, chosen by the relay.
pub type ConnId = u64;

/// What the relay must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send this frame on this connection.
    Send(ConnId, Vec<u8>),
    /// Send these ledger entries on this connection, in order with its other frames: encode
    /// them with [`EntryPage::frames`] where that costs no one else (the relay: in the
    /// connection's writer, outside the lock around the hub).
    SendEntries(ConnId, EntryPage),
    /// Close this connection (after sending what was queued before).
    Close(ConnId),
    /// Send this frame to another relay of the cluster (`hub/cluster/remote.rs`).
    Forward(Box<Forward>),
    /// Ask the cluster's other relays to attest this entry of this relay's (`hub/cluster/attest.rs`);
    /// hand their answers to [`Input::Attestation`].
    Attest(Box<edgenet_core::ledger::Entry>),
    /// Keep this record as its task's latest in the cluster's task stream, and hand it to every
    /// relay's [`Hub::merge_task_record`] (`hub/cluster/records.rs`).
    TaskRecord(Box<TaskRecord>),
}

impl Output {
    /// For adapters with no lock to keep short (tests, simulations): the connection and its
    /// frames, encoded now; `None` for a close.
    pub fn into_frames(self) -> Option<(ConnId, Vec<Vec<u8>>)> {
        match self {
            Self::Send(conn, frame) => Some((conn, vec![frame])),
            Self::SendEntries(conn, page) => Some((conn, page.frames())),
            Self::Close(_) | Self::Forward(_) | Self::Attest(_) | Self::TaskRecord(_) => None,
        }
    }
}

/// The relay's protocol state.
pub struct Hub {
    key: SecretKey,
    config: HubConfig,
    conns: Conns,
    peers: Peers,
    tasks: Tasks,
    timers: TimerTable,
    rates: routing::rates::Rates,
    out: VecDeque<Output>,
    stats: HubStats,
    metrics: HubMetrics,
    /// For `/events` ([`Hub::poll_event`]), at most [`MAX_PENDING_EVENTS`].
    events: VecDeque<HubEvent>,
    ledger: edgenet_core::ledger::Ledger,
    store: Box<dyn EntryStore + Send>,
    /// Proven online time of workers so far, network-wide, in seconds (the early-adopter
    /// curve's input: the uptime mints' `seconds`, each period backed by a proof of work).
    network_work_s: u64,
    /// In a cluster: the relay each open escrow learned from the log was written through
    /// (`hub/cluster/replica.rs`), to take over when that relay is gone.
    escrow_owners: cluster::replica::EscrowOwners,
    /// In a cluster: workers borrowed from other relays, and routes for the tasks of the
    /// relays that borrowed this relay's workers (`hub/cluster/remote.rs`).
    remote: cluster::remote::Remote,
    /// With a validator threshold above 1: this relay's entries waiting for attestations, and
    /// what it attested for others (`hub/cluster/attest.rs`).
    attest: cluster::attest::Attestations,
    /// In a cluster: the latest record of each task the relays were given (`hub/cluster/records.rs`).
    records: cluster::records::Records,
    /// Collections and where their shards live (`hub/storage/collections.rs`).
    collections: storage::collections::Collections,
    /// Randomness for canaries ([`Hub::seed_randomness`]).
    rng: rand_chacha::ChaCha20Rng,
    /// How many workers each task runs on (`hub/routing/replication.rs`).
    replication: Box<dyn ReplicationPolicy>,
    /// For [`Input::Frame`], decoded in place.
    decoder: Decoder,
    /// Makes this relay's proof-of-work challenges, so that its decoders know them.
    work_key: ChallengeKey,
    /// How the last real submission looked: what the next canary's submitter copies.
    submitter_look: Option<economy::canary::SubmitterLook>,
    /// Work counted on the network-sized operations (`hub/effort.rs`).
    effort: Effort,
    /// Proofs of work accepted per account, ever (for the credit invariant).
    #[cfg(any(test, feature = "fuzzing"))]
    proofs_accepted: std::collections::HashMap<edgenet_core::ledger::Account, u64>,
}

impl Hub {
    /// A hub for the relay identity `key`.
    pub fn new(key: SecretKey, config: HubConfig) -> Self {
        let work_key = ChallengeKey::from_secret(&key.to_seed());
        Self {
            decoder: Decoder::new(Self::ledger_config(&key))
                .with_work(Self::work_check_for(&work_key, &config)),
            work_key,
            submitter_look: None,
            config,
            conns: Conns::default(),
            peers: Peers::default(),
            tasks: Tasks::default(),
            timers: TimerTable::default(),
            rates: routing::rates::Rates::default(),
            out: VecDeque::new(),
            stats: HubStats::default(),
            metrics: HubMetrics::default(),
            events: VecDeque::new(),
            ledger: edgenet_core::ledger::Ledger::single_validator(&key),
            store: Box::new(MemoryStore),
            network_work_s: 0,
            escrow_owners: cluster::replica::EscrowOwners::default(),
            remote: cluster::remote::Remote::default(),
            attest: cluster::attest::Attestations::default(),
            records: cluster::records::Records::default(),
            collections: storage::collections::Collections::default(),
            rng: rand_core::SeedableRng::from_seed([0; 32]),
            replication: Box::new(Fixed),
            effort: Effort::default(),
            #[cfg(any(test, feature = "fuzzing"))]
            proofs_accepted: std::collections::HashMap::new(),
            key,
        }
    }

    /// A decoder for this hub's frames, for a connection's own task ([`Input::Inbound`]).
    pub fn decoder(&self) -> Decoder {
        Decoder::new(self.ledger.config().clone()).with_work(self.work_check())
    }

    /// The validator set of a one-relay network: the relay itself.
    fn ledger_config(key: &SecretKey) -> edgenet_core::ledger::LedgerConfig {
        edgenet_core::ledger::Ledger::single_validator(key)
            .config()
            .clone()
    }

    /// The relay's identity.
    pub fn node_id(&self) -> NodeId {
        self.key.node_id()
    }

    /// A new connection: sends it a challenge built on `nonce` (fresh randomness from the caller).
    fn on_connect(
        &mut self,
        conn: ConnId,
        now: Millis,
        nonce: [u8; 32],
        network: Option<NetGroup>,
    ) {
        let deadline = now + self.config.handshake_timeout_ms;
        self.conns
            .insert(conn, Conn::challenged(nonce, network, now));
        self.timers.set(Timer::Handshake(conn), deadline);
        let challenge = RelayMsg::Challenge {
            nonce,
            relay: *self.key.node_id().as_bytes(),
            min_version: PROTOCOL_VERSION,
            max_version: PROTOCOL_VERSION,
        };
        self.send(conn, &challenge);
    }

    /// A decoded frame from `conn` ([`Input::Frame`], [`Input::Inbound`]). Errors are answered
    /// on the connection (and fatal ones close it); the returned error is for the caller's logs.
    fn on_inbound(
        &mut self,
        conn: ConnId,
        inbound: Inbound,
        now: Millis,
    ) -> Result<(), ProtoError> {
        self.stats.frames_in += 1;
        let result = self.dispatch(conn, inbound, now);
        if let Err(err) = &result {
            self.stats.errors += 1;
            self.metrics.error(err.code());
            self.send(conn, &RelayMsg::error(err));
            if err.is_fatal() {
                self.out.push_back(Output::Close(conn));
                self.on_disconnect(conn, now);
            }
        }
        result
    }

    /// The next event for `/events`, oldest first ([`HubEvent`]).
    pub fn poll_event(&mut self) -> Option<HubEvent> {
        self.events.pop_front()
    }

    /// Queues an event, dropping the oldest past [`MAX_PENDING_EVENTS`] (nobody is draining).
    fn event(&mut self, event: HubEvent) {
        if self.events.len() >= MAX_PENDING_EVENTS {
            self.events.pop_front();
        }
        self.events.push_back(event);
    }

    /// The connection is gone (closed by either side, or dropped as a slow consumer).
    pub(super) fn on_disconnect(&mut self, conn: ConnId, now: Millis) {
        let Some(c) = self.conns.remove(conn) else {
            return;
        };
        self.remote.forget_borrowed(conn);
        self.timers.cancel(&Timer::Handshake(conn));
        let Some(node) = c.node() else {
            return;
        };
        if self.peers.conn(&node) == Some(conn) {
            self.remove_peer(node, now);
        }
    }

    /// Reports that `conn`'s outgoing queue is full: it is told why and closed.
    fn on_slow_consumer(&mut self, conn: ConnId, now: Millis) {
        self.metrics.slow_consumers += 1;
        self.out.push_back(Output::Close(conn));
        self.on_disconnect(conn, now);
    }

    /// Expires handshakes, assignments and tasks whose time has come, sends the offer rounds that
    /// are due, pays uptime and refunds stray escrows.
    fn on_timeout(&mut self, now: Millis) {
        // Tasks that lost a worker or whose round is due get one round of offers each, after
        // every expiry (so an expired task is not offered again); credits come after the offers.
        let due = self.timers.take_due(now);
        let mut reoffer = BTreeSet::new();
        for timer in &due {
            match *timer {
                Timer::Handshake(conn) => self.handshake_timed_out(conn),
                Timer::TaskExpiry(id) => self.expire_task(id, now),
                Timer::Assignment(id, worker) => {
                    if self.assignment_timed_out(id, &worker, now) {
                        reoffer.insert(id);
                    }
                }
                Timer::ClaimDraw(id) => self.draw_claims(id, now),
                Timer::OfferRound(id) => {
                    if self
                        .tasks
                        .get(&id)
                        .is_some_and(routing::tasks::Task::needs_workers)
                        && !self.understaffed(id, now)
                    {
                        reoffer.insert(id);
                    }
                }
                Timer::Uptime(_)
                | Timer::StrayEscrow(..)
                | Timer::RateWindow(_)
                | Timer::Lender(_)
                | Timer::Lent(..)
                | Timer::Resume(_)
                | Timer::Handover(..)
                | Timer::WorkRetry(_)
                | Timer::StorageTerm(_) => {}
            }
        }
        for id in reoffer {
            self.offer(id, now);
        }
        self.retry_attestations(now);
        for timer in due {
            match timer {
                Timer::Uptime(node) => self.pay_uptime(&node, now),
                Timer::StrayEscrow(payer, task) => self.refund_stray_escrow(payer, task, now),
                Timer::RateWindow(node) => {
                    if let Ok(node) = NodeId::from_bytes(&node) {
                        self.rates.expire(&node);
                    }
                }
                Timer::Lender(relay) => {
                    if let Ok(relay) = NodeId::from_bytes(&relay) {
                        self.lender_silent(relay, now);
                    }
                }
                Timer::Lent(task, worker) => {
                    if let Ok(worker) = NodeId::from_bytes(&worker) {
                        self.end_route(task, &worker, None);
                    }
                }
                Timer::Resume(task) => self.unpark(task, now),
                Timer::Handover(id, shard, node) => self.handover(id, shard, node, now),
                Timer::StorageTerm(id) => self.end_storage_term(id, now),
                Timer::WorkRetry(node) => {
                    if let Ok(node) = NodeId::from_bytes(&node) {
                        self.work_retry(&node);
                    }
                }
                _ => {}
            }
        }
    }

    /// The earliest time [`Input::Timeout`] has work to do.
    pub fn poll_timeout(&self) -> Option<Millis> {
        match (self.timers.next(), self.attest.retry_at()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The next thing to do.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    fn send_to(&mut self, node: &NodeId, msg: &RelayMsg) {
        if let Some(conn) = self.peers.conn(node) {
            self.send(conn, msg);
        }
    }

    fn send(&mut self, conn: ConnId, msg: &RelayMsg) {
        // Relay messages are built from checked parts and always encode; a failure would be a bug,
        // reported to the peer rather than panicking the relay.
        let frame = msg.encode().or_else(|e| RelayMsg::error(&e).encode());
        if let Ok(frame) = frame {
            self.stats.frames_out += 1;
            match self.remote.borrowed_on(conn) {
                Some((relay, worker)) => self.forward_to_worker(relay, worker, frame),
                None => self.out.push_back(Output::Send(conn, frame)),
            }
        }
    }
}
