//! Federation across operators: relays of different operators share anonymized network
//! statistics over a NATS server they agree on, and nothing else. Off unless
//! `EDGENET_FEDERATION=true`.
//!
//! What a relay sends, every interval, on [`SUBJECT`] (and `docs/federation.md` lists the same):
//! task counts by kind and how they ended, the submit→verdict latency histogram by kind, peers by
//! role, the protocol version, under a federation id drawn at random each time the relay starts.
//! Never: NodeIds, account ids, IP addresses, URLs, payloads or their sizes, per-client anything,
//! the ledger. In receive-only mode (`EDGENET_FEDERATION_RECEIVE=true`) it sends nothing at all
//! and only reads the others.
//!
//! Everything received is hostile: a message over [`MAX_MESSAGE`] or that does not parse is
//! counted and dropped, kinds outside `TaskKind::ALL` are ignored, at most [`MAX_PEERS`]
//! federation ids are kept, and each expires when it stops sending. NATS being down costs only
//! the statistics: the client reconnects for ever and the relay serves on.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use edgenet_core::task::TaskKind;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use crate::hub_driver::HubDriver;

/// The subject statistics travel on.
pub const SUBJECT: &str = "edgenet.federation.stats";
/// Largest statistics message read.
pub const MAX_MESSAGE: usize = 16 * 1024;
/// Most federation peers remembered at once.
pub const MAX_PEERS: usize = 256;

/// How this relay takes part (`EDGENET_FEDERATION_*`).
#[derive(Debug, Clone)]
pub struct FederationConfig {
    /// The federation's NATS server.
    pub url: String,
    /// Whether this relay's statistics are sent (`EDGENET_FEDERATION_BROADCAST_STATS`).
    pub broadcast_stats: bool,
    /// Receive-only: nothing is sent (`EDGENET_FEDERATION_RECEIVE`).
    pub receive_only: bool,
    /// Time between two statistics messages.
    pub interval: Duration,
}

impl FederationConfig {
    fn sends(&self) -> bool {
        self.broadcast_stats && !self.receive_only
    }
}

/// One kind's counts, as shared.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct KindStats {
    /// Tasks accepted.
    pub submitted: u64,
    /// Tasks verified.
    pub verified: u64,
    /// Tasks failed.
    pub failed: u64,
    /// Submit→verdict latency: counts per bucket of `latency_buckets_ms`, then the overflow.
    pub latency_counts: Vec<u64>,
}

/// What one relay shares: aggregates only (module docs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NetworkStats {
    /// Random per start; names no relay, operator or key.
    pub federation_id: String,
    /// The wire protocol version the relay speaks.
    pub protocol_version: u8,
    /// Seconds between this relay's messages (how soon to forget it).
    pub interval_s: u64,
    /// Peers online by role (`browser`, `native`).
    pub peers: BTreeMap<String, u64>,
    /// Upper bounds of the latency buckets (ms).
    pub latency_buckets_ms: Vec<u64>,
    /// Tasks by kind.
    pub tasks: BTreeMap<String, KindStats>,
}

/// `GET /api/federation/status`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FederationStatus {
    /// Whether federation is on (`EDGENET_FEDERATION=true`).
    pub enabled: bool,
    /// `off`, `broadcast` (send and receive) or `receive-only`.
    pub mode: &'static str,
    /// Whether the federation's NATS connection is up.
    pub connected: bool,
    /// This run's federation id, when it sends.
    pub federation_id: Option<String>,
    /// Statistics messages sent.
    pub sent: u64,
    /// Statistics messages received from others and kept.
    pub received: u64,
    /// Messages dropped: too large, not parsable, or past [`MAX_PEERS`].
    pub rejected: u64,
    /// Other federation members heard from recently.
    pub peers: usize,
    /// The whole federation's aggregates: the members heard from, and this relay.
    pub global: GlobalStats,
    /// What this relay shares.
    pub shared: &'static [&'static str],
    /// What it never shares.
    pub not_shared: &'static [&'static str],
}

