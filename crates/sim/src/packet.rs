//! What travels through the network's queue.

use edgenet_core::ledger::{Attestation, Entry, EntryHash};
use edgenet_proto::hub::{ConnId, Forward, TaskRecord};

/// Where a connection is: its relay (an index into the network's relays) and its id there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Addr {
    /// The relay.
    pub relay: usize,
    /// The connection at that relay.
    pub conn: ConnId,
}

impl Addr {
    /// Connection `conn` at relay `relay`.
    pub fn new(relay: usize, conn: ConnId) -> Self {
        Self { relay, conn }
    }
}

/// One thing on its way.
#[derive(Debug, Clone)]
pub enum Packet {
    /// A frame from a relay to one of its connections.
    ToPeer {
        /// The connection.
        to: Addr,
        /// The frame.
        frame: Vec<u8>,
    },
    /// A frame from a connection to its relay.
    ToRelay {
        /// The connection.
        from: Addr,
        /// The frame.
        frame: Vec<u8>,
    },
    /// The relay closes the connection (after the frames it queued before).
    Close(Addr),
    /// A task frame one relay forwards to another, for a worker one lends the other.
    Forward {
        /// The sending relay.
        from: usize,
        /// The receiving relay.
        to: usize,
        /// The frame and its routing.
        forward: Box<Forward>,
    },
    /// A task record on the cluster's stream, for every relay.
    Record {
        /// The relay that wrote it.
        from: usize,
        /// The record.
        record: Box<TaskRecord>,
    },
    /// A relay asks another to attest one of its ledger entries.
    AttestRequest {
        /// The relay whose entry it is.
        from: usize,
        /// The relay asked.
        to: usize,
        /// The entry.
        entry: Box<Entry>,
    },
    /// The answer to an [`Packet::AttestRequest`].
    Attestation {
        /// The relay whose entry it is.
        to: usize,
        /// The entry's hash.
        hash: EntryHash,
        /// The signature.
        attestation: Attestation,
    },
}

impl Packet {
    /// Whether the packet travels between relays (over the cluster's link) rather than between
    /// a relay and one of its connections.
    pub fn between_relays(&self) -> bool {
        !matches!(
            self,
            Self::ToPeer { .. } | Self::ToRelay { .. } | Self::Close(_)
        )
    }

    /// The connection it concerns, for a packet between a relay and a connection.
    pub fn addr(&self) -> Option<Addr> {
        match self {
            Self::ToPeer { to: a, .. } | Self::ToRelay { from: a, .. } | Self::Close(a) => Some(*a),
            _ => None,
        }
    }

    /// A number per variant, and the bytes that identify the packet, for the trace hash.
    pub(crate) fn fingerprint(&self) -> (u8, Vec<u8>) {
        match self {
            Self::ToPeer { to, frame } => (1, with_addr(*to, frame)),
            Self::ToRelay { from, frame } => (2, with_addr(*from, frame)),
            Self::Close(a) => (3, with_addr(*a, &[])),
            Self::Forward { to, forward, .. } => (4, with_relay(*to, &forward.frame)),
            Self::Record { from, record } => (5, with_relay(*from, &record.bytes)),
            Self::AttestRequest { to, entry, .. } => (6, with_relay(*to, &entry.hash().0)),
            Self::Attestation { to, hash, .. } => (7, with_relay(*to, &hash.0)),
        }
    }
}

fn with_addr(a: Addr, bytes: &[u8]) -> Vec<u8> {
    let mut out = with_relay(a.relay, &a.conn.to_le_bytes());
    out.extend_from_slice(bytes);
    out
}

fn with_relay(relay: usize, bytes: &[u8]) -> Vec<u8> {
    let mut out = (relay as u64).to_le_bytes().to_vec();
    out.extend_from_slice(bytes);
    out
}
