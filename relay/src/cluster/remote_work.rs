//! Cross-relay tasks over NATS (and the one queue to NATS that attestation requests share): the adapter for the hub's lending and borrowing of workers
//! (`edgenet_proto::hub` `remote`), which holds every rule. Two core-NATS subjects:
//!
//! - [`WORKERS_SUBJECT`]: each relay's signed announcement of the workers it lends, every
//!   [`ANNOUNCE_INTERVAL_MS`]; every relay borrows what the others announce.
//! - `edgenet.relay.<NodeId>.frames`: frames for one relay, from the task's relay to a worker it
//!   borrowed (`to-worker`) or from a lent worker back to its task's relay (`from-worker`).
//!   Headers name the sending relay, the worker and the direction; the body is the frame as the
//!   worker sends or receives it: sealed payloads and results stay sealed.
//!
//! Core NATS, not JetStream: a frame lost with a NATS server costs what a worker that went
//! quiet costs (its assignment times out and is offered again), and nothing here is money.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use async_nats::{Client, HeaderMap};
use edgenet_core::NodeId;
use edgenet_proto::hub::{
    ANNOUNCE_INTERVAL_MS, Announcement, Direction, Input, MAX_ANNOUNCEMENT_LEN,
};
use futures_util::StreamExt;
use tokio::sync::mpsc;

use super::Counters;
use crate::hub_driver::{HubDriver, ToCluster};

/// Where relays announce the workers they lend.
pub const WORKERS_SUBJECT: &str = "edgenet.cluster.workers";
/// Frames waiting for NATS, across all relays; past it they are dropped (counted).
pub const FORWARD_QUEUE: usize = 4_096;

const RELAY_HEADER: &str = "Edgenet-Relay";
const WORKER_HEADER: &str = "Edgenet-Worker";
const DIRECTION_HEADER: &str = "Edgenet-Direction";

/// The subject `relay`'s forwarded frames arrive on.
pub fn frames_subject(relay: &NodeId) -> String {
    format!("edgenet.relay.{relay}.frames")
}

/// The queue the hub driver puts forwarded frames in, and the end [`run`] drains.
pub fn queue() -> (mpsc::Sender<ToCluster>, mpsc::Receiver<ToCluster>) {
    mpsc::channel(FORWARD_QUEUE)
}

/// Runs the announcements both ways and the frames both ways.
pub(crate) fn spawn(
    client: &Client,
    me: NodeId,
    driver: &HubDriver,
    outgoing: mpsc::Receiver<ToCluster>,
    counters: &Arc<Counters>,
) {
    tokio::spawn(announce(client.clone(), driver.clone(), counters.clone()));
    tokio::spawn(publish(client.clone(), me, outgoing, counters.clone()));
    tokio::spawn(borrow(client.clone(), driver.clone(), counters.clone()));
    tokio::spawn(receive(
        client.clone(),
        me,
        driver.clone(),
        counters.clone(),
    ));
}

/// Publishes this relay's announcement every interval (an empty list too: it says the relay is
/// alive and lends nothing).
async fn announce(client: Client, driver: HubDriver, counters: Arc<Counters>) {
    let mut every = tokio::time::interval(Duration::from_millis(ANNOUNCE_INTERVAL_MS));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        every.tick().await;
        let bytes = match driver.with_hub(|hub, _| hub.announcement()) {
            Ok(bytes) => bytes,
            Err(e) => {
                counters.failed("announcement", e);
                continue;
            }
        };
        if let Err(e) = client.publish(WORKERS_SUBJECT, bytes.into()).await {
            counters.failed("announcement", e);
        }
    }
}

/// Takes the other relays' announcements: verified here, outside the hub's lock.
async fn borrow(client: Client, driver: HubDriver, counters: Arc<Counters>) {
    let mut sub = match client.subscribe(WORKERS_SUBJECT).await {
        Ok(sub) => sub,
        Err(e) => return counters.failed("subscribe to announcements", e),
    };
    while let Some(msg) = sub.next().await {
        if msg.payload.len() > MAX_ANNOUNCEMENT_LEN {
            counters.forward_refused.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let lender = match Announcement::decode(&msg.payload) {
            Ok(lender) => lender,
            Err(e) => {
                counters.forward_refused.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(error = %e, "announcement refused");
                continue;
            }
        };
        if let Err(e) = driver.with_hub_mut(|hub, now| {
            hub.handle(now, Input::Announcement(lender))
                .map(|h| h.count())
        }) {
            counters.forward_refused.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(error = %e, "announcement refused");
        }
    }
}

/// Sends the hub's frames and attestation requests for other relays.
async fn publish(
    client: Client,
    me: NodeId,
    mut outgoing: mpsc::Receiver<ToCluster>,
    counters: Arc<Counters>,
) {
    let me_id = me;
    let me = me.to_string();
    while let Some(out) = outgoing.recv().await {
        let f = match out {
            ToCluster::Forward(f) => f,
            ToCluster::Attest(entry) => {
                super::attest::request(&client, &me_id, &entry, &counters).await;
                continue;
            }
        };
        let mut headers = HeaderMap::new();
        headers.insert(RELAY_HEADER, me.as_str());
        headers.insert(WORKER_HEADER, f.worker.to_string().as_str());
        headers.insert(DIRECTION_HEADER, f.direction.as_str());
        let subject = frames_subject(&f.relay);
        match client
            .publish_with_headers(subject, headers, f.frame.into())
            .await
        {
            Ok(()) => {
                counters.forwarded_out.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => counters.failed("forward", e),
        }
    }
}

/// Hands the frames other relays sent this one to the hub.
async fn receive(client: Client, me: NodeId, driver: HubDriver, counters: Arc<Counters>) {
    let mut sub = match client.subscribe(frames_subject(&me)).await {
        Ok(sub) => sub,
        Err(e) => return counters.failed("subscribe to frames", e),
    };
    while let Some(msg) = sub.next().await {
        let header = |name: &str| {
            msg.headers
                .as_ref()
                .and_then(|h| h.get(name))
                .map(|v| v.as_str().to_owned())
        };
        let relay = header(RELAY_HEADER).and_then(|v| v.parse::<NodeId>().ok());
        let worker = header(WORKER_HEADER).and_then(|v| v.parse::<NodeId>().ok());
        let direction = header(DIRECTION_HEADER).and_then(|v| Direction::parse(&v));
        let (Some(relay), Some(worker), Some(direction)) = (relay, worker, direction) else {
            counters.forward_refused.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        counters.forwarded_in.fetch_add(1, Ordering::Relaxed);
        let handled = driver.with_hub_mut(|hub, now| {
            hub.handle(
                now,
                Input::Forwarded {
                    relay,
                    worker,
                    direction,
                    frame: &msg.payload,
                },
            )
            .map(drop)
        });
        if let Err(e) = handled {
            counters.forward_refused.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(code = edgenet_core::ErrorCode::code(&e), error = %e, "forwarded frame refused");
        }
    }
}