/// Sums over the federation.
#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct GlobalStats {
    /// Relays counted (this one included).
    pub relays: u64,
    /// Peers by role.
    pub peers: BTreeMap<String, u64>,
    /// Tasks by kind (latency histograms summed bucket by bucket).
    pub tasks: BTreeMap<String, KindStats>,
}

/// What is shared, as `docs/federation.md` lists it.
pub const SHARED: &[&str] = &[
    "task counts by kind: submitted, verified, failed",
    "submit-to-verdict latency histogram by kind",
    "peers online by role",
    "protocol version",
    "a federation id drawn at random at each start",
];
/// What is never shared.
pub const NOT_SHARED: &[&str] = &[
    "node ids, account ids, relay keys",
    "IP addresses, URLs, host names",
    "payloads, results, or their sizes",
    "anything per client or per task",
    "ledger entries and balances",
];

struct Heard {
    at: Instant,
    stats: NetworkStats,
}

#[derive(Default)]
struct Shared {
    connected: AtomicBool,
    sent: AtomicU64,
    received: AtomicU64,
    rejected: AtomicU64,
    peers: Mutex<HashMap<String, Heard>>,
}

/// A relay's federation membership (or its absence), read by the status endpoint.
#[derive(Clone)]
pub struct Federation {
    config: Option<FederationConfig>,
    id: String,
    shared: Arc<Shared>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Federation {
    /// Federation off: no connection is ever made.
    pub fn disabled() -> Self {
        Self {
            config: None,
            id: String::new(),
            shared: Arc::default(),
        }
    }

    /// Connects in the background and starts sending (unless receive-only) and receiving.
    pub fn start(config: FederationConfig, driver: HubDriver) -> Self {
        let mut id = [0u8; 16];
        rand_core::Rng::fill_bytes(&mut edgenet_core::rng::os_rng(), &mut id);
        let federation = Self {
            config: Some(config.clone()),
            id: edgenet_core::radix::hex(&id),
            shared: Arc::default(),
        };
        let (shared, id) = (federation.shared.clone(), federation.id.clone());
        tokio::spawn(async move {
            let watched = shared.clone();
            let link = move |up: bool| watched.connected.store(up, Ordering::Relaxed);
            // A name that says what the connection is, not whose.
            let client = match crate::nats::connect("edgenet-federation", &config.url, link).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "federation: cannot connect");
                    return;
                }
            };
            if config.sends() {
                tokio::spawn(send(
                    client.clone(),
                    config.clone(),
                    id.clone(),
                    driver,
                    shared.clone(),
                ));
            }
            receive(client, id, shared).await;
        });
        federation
    }

    /// `GET /api/federation/status`'s answer; `own` is this relay's statistics now.
    pub fn status(&self, own: NetworkStats) -> FederationStatus {
        let s = &self.shared;
        let sends = self.config.as_ref().is_some_and(FederationConfig::sends);
        let mode = match &self.config {
            None => "off",
            Some(_) if sends => "broadcast",
            Some(_) => "receive-only",
        };
        let mut global = GlobalStats::default();
        let mut peers = lock(&s.peers);
        expire(&mut peers);
        for heard in peers
            .values()
            .map(|h| &h.stats)
            .chain(std::iter::once(&own))
        {
            global.relays += 1;
            for (role, n) in &heard.peers {
                let sum = global.peers.entry(role.clone()).or_insert(0);
                *sum = sum.saturating_add(*n);
            }
            for (kind, k) in &heard.tasks {
                let sum = global.tasks.entry(kind.clone()).or_default();
                sum.submitted = sum.submitted.saturating_add(k.submitted);
                sum.verified = sum.verified.saturating_add(k.verified);
                sum.failed = sum.failed.saturating_add(k.failed);
                if sum.latency_counts.len() < k.latency_counts.len() {
                    sum.latency_counts.resize(k.latency_counts.len(), 0);
                }
                for (a, b) in sum.latency_counts.iter_mut().zip(&k.latency_counts) {
                    *a = a.saturating_add(*b);
                }
            }
        }
        FederationStatus {
            enabled: self.config.is_some(),
            mode,
            connected: s.connected.load(Ordering::Relaxed),
            federation_id: sends.then(|| self.id.clone()),
            sent: s.sent.load(Ordering::Relaxed),
            received: s.received.load(Ordering::Relaxed),
            rejected: s.rejected.load(Ordering::Relaxed),
            peers: peers.len(),
            global,
            shared: SHARED,
            not_shared: NOT_SHARED,
        }
    }

    /// This relay's statistics now, under this run's federation id.
    pub fn own_stats(&self, driver: &HubDriver) -> NetworkStats {
        let interval = self
            .config
            .as_ref()
            .map_or(0, |c| c.interval.as_secs().max(1));
        network_stats(driver, &self.id, interval)
    }
}

