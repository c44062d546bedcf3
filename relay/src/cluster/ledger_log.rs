//! The cluster's ledger log: one JetStream stream, [`STREAM`], on one subject, [`SUBJECT`].
//!
//! **Publishing.** Every entry the hub accepts from a client or writes itself is stored with a
//! row in the store's outbox, in the same commit (`store.rs`). [`publish`] sends the outbox in
//! order, waits for JetStream's acknowledgements, and only then deletes the rows: a relay killed
//! at any point loses nothing it acknowledged, it publishes again after the restart. Each message
//! carries `Nats-Msg-Id` (the entry's hash), so JetStream drops a repeat inside its duplicate
//! window, and `Edgenet-Relay` (the publisher), so a relay skips its own entries when it reads.
//!
//! **Consuming.** [`consume`] reads the stream from the position the store recorded, in order,
//! in batches: decodes each entry, verifies it (signatures, the validator set) outside the hub's
//! lock, merges the batch (`Hub::merge_replicated`, stored durably), then records the batch's
//! last sequence number. A relay killed between the two reads a few entries twice, which costs a
//! lookup each. An entry that does not decode or verify is refused and counted, never applied.

use edgenet_proto::hub::{Handled, Input};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use async_nats::jetstream::{self, stream};
use edgenet_core::NodeId;
use edgenet_core::ledger::Entry;

use super::Counters;
use super::directory::unix_ms;
use super::ordered::{Reader, start_after};
use crate::hub_driver::HubDriver;
use crate::store::LedgerStore;

/// The stream's name.
pub const STREAM: &str = "EDGENET_LEDGER";
/// The subject its entries are published on.
pub const SUBJECT: &str = "edgenet.ledger";
/// Header naming the relay that published an entry.
const RELAY_HEADER: &str = "Edgenet-Relay";
/// Entries published, or merged, per round.
const BATCH: usize = 256;
/// Largest message the stream takes: an entry is a few hundred bytes, a slash with evidence a
/// few kilobytes.
const MAX_MESSAGE: i32 = 64 * 1024;
/// Longest a relay that reads only its own entries goes without recording its position.
const POSITION_EVERY: Duration = Duration::from_secs(1);
/// Wait before trying NATS again after a failure.
const RETRY: Duration = Duration::from_millis(500);

async fn ledger_stream(js: &jetstream::Context, replicas: usize) -> Result<stream::Stream, String> {
    js.get_or_create_stream(stream::Config {
        name: STREAM.into(),
        description: Some(
            "EdgeNet's ledger: every entry a relay accepted (docs/federation.md)".into(),
        ),
        subjects: vec![SUBJECT.into()],
        storage: stream::StorageType::File,
        num_replicas: replicas,
        max_message_size: MAX_MESSAGE,
        duplicate_window: Duration::from_secs(120),
        ..Default::default()
    })
    .await
    .map_err(|e| e.to_string())
}

/// Sends the outbox to the log for ever, waking when the store has new rows (module docs).
pub(crate) async fn publish(
    js: jetstream::Context,
    replicas: usize,
    node_id: NodeId,
    store: LedgerStore,
    wake: Arc<tokio::sync::Notify>,
    counters: Arc<Counters>,
) {
    let me = node_id.to_string();
    let mut ready = false;
    loop {
        if !ready {
            match ledger_stream(&js, replicas).await {
                Ok(_) => ready = true,
                Err(e) => {
                    counters.failed("ledger stream", e);
                    tokio::time::sleep(RETRY).await;
                    continue;
                }
            }
        }
        let rows = match store.outbox_page(BATCH) {
            Ok(rows) => rows,
            Err(e) => {
                counters.failed("outbox", e);
                tokio::time::sleep(RETRY).await;
                continue;
            }
        };
        let Some(&(last, _)) = rows.last() else {
            // Woken by a commit, or every second in case a wake-up raced the read.
            let _ = tokio::time::timeout(Duration::from_secs(1), wake.notified()).await;
            continue;
        };
        match send(&js, &me, &rows).await {
            Ok(()) => match store.published(last) {
                Ok(()) => {
                    counters.ok();
                    counters
                        .published
                        .fetch_add(rows.len() as u64, Ordering::Relaxed);
                }
                Err(e) => counters.failed("outbox", e),
            },
            Err(e) => {
                counters.failed("ledger publish", e);
                tokio::time::sleep(RETRY).await;
            }
        }
    }
}

