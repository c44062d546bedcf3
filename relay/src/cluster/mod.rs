//! A relay as one member of a cluster: several relays of one operator that act as one network,
//! joined through NATS (`--nats URL`). The hub stays sans-IO; this module is its NATS adapter,
//! beside the WebSocket one (`ws.rs`), and holds no protocol rules of its own.
//!
//! - [`directory`]: a JetStream KV bucket where every relay renews its entry (id, public URL,
//!   protocol version, peers, load); entries expire when a relay stops renewing. Clients read it
//!   from `GET /api/relays` and rotate to the others when their relay fails.
//! - [`ledger_log`]: a JetStream stream that is the cluster's ledger. Every entry a relay accepts
//!   goes to it (through a durable outbox in the relay's store, so a kill never loses one), and
//!   every relay consumes it, verifies each entry and merges it into its own replica
//!   (`Hub::merge_replicated`). It is also the log a new relay catches up from.
//! - [`remote_work`]: cross-relay tasks. Each relay announces the workers it lends; a task a
//!   relay's own peers cannot staff is offered to the others' workers, its frames forwarded
//!   through their relays (the rules are the hub's, `hub/cluster/remote.rs`).
//! - [`task_records`]: a JetStream stream of the latest record of each task, so that a task
//!   outlives its relay: a submitter resuming it at another relay (or at its own, restarted)
//!   has it picked up there (`hub/cluster/records.rs`).
//! - `ordered`: reading a stream in order, in batches, with a watchdog that replaces a consumer
//!   lost with its server (the ledger log and the task records both read this way).
//! - [`attest`]: with `--validator-threshold` above 1, the relays attest each other's validator
//!   entries before they take effect (`hub/cluster/attest.rs`).
//!
//! When NATS is away the relay keeps serving its own clients: the outbox grows on disk, the
//! directory entry lapses, and both resume when the client reconnects (async-nats retries for
//! ever). `docs/federation.md` gives the topology, the subjects and the failure modes.

pub mod api;
pub mod attest;
pub mod directory;
pub mod ledger_log;
mod ordered;
pub mod remote_work;
pub mod task_records;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use edgenet_core::NodeId;
use serde::Serialize;

use crate::hub_driver::HubDriver;
use crate::store::LedgerStore;
pub use directory::RelayEntry;

/// What a relay needs to join its cluster.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// NATS server URLs, comma-separated (any of the cluster's servers; the client learns the
    /// rest).
    pub nats_url: String,
    /// Copies JetStream keeps of the ledger stream and the directory (3 on a three-server NATS
    /// cluster; at most the number of servers).
    pub replicas: usize,
    /// The WebSocket URL clients use to reach this relay, published in the directory.
    pub public_url: String,
    /// How long a directory entry lives without being renewed (renewed every third of it).
    pub directory_ttl: Duration,
}

/// Upper bounds (ms) of the replication-lag histogram: the brief's target is under a second.
pub const LAG_BUCKETS_MS: [u64; 10] = [1, 2, 5, 10, 25, 50, 100, 250, 1_000, 5_000];

/// Counters of one relay's part in the cluster, for `/api/cluster` and `/metrics`.
pub(crate) struct Counters {
    pub connected: AtomicBool,
    /// Entries this relay put in the log (acknowledged by JetStream).
    pub published: AtomicU64,
    /// Entries from other relays merged into this replica.
    pub merged: AtomicU64,
    /// Entries from the log that failed to decode or verify here.
    pub refused: AtomicU64,
    /// The last log sequence number stored here.
    pub position: AtomicU64,
    /// The last error talking to NATS, until the link next works.
    pub last_error: Mutex<Option<String>>,
    /// The directory as last read.
    pub relays: Mutex<Vec<RelayEntry>>,
    /// Replication lag (ms from the log's timestamp to stored here) of other relays' entries.
    pub lag: Mutex<edgenet_proto::hub::Histogram>,
    /// Frames forwarded to other relays (cross-relay tasks), and received from them.
    pub forwarded_out: AtomicU64,
    pub forwarded_in: AtomicU64,
    /// Announcements and forwarded frames refused here.
    pub forward_refused: AtomicU64,
    /// Task records this relay put in the task stream, lost on the way (NATS failed), and
    /// refused when read back (bad signature, not a relay of the cluster).
    pub records_published: AtomicU64,
    pub records_lost: AtomicU64,
    pub records_refused: AtomicU64,
}