/// The aggregates of one relay (module docs: nothing per client).
pub fn network_stats(driver: &HubDriver, id: &str, interval_s: u64) -> NetworkStats {
    driver.with_hub(|hub, _| {
        let (browsers, natives) = hub.peers_by_role();
        let metrics = hub.metrics();
        let tasks = TaskKind::ALL
            .iter()
            .zip(&metrics.kinds)
            .map(|(kind, m)| {
                (
                    kind.name().to_owned(),
                    KindStats {
                        submitted: m.submitted,
                        verified: m.verified,
                        failed: m.failed,
                        latency_counts: m.latency.counts.clone(),
                    },
                )
            })
            .collect();
        NetworkStats {
            federation_id: id.to_owned(),
            protocol_version: edgenet_proto::PROTOCOL_VERSION,
            interval_s,
            peers: BTreeMap::from([
                ("browser".to_owned(), browsers as u64),
                ("native".to_owned(), natives as u64),
            ]),
            latency_buckets_ms: edgenet_proto::hub::LATENCY_BUCKETS_MS.to_vec(),
            tasks,
        }
    })
}

async fn send(
    client: async_nats::Client,
    config: FederationConfig,
    id: String,
    driver: HubDriver,
    shared: Arc<Shared>,
) {
    let interval_s = config.interval.as_secs().max(1);
    loop {
        let stats = network_stats(&driver, &id, interval_s);
        if let Ok(bytes) = serde_json::to_vec(&stats)
            && client.publish(SUBJECT, bytes.into()).await.is_ok()
        {
            shared.sent.fetch_add(1, Ordering::Relaxed);
        }
        tokio::time::sleep(config.interval).await;
    }
}

async fn receive(client: async_nats::Client, own_id: String, shared: Arc<Shared>) {
    loop {
        let mut messages = match client.subscribe(SUBJECT).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "federation: subscribe failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        while let Some(message) = messages.next().await {
            remember(&shared, &own_id, &message.payload);
        }
    }
}

/// Keeps a message from another member (module docs: its bounds); counts what it drops.
fn remember(shared: &Shared, own_id: &str, payload: &[u8]) {
    let Some(stats) = parse(payload) else {
        shared.rejected.fetch_add(1, Ordering::Relaxed);
        return;
    };
    if stats.federation_id == own_id {
        return;
    }
    let mut peers = lock(&shared.peers);
    expire(&mut peers);
    if peers.len() >= MAX_PEERS && !peers.contains_key(&stats.federation_id) {
        shared.rejected.fetch_add(1, Ordering::Relaxed);
        return;
    }
    shared.received.fetch_add(1, Ordering::Relaxed);
    peers.insert(
        stats.federation_id.clone(),
        Heard {
            at: Instant::now(),
            stats,
        },
    );
}

