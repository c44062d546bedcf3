//! Task records over JetStream: the adapter for `hub/cluster/records.rs`, which holds the rules. One
//! stream, [`STREAM`], one subject per task (`edgenet.tasks.<task id>`), keeping the latest
//! record of each task only, for [`RECORD_TTL`]. Every relay publishes its hub's records and
//! reads everyone's back into its hub: at start the latest of each task still kept, then each new
//! one. So a relay that restarts, or any other, knows the tasks a dead relay held when their
//! submitters come to it.
//!
//! A record lost before JetStream took it (the queue full, NATS down) costs the task its
//! survival, not its run: a submitter resuming it elsewhere then has it taken as a new task
//! against the escrow it already holds.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use async_nats::jetstream::{self, stream};
use edgenet_proto::hub::{Input, MAX_RECORD_LEN, SignedRecord, TaskRecord};
use tokio::sync::mpsc;

use super::Counters;
use super::ordered::{Reader, start_after};
use crate::hub_driver::HubDriver;

/// The stream's name.
pub const STREAM: &str = "EDGENET_TASKS";
/// Records waiting for NATS; past it they are dropped (counted).
pub const RECORD_QUEUE: usize = 4_096;
/// How long JetStream keeps a task's latest record: longer than any task's timeout (10 min)
/// plus the escrow grace, so a submitter reconnecting late still learns how its task ended.
pub const RECORD_TTL: Duration = Duration::from_secs(30 * 60);
/// Most records the stream holds; past it the oldest go (each relay's hub keeps at most
/// `MAX_TASK_RECORDS` of them).
const MAX_RECORDS: i64 = 65_536;
/// Records published, or read, per round.
const BATCH: usize = 256;
/// Every task's subject.
const SUBJECTS: &str = "edgenet.tasks.*";
/// Wait before trying NATS again after a failure.
const RETRY: Duration = Duration::from_millis(500);

fn subject(task: &edgenet_core::task::TaskId) -> String {
    format!("edgenet.tasks.{task}")
}

/// The queue the hub driver puts records in, and the end [`publish`] drains.
pub fn queue() -> (
    mpsc::Sender<Box<TaskRecord>>,
    mpsc::Receiver<Box<TaskRecord>>,
) {
    mpsc::channel(RECORD_QUEUE)
}

async fn tasks_stream(js: &jetstream::Context, replicas: usize) -> Result<stream::Stream, String> {
    js.get_or_create_stream(stream::Config {
        name: STREAM.into(),
        description: Some(
            "EdgeNet task records: the latest state of each task a relay accepted \
             (docs/federation.md)"
                .into(),
        ),
        subjects: vec![SUBJECTS.into()],
        max_messages_per_subject: 1,
        max_messages: MAX_RECORDS,
        max_age: RECORD_TTL,
        max_message_size: i32::try_from(MAX_RECORD_LEN).unwrap_or(i32::MAX),
        storage: stream::StorageType::File,
        num_replicas: replicas,
        ..Default::default()
    })
    .await
    .map_err(|e| e.to_string())
}

/// Publishes the hub's records for ever, a batch at a time, each batch acknowledged before the
/// next (a batch that fails is dropped and counted: its tasks run on).
pub(crate) async fn publish(
    js: jetstream::Context,
    replicas: usize,
    mut records: mpsc::Receiver<Box<TaskRecord>>,
    counters: Arc<Counters>,
) {
    let mut ready = false;
    while let Some(first) = records.recv().await {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match records.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        if !ready {
            match tasks_stream(&js, replicas).await {
                Ok(_) => ready = true,
                Err(e) => {
                    counters.failed("task stream", e);
                    counters
                        .records_lost
                        .fetch_add(batch.len() as u64, Ordering::Relaxed);
                    tokio::time::sleep(RETRY).await;
                    continue;
                }
            }
        }
        let sent = async {
            let mut acks = Vec::with_capacity(batch.len());
            for r in &batch {
                let ack = js
                    .publish(subject(&r.task), r.bytes.clone().into())
                    .await
                    .map_err(|e| e.to_string())?;
                acks.push(ack);
            }
            for ack in acks {
                ack.await.map_err(|e| e.to_string())?;
            }
            Ok::<(), String>(())
        };
        match sent.await {
            Ok(()) => {
                counters
                    .records_published
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
            }
            Err(e) => {
                counters.failed("task record", e);
                counters
                    .records_lost
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
            }
        }
    }
}

/// Reads every relay's records into the hub for ever: first the latest of each task, then the
/// new ones; a consumer lost with its server is replaced, from where it stopped.
pub(crate) async fn consume(
    js: jetstream::Context,
    replicas: usize,
    driver: HubDriver,
    counters: Arc<Counters>,
) {
    let mut position = 0u64;
    loop {
        let opened = match tasks_stream(&js, replicas).await {
            Ok(stream) => Reader::open(stream, start_after(position, true), SUBJECTS).await,
            Err(e) => Err(e),
        };
        let mut reader = match opened {
            Ok(r) => r,
            Err(e) => {
                counters.failed("task consumer", e);
                tokio::time::sleep(RETRY).await;
                continue;
            }
        };
        while let Some(batch) = reader.next_batch(BATCH, position).await {
            let mut refused = 0u64;
            let mut records = Vec::with_capacity(batch.len());
            let mut failed = false;
            for m in batch {
                match m {
                    Ok(m) => {
                        if let Ok(info) = m.info() {
                            position = position.max(info.stream_sequence);
                        }
                        // Verified here, outside the hub's lock.
                        match SignedRecord::decode(&m.payload) {
                            Ok(r) => records.push(r),
                            Err(_) => refused += 1,
                        }
                    }
                    Err(e) => {
                        counters.failed("task consumer", e);
                        failed = true;
                    }
                }
            }
            if !records.is_empty() {
                refused += driver.with_hub_mut(|hub, now| {
                    records
                        .into_iter()
                        .map(|r| hub.handle(now, Input::TaskRecord(r)).map(drop))
                        .filter(Result::is_err)
                        .count() as u64
                });
            }
            counters
                .records_refused
                .fetch_add(refused, Ordering::Relaxed);
            if failed {
                break;
            }
        }
        tokio::time::sleep(RETRY).await;
    }
}
