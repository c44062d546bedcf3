//! k of n validators over NATS: the adapter for `hub/cluster/attest.rs`, which holds the rules. A relay
//! asks on [`ATTEST_SUBJECT`] (the entry, as the ledger encodes it) with its own
//! `edgenet.relay.<NodeId>.attested` as the reply subject; every other relay checks the entry
//! against its replica and answers there with its attestation, or not at all. The author applies
//! the entry once it has k signatures; the entry then travels the ledger log as every other does.
//! Core NATS: a lost request or answer is asked again by the author each second.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use async_nats::Client;
use edgenet_core::NodeId;
use edgenet_core::ledger::{Account, Entry};
use edgenet_proto::hub::{Handled, Input, decode_attested, encode_attested};
use futures_util::StreamExt;

use super::Counters;
use crate::hub_driver::HubDriver;

/// Where relays ask each other to attest.
pub const ATTEST_SUBJECT: &str = "edgenet.cluster.attest";

/// Where `relay`'s attestations arrive.
pub fn attested_subject(relay: &NodeId) -> String {
    format!("edgenet.relay.{relay}.attested")
}

/// Asks the other relays to attest `entry`.
pub(crate) async fn request(client: &Client, me: &NodeId, entry: &Entry, counters: &Counters) {
    let sent = client
        .publish_with_reply(
            ATTEST_SUBJECT,
            attested_subject(me),
            entry.to_bytes().into(),
        )
        .await;
    if let Err(e) = sent {
        counters.failed("attestation request", e);
    }
}

/// Answers the other relays' requests and takes their answers to this relay's.
pub(crate) fn spawn(client: &Client, me: NodeId, driver: &HubDriver, counters: &Arc<Counters>) {
    tokio::spawn(serve(client.clone(), me, driver.clone(), counters.clone()));
    tokio::spawn(collect(
        client.clone(),
        me,
        driver.clone(),
        counters.clone(),
    ));
}

async fn serve(client: Client, me: NodeId, driver: HubDriver, counters: Arc<Counters>) {
    let mut sub = match client.subscribe(ATTEST_SUBJECT).await {
        Ok(sub) => sub,
        Err(e) => return counters.failed("subscribe to attestation requests", e),
    };
    let own = Account::of(&me);
    while let Some(msg) = sub.next().await {
        // Decoded here, outside the hub's lock (the entry's size is bounded there).
        let Ok(entry) = Entry::from_bytes(&msg.payload) else {
            counters.forward_refused.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        if entry.body.author == own {
            continue;
        }
        let answer = driver.with_hub_mut(|hub, at| {
            hub.handle(at, Input::AttestRequest(&entry))
                .map(Handled::attestation)
        });
        match (answer, msg.reply) {
            (Ok(Some(attestation)), Some(reply)) => {
                let bytes = encode_attested(&entry.hash(), &attestation);
                if let Err(e) = client.publish(reply, bytes.into()).await {
                    counters.failed("attestation", e);
                }
            }
            (Ok(_), _) => {}
            (Err(e), _) => tracing::debug!(error = %e, "attestation refused"),
        }
    }
}

async fn collect(client: Client, me: NodeId, driver: HubDriver, counters: Arc<Counters>) {
    let mut sub = match client.subscribe(attested_subject(&me)).await {
        Ok(sub) => sub,
        Err(e) => return counters.failed("subscribe to attestations", e),
    };
    while let Some(msg) = sub.next().await {
        let taken = decode_attested(&msg.payload).and_then(|(hash, attestation)| {
            driver.with_hub_mut(|hub, at| hub.handle(at, Input::Attestation { hash, attestation }))
        });
        if let Err(e) = taken {
            counters.forward_refused.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(error = %e, "attestation not taken");
        }
    }
}
