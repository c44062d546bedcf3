//! The relay directory: one JetStream KV bucket, one key per relay (its NodeId), renewed every
//! third of the time-to-live. The bucket's `max_age` is that time-to-live, so JetStream itself
//! removes the entry of a relay that stopped renewing (killed, or cut off from NATS); readers
//! also skip entries older than it, which covers the time before the server purges them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_nats::jetstream::{self, stream::Stream};
use edgenet_proto::hub::{Input, PeerSummary};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use super::{ClusterConfig, Counters};
use crate::hub_driver::HubDriver;

/// The bucket's name.
pub const BUCKET: &str = "edgenet_relays";
/// Most relays listed from the directory (this one included); entries past it are not listed.
pub const MAX_RELAYS: usize = 64;
/// Most directory keys read in one round, valid or not.
pub const MAX_SCANNED: usize = 4 * MAX_RELAYS;
/// Largest entry read; a bigger value is skipped.
const MAX_ENTRY_BYTES: usize = 4 * 1024;

/// One relay, as the directory holds it and `GET /api/relays` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RelayEntry {
    /// The relay's NodeId.
    pub node_id: String,
    /// The WebSocket URL clients connect to.
    pub url: String,
    /// The wire protocol version it speaks.
    pub protocol_version: u8,
    /// Its crate version.
    pub version: String,
    /// Authenticated peers by role (`browser`, `native`).
    pub peers: BTreeMap<String, u64>,
    /// Peers by kernel they run (what work the relay can staff).
    pub kernels: BTreeMap<String, u64>,
    /// Tasks not yet finished: its load.
    pub open_tasks: u64,
    /// When the relay last renewed this entry (ms since the Unix epoch).
    pub updated_unix_ms: u64,
}

pub(crate) fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// This relay's entry now.
pub(crate) fn own_entry(driver: &HubDriver, url: &str) -> RelayEntry {
    let (peers, (browsers, natives), open_tasks, node_id) = driver.with_hub(|hub, now| {
        (
            hub.peers(now),
            hub.peers_by_role(),
            hub.stats().open_tasks,
            hub.node_id(),
        )
    });
    RelayEntry {
        node_id: node_id.to_string(),
        url: url.to_owned(),
        protocol_version: edgenet_proto::PROTOCOL_VERSION,
        version: env!("CARGO_PKG_VERSION").to_owned(),
        peers: BTreeMap::from([
            ("browser".to_owned(), browsers as u64),
            ("native".to_owned(), natives as u64),
        ]),
        kernels: by_kernel(&peers),
        open_tasks: u64::try_from(open_tasks).unwrap_or(u64::MAX),
        updated_unix_ms: unix_ms(),
    }
}

fn by_kernel(peers: &[PeerSummary]) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for p in peers {
        for k in &p.kernels {
            *out.entry((*k).to_owned()).or_insert(0) += 1;
        }
    }
    out
}

/// Opens the bucket, creating it first if needed (or updating a time-to-live that differs).
/// Created as the stream a KV bucket is (the conventions of async-nats' `kv_to_stream_config`)
/// rather than through `create_key_value`, which first asks for the account's limits in a shape
/// nats-server 2.9 does not answer in; and read with plain requests (the stream's subjects, then
/// the last value of each) rather than `keys()`, whose consumer can be lost with a server.
async fn bucket(js: &jetstream::Context, config: &ClusterConfig) -> Result<Stream, String> {
    let stream = jetstream::stream::Config {
        name: format!("KV_{BUCKET}"),
        description: Some("EdgeNet relays of this cluster (docs/federation.md)".into()),
        subjects: vec![format!("$KV.{BUCKET}.>")],
        max_messages_per_subject: 1,
        max_age: config.directory_ttl,
        max_message_size: i32::try_from(MAX_ENTRY_BYTES).unwrap_or(i32::MAX),
        storage: jetstream::stream::StorageType::Memory,
        num_replicas: config.replicas.max(1),
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        discard: jetstream::stream::DiscardPolicy::New,
        ..Default::default()
    };
    match js.get_stream(&stream.name).await {
        // Made by a relay with another time-to-live: the newest configuration wins.
        Ok(found) if found.cached_info().config.max_age != stream.max_age => {
            js.update_stream(&stream).await.map_err(|e| e.to_string())?;
            Ok(found)
        }
        Ok(found) => Ok(found),
        Err(_) => js
            .get_or_create_stream(stream)
            .await
            .map_err(|e| e.to_string()),
    }
}