/// A message from another member, checked: its size, its shape, kinds this relay knows, a
/// histogram as long as ours.
fn parse(payload: &[u8]) -> Option<NetworkStats> {
    if payload.len() > MAX_MESSAGE {
        return None;
    }
    let mut stats: NetworkStats = serde_json::from_slice(payload).ok()?;
    if stats.federation_id.is_empty() || stats.federation_id.len() > 64 {
        return None;
    }
    let buckets = edgenet_proto::hub::LATENCY_BUCKETS_MS.len() + 1;
    stats.tasks.retain(|kind, k| {
        TaskKind::ALL.iter().any(|t| t.name() == kind) && k.latency_counts.len() == buckets
    });
    stats
        .peers
        .retain(|role, _| role == "browser" || role == "native");
    Some(stats)
}

/// Forgets members that have not sent for three of their intervals (at least 3 s, at most 30 min).
fn expire(peers: &mut HashMap<String, Heard>) {
    peers.retain(|_, h| {
        let interval = h.stats.interval_s.clamp(1, 600);
        h.at.elapsed() < Duration::from_secs(3 * interval)
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(id: &str) -> NetworkStats {
        NetworkStats {
            federation_id: id.into(),
            protocol_version: 2,
            interval_s: 10,
            peers: BTreeMap::from([("native".into(), 3), ("smuggled".into(), 1)]),
            latency_buckets_ms: edgenet_proto::hub::LATENCY_BUCKETS_MS.to_vec(),
            tasks: BTreeMap::from([
                (
                    "vector_search".into(),
                    KindStats {
                        submitted: 5,
                        verified: 4,
                        failed: 1,
                        latency_counts: vec![1; edgenet_proto::hub::LATENCY_BUCKETS_MS.len() + 1],
                    },
                ),
                ("not_a_kind".into(), KindStats::default()),
            ]),
        }
    }

    #[test]
    fn at_most_max_peers_are_remembered_and_known_ones_keep_reporting() {
        let shared = Shared::default();
        for i in 0..MAX_PEERS + 20 {
            remember(
                &shared,
                "me",
                &serde_json::to_vec(&stats(&format!("p{i}"))).unwrap(),
            );
        }
        assert_eq!(lock(&shared.peers).len(), MAX_PEERS);
        assert_eq!(shared.rejected.load(Ordering::Relaxed), 20);
        // A member already known is still heard; this relay's own messages are not counted.
        remember(&shared, "me", &serde_json::to_vec(&stats("p0")).unwrap());
        remember(&shared, "me", &serde_json::to_vec(&stats("me")).unwrap());
        assert_eq!(
            shared.received.load(Ordering::Relaxed),
            MAX_PEERS as u64 + 1
        );
        assert_eq!(lock(&shared.peers).len(), MAX_PEERS);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_are_rejected() {
        let shared = Shared::default();
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let valid = serde_json::to_vec(&stats("v")).unwrap();
        for round in 0..5_000 {
            let mut bytes = valid.clone();
            // A few random byte flips of a valid message, or plain noise.
            for _ in 0..(round % 7 + 1) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let at = (x as usize) % bytes.len();
                bytes[at] = (x >> 32) as u8;
            }
            if round % 5 == 0 {
                bytes.truncate((x as usize) % bytes.len());
            }
            remember(&shared, "me", &bytes);
        }
        let kept = lock(&shared.peers).len() as u64;
        let counted =
            shared.received.load(Ordering::Relaxed) + shared.rejected.load(Ordering::Relaxed);
        assert_eq!(counted, 5_000);
        assert!(kept <= MAX_PEERS as u64);
    }

    #[test]
    fn parse_keeps_known_kinds_and_roles_and_refuses_what_is_too_big_or_malformed() {
        let bytes = serde_json::to_vec(&stats("abc")).unwrap();
        let parsed = parse(&bytes).unwrap();
        assert_eq!(parsed.tasks.keys().collect::<Vec<_>>(), ["vector_search"]);
        assert_eq!(parsed.peers.keys().collect::<Vec<_>>(), ["native"]);
        assert!(parse(b"{not json").is_none());
        assert!(parse(&vec![b' '; MAX_MESSAGE + 1]).is_none());
        assert!(parse(&serde_json::to_vec(&stats("")).unwrap()).is_none());
    }
}