/// Publishes `rows` and waits for every acknowledgement.
async fn send(js: &jetstream::Context, me: &str, rows: &[(u64, Vec<u8>)]) -> Result<(), String> {
    let mut acks = Vec::with_capacity(rows.len());
    for (_, bytes) in rows {
        let id = Entry::from_bytes(bytes)
            .map(|e| edgenet_core::radix::hex(&e.hash().0))
            .map_err(|e| format!("outbox row does not decode: {e}"))?;
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(async_nats::header::NATS_MESSAGE_ID, id.as_str());
        headers.insert(RELAY_HEADER, me);
        let ack = js
            .publish_with_headers(SUBJECT, headers, bytes.clone().into())
            .await
            .map_err(|e| e.to_string())?;
        acks.push(ack);
    }
    for ack in acks {
        ack.await.map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Reads the log for ever, from where the store says this relay stopped (module docs).
pub(crate) async fn consume(
    js: jetstream::Context,
    replicas: usize,
    node_id: NodeId,
    driver: HubDriver,
    store: LedgerStore,
    counters: Arc<Counters>,
) {
    let me = node_id.to_string();
    let mut decoder = driver.with_hub(|hub, _| hub.decoder());
    let mut position = store.log_position().unwrap_or(0);
    let mut recorded = std::time::Instant::now();
    counters.position.store(position, Ordering::Relaxed);
    loop {
        let opened = match ledger_stream(&js, replicas).await {
            Ok(stream) => Reader::open(stream, start_after(position, false), SUBJECT).await,
            Err(e) => Err(e),
        };
        let mut reader = match opened {
            Ok(r) => r,
            Err(e) => {
                counters.failed("ledger consumer", e);
                tokio::time::sleep(RETRY).await;
                continue;
            }
        };
        // A batch at a time (`cluster/ordered.rs`: a consumer lost with its server is replaced).
        while let Some(batch) = reader.next_batch(BATCH, position).await {
            // The batch's entries from other relays, in runs by publisher; its last sequence.
            let mut runs: Vec<(NodeId, Vec<Entry>)> = Vec::new();
            let mut lags = Vec::new();
            let mut last = position;
            let mut failed = false;
            for m in batch {
                let m = match m {
                    Ok(m) => m,
                    Err(e) => {
                        counters.failed("ledger consumer", e);
                        failed = true;
                        break;
                    }
                };
                let Ok(info) = m.info() else { continue };
                last = info.stream_sequence;
                let published_ms =
                    u64::try_from(info.published.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
                let publisher = m.headers.as_ref().and_then(|h| h.get(RELAY_HEADER));
                if publisher.is_some_and(|v| v.as_str() == me) {
                    continue;
                }
                // An entry with no relay to own it, or that does not decode, is refused.
                let from = publisher.and_then(|v| v.as_str().parse::<NodeId>().ok());
                match (from, Entry::from_bytes(&m.payload)) {
                    (Some(from), Ok(entry)) => {
                        match runs.last_mut() {
                            Some((run, entries)) if *run == from => entries.push(entry),
                            _ => runs.push((from, vec![entry])),
                        }
                        lags.push(published_ms);
                    }
                    _ => {
                        counters.refused.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            if last != position {
                // A batch of this relay's own entries changes nothing here.
                let theirs = !runs.is_empty();
                let mut merged = Ok(());
                for (from, entries) in runs {
                    let verified = decoder.verify_entries(entries);
                    let input = Input::Replicated {
                        from,
                        entries: verified,
                    };
                    match driver.with_hub_mut(|hub, at| hub.handle(at, input).map(Handled::merged))
                    {
                        Ok(m) => {
                            let m = m.unwrap_or_default();
                            counters
                                .merged
                                .fetch_add(u64::from(m.new), Ordering::Relaxed);
                            counters
                                .refused
                                .fetch_add(u64::from(m.refused), Ordering::Relaxed);
                        }
                        Err(e) => {
                            merged = Err(e);
                            break;
                        }
                    }
                }
                match merged {
                    Ok(()) => {
                        counters.ok();
                        // After only its own entries, recording the position can wait: a restart
                        // reads them again and skips them.
                        if theirs || recorded.elapsed() >= POSITION_EVERY {
                            if let Err(e) = store.set_log_position(last) {
                                counters.failed("log position", e);
                            }
                            recorded = std::time::Instant::now();
                        }
                        position = last;
                        counters.position.store(position, Ordering::Relaxed);
                        let now = unix_ms();
                        let mut lag = counters
                            .lag
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner);
                        for published in lags {
                            lag.observe(now.saturating_sub(published));
                        }
                    }
                    Err(e) => {
                        // Not stored: read this batch again from the position before it (what
                        // was merged of it is held, and skipped the second time).
                        counters.failed("ledger merge", e);
                        failed = true;
                    }
                }
            }
            if failed {
                break;
            }
        }
        tokio::time::sleep(RETRY).await;
    }
}