/// Renews this relay's entry and reads everyone's, for ever.
pub(crate) async fn run(
    js: jetstream::Context,
    config: ClusterConfig,
    driver: HubDriver,
    counters: Arc<Counters>,
) {
    let renew = (config.directory_ttl / 3).max(Duration::from_millis(100));
    let mut store = None;
    let mut alive = BTreeSet::new();
    loop {
        if store.is_none() {
            match bucket(&js, &config).await {
                Ok(s) => store = Some(s),
                Err(e) => counters.failed("directory bucket", e),
            }
        }
        if let Some(bucket) = &store {
            let own = own_entry(&driver, &config.public_url);
            let value = serde_json::to_vec(&own).unwrap_or_default();
            let key = format!("$KV.{BUCKET}.{}", own.node_id);
            let put = async {
                js.publish(key, value.into())
                    .await
                    .map_err(|e| e.to_string())?
                    .await
                    .map_err(|e| e.to_string())
            };
            match put.await {
                Ok(_) => match read(bucket, config.directory_ttl, &own).await {
                    Ok(relays) => {
                        counters.ok();
                        take_over(&driver, &own.node_id, &mut alive, &relays);
                        *counters
                            .relays
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner) = relays;
                    }
                    Err(e) => counters.failed("directory read", e),
                },
                Err(e) => counters.failed("directory renew", e),
            }
        }
        tokio::time::sleep(renew).await;
    }
}

/// Relays listed at the last read that the directory no longer lists are gone. The lowest
/// NodeId still listed takes over their open escrows (`Hub::relay_gone`): one relay, chosen the
/// same way by all, so that the others write no second refund.
fn take_over(driver: &HubDriver, me: &str, alive: &mut BTreeSet<String>, relays: &[RelayEntry]) {
    let now: BTreeSet<String> = relays.iter().map(|r| r.node_id.clone()).collect();
    let gone: Vec<&String> = alive.difference(&now).collect();
    if !gone.is_empty() && now.first().is_some_and(|first| first == me) {
        for id in gone {
            if let Ok(node) = id.parse() {
                let taken = driver.with_hub_mut(|hub, at| {
                    hub.handle(at, Input::RelayGone(node))
                        .map_or(0, |h| h.count())
                });
                tracing::warn!(relay = %id, escrows = taken, "cluster: a relay left the directory; its open escrows are this relay's to settle");
            }
        }
    }
    *alive = now;
}

/// This relay's entry and every other live one, at most [`MAX_RELAYS`] in all, sorted by NodeId.
/// The relay's own entry is always there, and others are counted only when they parse: what
/// else is written into the bucket (junk included) cannot crowd it out of what its clients learn.
/// At most [`MAX_SCANNED`] keys are read per round.
async fn read(bucket: &Stream, ttl: Duration, own: &RelayEntry) -> Result<Vec<RelayEntry>, String> {
    let own_key = format!("$KV.{BUCKET}.{}", own.node_id);
    let mut subjects = bucket
        .info_with_subjects(format!("$KV.{BUCKET}.>"))
        .await
        .map_err(|e| e.to_string())?;
    let mut keys = Vec::new();
    while let Some(subject) = subjects.next().await {
        let (subject, _) = subject.map_err(|e| e.to_string())?;
        if keys.len() >= MAX_SCANNED {
            break;
        }
        if subject != own_key {
            keys.push(subject);
        }
    }
    let oldest = unix_ms().saturating_sub(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX));
    let mut out = vec![own.clone()];
    for subject in keys {
        if out.len() >= MAX_RELAYS {
            break;
        }
        // Gone since the listing (expired): skipped.
        let Ok(message) = bucket.direct_get_last_for_subject(subject).await else {
            continue;
        };
        if message.payload.len() > MAX_ENTRY_BYTES {
            continue;
        }
        if let Ok(entry) = serde_json::from_slice::<RelayEntry>(&message.payload)
            && entry.updated_unix_ms >= oldest
            && entry.node_id != own.node_id
        {
            out.push(entry);
        }
    }
    out.sort_by(|a, b| a.node_id.cmp(&b.node_id));
    Ok(out)
}
