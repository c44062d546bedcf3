//! What another relay of a cluster can send a hub (`hub/cluster/remote.rs`, `hub/cluster/attest.rs`):
//! announcements, frames for one of its own workers, frames from a worker it borrowed, the local
//! worker's own frames (which may have to be routed back), entries to attest, and attestations
//! (made-up bytes, or the other relay's real signature on what the hub last asked for), task
//! records (made-up bytes, and the hub's own read back as the task stream returns them), in any
//! order with the clock moving, under a threshold of 2. The hub's invariants must hold after each.

use edgenet_core::SecretKey;
use edgenet_core::ledger::{Account, Attestation, Entry, EntryBody, LedgerConfig};
use edgenet_core::task::TaskKind;

use crate::client::ClientSession;
use crate::hub::{
    Announcement, ConnId, Direction, Hub, HubConfig, Input, Output, SignedRecord, decode_attested,
};
use crate::message::{Capabilities, PeerInfo, Role};

const WORKER_CONN: ConnId = 1;

fn caps() -> Capabilities {
    Capabilities {
        cores: 1,
        memory_mib: 256,
        gpu: None,
        kernels: vec![TaskKind::VECTOR_SEARCH, TaskKind::ENCRYPTION],
        backends: vec!["cpu".into()],
    }
}

/// Delivers the hub's frames for the local worker to its session, and the session's answers
/// back, until nothing moves; keeps the last entry the hub asked to be attested.
fn pump(hub: &mut Hub, worker: &mut ClientSession, asked: &mut Option<Entry>, now: u64) {
    for _ in 0..16 {
        let mut moved = false;
        while let Some(out) = hub.poll_output() {
            match out {
                Output::Send(WORKER_CONN, frame) => {
                    let _ = worker.handle_frame(&frame);
                }
                Output::Attest(entry) => *asked = Some(*entry),
                // The task stream hands every relay's records back, this one's too.
                Output::TaskRecord(record) => {
                    if let Ok(signed) = SignedRecord::decode(&record.bytes) {
                        let _ = hub.handle(now, Input::TaskRecord(signed));
                    }
                }
                _ => {}
            }
        }
        while worker.poll_event().is_some() {}
        while let Some(frame) = worker.poll_outgoing() {
            moved = true;
            let _ = hub.handle(
                now,
                Input::Frame {
                    conn: WORKER_CONN,
                    bytes: &frame,
                },
            );
        }
        if !moved {
            break;
        }
    }
}

/// Each chunk is a tag byte, a length (u16 little-endian) and that many bytes.
#[allow(clippy::panic)] // a fuzz target reports a broken invariant by panicking
pub fn cluster_frames(data: &[u8]) {
    let me = SecretKey::from_seed(&[1; 32]);
    let other = SecretKey::from_seed(&[4; 32]);
    let validators = vec![Account::of(&me.node_id()), Account::of(&other.node_id())];
    let Ok(config) = LedgerConfig::new(validators, 2) else {
        return;
    };
    // Uptime every second, free of proofs: mints to wait for attestations.
    let hub_config = HubConfig {
        work_bits: 0,
        uptime_period_ms: 1_000,
        task_records: true,
        ..HubConfig::default()
    };
    let Ok(mut hub) = Hub::new(me, hub_config).with_validators(config) else {
        return;
    };
    // One worker of this relay, through a real handshake, and one borrowed from the other relay.
    let local = SecretKey::from_seed(&[5; 32]);
    let local_id = local.node_id();
    let mut worker = ClientSession::new(local, Role::Native, caps(), Some(hub.node_id()));
    let mut asked = None;
    let _ = hub.handle(
        0,
        Input::Connect {
            conn: WORKER_CONN,
            nonce: [2; 32],
            network: None,
        },
    );
    pump(&mut hub, &mut worker, &mut asked, 0);
    let borrowed = SecretKey::from_seed(&[6; 32]).node_id();
    let info = PeerInfo {
        node: *borrowed.as_bytes(),
        exchange_key: vec![0; 128],
        role: Role::Native,
        capabilities: caps(),
    };
    if let Ok(Ok(lender)) =
        Announcement::encode(&other, vec![info], &[], &[]).map(|bytes| Announcement::decode(&bytes))
    {
        let _ = hub.handle(0, Input::Announcement(lender));
    }
    let from = other.node_id();
    let mut rest = data;
    let mut now = 0u64;
    while rest.len() >= 3 {
        let tag = rest[0];
        let len = usize::from(u16::from_le_bytes([rest[1], rest[2]])).min(rest.len() - 3);
        let bytes = &rest[3..3 + len];
        rest = &rest[3 + len..];
        now += u64::from(tag >> 3) * 250;
        match tag % 8 {
            0 => {
                if let Ok(lender) = Announcement::decode(bytes) {
                    let _ = hub.handle(now, Input::Announcement(lender));
                }
            }
            1 => {
                let _ = hub.handle(
                    now,
                    Input::Forwarded {
                        relay: from,
                        worker: local_id,
                        direction: Direction::ToWorker,
                        frame: bytes,
                    },
                );
            }
            2 => {
                let _ = hub.handle(
                    now,
                    Input::Forwarded {
                        relay: from,
                        worker: borrowed,
                        direction: Direction::FromWorker,
                        frame: bytes,
                    },
                );
            }
            3 => {
                let _ = hub.handle(
                    now,
                    Input::Frame {
                        conn: WORKER_CONN,
                        bytes,
                    },
                );
            }
            4 => {
                let _ = hub.handle(now, Input::Timeout);
            }
            5 => {
                if let Ok((hash, attestation)) = decode_attested(bytes) {
                    let _ = hub.handle(now, Input::Attestation { hash, attestation });
                }
                if let Ok(record) = SignedRecord::decode(bytes) {
                    let _ = hub.handle(now, Input::TaskRecord(record));
                }
            }
            6 => {
                if let Ok(entry) = Entry::from_bytes(bytes) {
                    let _ = hub.handle(now, Input::AttestRequest(&entry));
                }
            }
            _ => {
                // The other relay's real attestation of what the hub last asked for.
                if let Some(entry) = asked.take() {
                    let message = EntryBody::signing_message(&entry.body.to_bytes());
                    let attestation = Attestation {
                        validator: Account::of(&other.node_id()),
                        signature: other.sign(&message).to_bytes().to_vec(),
                    };
                    let _ = hub.handle(
                        0,
                        Input::Attestation {
                            hash: entry.hash(),
                            attestation,
                        },
                    );
                }
            }
        }
        pump(&mut hub, &mut worker, &mut asked, now);
        if let Err(broken) = hub.check_invariants() {
            panic!("invariant broken: {broken}");
        }
    }
}
