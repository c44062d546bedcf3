//! The hub's one input. Everything that changes the hub's state arrives as an [`Input`] through
//! [`Hub::handle`]: a connection's frames and its end, the clock, and what the cluster brings
//! (forwarded frames, announcements, attestations, task records, replicated entries). What the
//! hub does in answer leaves through [`Hub::poll_output`] and [`Hub::poll_event`], and its next
//! deadline is [`Hub::poll_timeout`] (str0m's `handle_input`/`poll_output`, quinn-proto's
//! `Endpoint`, are the shape). Reads (views, stats, metrics) stay plain `&self` methods.
//!
//! A few inputs answer with a value the caller passes on at once (an attestation for the relay
//! that asked, a count for a log line): [`Handled`] carries it.

use edgenet_core::NodeId;
use edgenet_core::ledger::{Attestation, Entry, EntryHash, LedgerError, Verified};

use crate::Millis;
use crate::error::ProtoError;
use crate::hub::{Announcement, NetGroup, SignedRecord};
use crate::hub::{ConnId, Direction, Hub, Inbound, Merged};

/// Something that happened, for the hub to act on.
pub enum Input<'a> {
    /// A socket was accepted; the hub challenges it with `nonce` (fresh randomness).
    Connect {
        /// The socket.
        conn: ConnId,
        /// The challenge's nonce.
        nonce: [u8; 32],
        /// The address block it comes from ([`NetGroup::of`] the client's address; `None` where
        /// the caller has no address).
        network: Option<NetGroup>,
    },
    /// A frame from a connection, not yet decoded.
    Frame {
        /// The socket.
        conn: ConnId,
        /// The frame's bytes.
        bytes: &'a [u8],
    },
    /// A frame decoded, and its ledger entries verified, outside the hub's lock
    /// ([`Hub::decoder`]).
    Inbound {
        /// The socket.
        conn: ConnId,
        /// The decoded frame.
        inbound: Inbound,
    },
    /// The socket closed.
    Disconnect(ConnId),
    /// The socket's outgoing queue overflowed: it is closed as a slow consumer.
    SlowConsumer(ConnId),
    /// The clock reached [`Hub::poll_timeout`].
    Timeout,
    /// A task frame another relay forwarded, for a worker one of the two relays lends the other.
    Forwarded {
        /// The relay it came from.
        relay: NodeId,
        /// The worker it is for or from.
        worker: NodeId,
        /// Which way it travels.
        direction: Direction,
        /// The frame.
        frame: &'a [u8],
    },
    /// Another relay's announcement of the workers it lends (verified by the caller's decode).
    Announcement(Announcement),
    /// Another validator asks this relay to attest one of its entries: answered with
    /// [`Handled::Attested`].
    AttestRequest(&'a Entry),
    /// Another validator's attestation of one of this relay's entries: answered with
    /// [`Handled::AttestationApplied`].
    Attestation {
        /// The entry attested.
        hash: EntryHash,
        /// The signature.
        attestation: Attestation,
    },
    /// This relay's own entries still awaiting attestation, read back from its store at start.
    AwaitingAttestation(Vec<Entry>),
    /// A task record from the cluster's stream.
    TaskRecord(SignedRecord),
    /// Ledger entries another relay wrote, from the cluster's log: answered with
    /// [`Handled::Merged`].
    Replicated {
        /// The relay that wrote them.
        from: NodeId,
        /// Each entry, verified or not.
        entries: Vec<Result<Verified, LedgerError>>,
    },
    /// A relay of the cluster went quiet: answered with [`Handled::EscrowsTaken`].
    RelayGone(NodeId),
}

/// What an input answers with, besides outputs and events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// Nothing to hand back.
    Done,
    /// [`Input::AttestRequest`]: this relay's attestation.
    Attested(Attestation),
    /// [`Input::Attestation`]: whether it was new and applied.
    AttestationApplied(bool),
    /// [`Input::Announcement`]: workers borrowed from it.
    Borrowed(usize),
    /// [`Input::Replicated`]: what was merged.
    Merged(Merged),
    /// [`Input::RelayGone`]: escrows this relay took over.
    EscrowsTaken(usize),
}

impl Handled {
    /// The attestation, for [`Input::AttestRequest`].
    pub fn attestation(self) -> Option<Attestation> {
        match self {
            Self::Attested(a) => Some(a),
            _ => None,
        }
    }

    /// Whether an [`Input::Attestation`] was applied.
    pub fn applied(&self) -> bool {
        matches!(self, Self::AttestationApplied(true))
    }

    /// The count an input answered with (workers borrowed, escrows taken), 0 for the others.
    pub fn count(&self) -> usize {
        match self {
            Self::Borrowed(n) | Self::EscrowsTaken(n) => *n,
            _ => 0,
        }
    }

    /// What an [`Input::Replicated`] merged.
    pub fn merged(self) -> Option<Merged> {
        match self {
            Self::Merged(m) => Some(m),
            _ => None,
        }
    }
}

impl Hub {
    /// Acts on one input at `now`. An error is the input's refusal (a frame's EN code, which
    /// the relay sends back and which closes the connection when
    /// [`ProtoError::is_fatal`]); the hub's state is consistent either way.
    pub fn handle(&mut self, now: Millis, input: Input<'_>) -> Result<Handled, ProtoError> {
        match input {
            Input::Connect {
                conn,
                nonce,
                network,
            } => self.on_connect(conn, now, nonce, network),
            Input::Frame { conn, bytes } => {
                let inbound = self.decoder.decode(bytes);
                self.on_inbound(conn, inbound, now)?;
            }
            Input::Inbound { conn, inbound } => self.on_inbound(conn, inbound, now)?,
            Input::Disconnect(conn) => self.on_disconnect(conn, now),
            Input::SlowConsumer(conn) => self.on_slow_consumer(conn, now),
            Input::Timeout => self.on_timeout(now),
            Input::Forwarded {
                relay,
                worker,
                direction,
                frame,
            } => self.on_forwarded(relay, worker, direction, frame, now)?,
            Input::Announcement(a) => return self.borrow_workers(a, now).map(Handled::Borrowed),
            Input::AttestRequest(entry) => return self.attest(entry).map(Handled::Attested),
            Input::Attestation { hash, attestation } => {
                return self
                    .on_attestation(hash, attestation)
                    .map(Handled::AttestationApplied);
            }
            Input::AwaitingAttestation(entries) => self.resume_awaiting(entries),
            Input::TaskRecord(record) => self.merge_task_record(record, now)?,
            Input::Replicated { from, entries } => {
                return self.merge_replicated(from, entries).map(Handled::Merged);
            }
            Input::RelayGone(relay) => {
                return Ok(Handled::EscrowsTaken(self.relay_gone(relay, now)));
            }
        }
        Ok(Handled::Done)
    }
}