impl Counters {
    fn new() -> Self {
        Self {
            connected: AtomicBool::new(false),
            published: AtomicU64::new(0),
            merged: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            position: AtomicU64::new(0),
            last_error: Mutex::new(None),
            relays: Mutex::new(Vec::new()),
            lag: Mutex::new(edgenet_proto::hub::Histogram::new(&LAG_BUCKETS_MS)),
            forwarded_out: AtomicU64::new(0),
            forwarded_in: AtomicU64::new(0),
            forward_refused: AtomicU64::new(0),
            records_published: AtomicU64::new(0),
            records_lost: AtomicU64::new(0),
            records_refused: AtomicU64::new(0),
        }
    }

    /// The link worked: the last error is history.
    pub(crate) fn ok(&self) {
        lock(&self.last_error).take();
    }

    pub(crate) fn failed(&self, what: &str, e: impl std::fmt::Display) {
        let message = format!("{what}: {e}");
        tracing::warn!(error = %message, "cluster");
        *lock(&self.last_error) = Some(message);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A running cluster membership: cheap to clone, read by the HTTP API.
#[derive(Clone)]
pub struct Cluster {
    pub(crate) counters: Arc<Counters>,
    node_id: NodeId,
    replicas: usize,
    driver: HubDriver,
}

/// `GET /api/cluster`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ClusterStatus {
    /// Whether this relay was started with `--nats`.
    pub enabled: bool,
    /// Whether its NATS connection is up now.
    pub connected: bool,
    /// This relay's NodeId.
    pub node_id: String,
    /// Copies JetStream keeps of the stream and the directory.
    pub replicas: usize,
    /// Entries this relay published to the ledger log.
    pub published: u64,
    /// Entries this relay accepted that wait for the log (on disk).
    pub outbox: u64,
    /// Entries from other relays merged here.
    pub merged: u64,
    /// Entries from the log this relay refused (a sign of relays configured differently).
    pub refused: u64,
    /// The last log sequence number stored here.
    pub position: u64,
    /// Relays in the directory (this one included).
    pub relays: usize,
    /// The last error talking to NATS, if any.
    pub last_error: Option<String>,
    /// Workers of other relays this relay may offer its tasks to now.
    pub borrowed_workers: usize,
    /// Routes kept for other relays' tasks through this relay's workers.
    pub lent_routes: usize,
    /// Task frames sent to other relays, and received from them.
    pub forwarded_out: u64,
    pub forwarded_in: u64,
    /// Announcements and frames from other relays refused here.
    pub forward_refused: u64,
    /// Frames for other relays dropped because the queue to NATS was full.
    pub forward_dropped: u64,
    /// Signatures each validator entry needs (`--validator-threshold`).
    pub threshold: u8,
    /// Attestations: this relay's entries awaiting them and applied once attested, and other
    /// relays' entries it attested or refused.
    pub attestations: AttestationStatus,
    /// Task records (`hub/cluster/records.rs`): what lets a task outlive its relay.
    pub task_records: TaskRecordStatus,
}

/// `/api/cluster`'s `task_records`.
#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct TaskRecordStatus {
    /// Records this relay knows now (its own and the others', at most 16,384).
    pub known: usize,
    /// Records this relay published to the task stream.
    pub published: u64,
    /// Records that did not reach the stream (queue full, NATS failed): those tasks run, but
    /// would not survive this relay.
    pub lost: u64,
    /// Records read from the stream and refused.
    pub refused: u64,
    /// Tasks this relay took over when their submitters resumed them here.
    pub resumed: u64,
}

/// `/api/cluster`'s `attestations` (`hub/cluster/attest.rs`).
#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct AttestationStatus {
    /// This relay's entries waiting for other relays' attestations now.
    pub awaiting: usize,
    /// This relay's entries applied once attested.
    pub applied: u64,
    /// Other relays' entries this relay attested.
    pub given: u64,
    /// Other relays' entries this relay refused to attest.
    pub refused: u64,
}

impl From<edgenet_proto::hub::AttestStats> for AttestationStatus {
    fn from(s: edgenet_proto::hub::AttestStats) -> Self {
        Self {
            awaiting: s.awaiting,
            applied: s.applied,
            given: s.given,
            refused: s.refused,
        }
    }
}

impl Cluster {
    /// Starts the membership on the current runtime: connects in the background (a NATS that
    /// is down is retried for ever), then runs the directory and the ledger log's tasks.
    pub fn start(
        config: ClusterConfig,
        driver: HubDriver,
        store: LedgerStore,
        wake: Arc<tokio::sync::Notify>,
    ) -> Self {
        let node_id = driver.with_hub(|hub, _| hub.node_id());
        let counters = Arc::new(Counters::new());
        let replicas = config.replicas.max(1);
        let cluster = Self {
            counters: counters.clone(),
            node_id,
            replicas,
            driver: driver.clone(),
        };
        // Set before any task can be forwarded, so that none is dropped for want of a queue.
        let (forward_tx, forward_rx) = remote_work::queue();
        driver.forward_to(forward_tx);
        let (records_tx, records_rx) = task_records::queue();
        driver.records_to(records_tx);
        tokio::spawn(async move {
            let watched = counters.clone();
            let link = move |up: bool| {
                watched.connected.store(up, Ordering::Relaxed);
                if up {
                    tracing::info!("cluster: connected to NATS");
                } else {
                    tracing::warn!("cluster: NATS connection lost; retrying");
                }
            };
            let name = format!("edgenet-relay {node_id}");
            let client = match crate::nats::connect(&name, &config.nats_url, link).await {
                Ok(client) => client,
                Err(e) => {
                    counters.failed("NATS", e);
                    return;
                }
            };
            remote_work::spawn(&client, node_id, &driver, forward_rx, &counters);
            attest::spawn(&client, node_id, &driver, &counters);
            let js = async_nats::jetstream::new(client);
            tokio::spawn(task_records::publish(
                js.clone(),
                replicas,
                records_rx,
                counters.clone(),
            ));
            tokio::spawn(task_records::consume(
                js.clone(),
                replicas,
                driver.clone(),
                counters.clone(),
            ));
            tokio::spawn(directory::run(
                js.clone(),
                config.clone(),
                driver.clone(),
                counters.clone(),
            ));
            tokio::spawn(ledger_log::publish(
                js.clone(),
                replicas,
                node_id,
                store.clone(),
                wake,
                counters.clone(),
            ));
            ledger_log::consume(js, replicas, node_id, driver, store, counters).await;
        });
        cluster
    }

    /// The directory as last read.
    pub fn relays(&self) -> Vec<RelayEntry> {
        lock(&self.counters.relays).clone()
    }

    /// Replication lag so far.
    pub fn lag(&self) -> edgenet_proto::hub::Histogram {
        lock(&self.counters.lag).clone()
    }

    /// `GET /api/cluster`'s answer; `outbox` is read from the store by the caller.
    pub fn status(&self, outbox: u64) -> ClusterStatus {
        let c = &self.counters;
        let (remote, attestations, threshold, records) = self.driver.with_hub_mut(|hub, _| {
            let threshold = hub.ledger().config().threshold();
            let records = (hub.task_records(), hub.stats().tasks_resumed);
            (hub.remote_counts(), hub.attest_stats(), threshold, records)
        });
        ClusterStatus {
            enabled: true,
            connected: c.connected.load(Ordering::Relaxed),
            node_id: self.node_id.to_string(),
            replicas: self.replicas,
            published: c.published.load(Ordering::Relaxed),
            outbox,
            merged: c.merged.load(Ordering::Relaxed),
            refused: c.refused.load(Ordering::Relaxed),
            position: c.position.load(Ordering::Relaxed),
            relays: self.relays().len(),
            last_error: lock(&c.last_error).clone(),
            borrowed_workers: remote.0,
            lent_routes: remote.1,
            forwarded_out: c.forwarded_out.load(Ordering::Relaxed),
            forwarded_in: c.forwarded_in.load(Ordering::Relaxed),
            forward_refused: c.forward_refused.load(Ordering::Relaxed),
            forward_dropped: self.driver.forward_dropped(),
            threshold,
            attestations: attestations.into(),
            task_records: TaskRecordStatus {
                known: records.0,
                published: c.records_published.load(Ordering::Relaxed),
                lost: c.records_lost.load(Ordering::Relaxed) + self.driver.records_dropped(),
                refused: c.records_refused.load(Ordering::Relaxed),
                resumed: records.1,
            },
        }
    }
}
