//! The part of handling a frame that needs no hub state: decoding it, and checking the
//! signatures of the ledger entries it carries. A relay does this in each connection's own task
//! with a [`Decoder`], then takes the lock around the hub only for [`Input::Inbound`], so a
//! flood of forged entries costs the flooding connection's task, not everyone's handshakes.
//! [`Input::Frame`] does both steps in one call (tests, and adapters without a lock).
//!
//! [`Input::Inbound`]: crate::hub::Input::Inbound
//! [`Input::Frame`]: crate::hub::Input::Frame

use edgenet_core::ledger::sync::SyncMessage;
use edgenet_core::ledger::{LedgerConfig, LedgerError, Verified, Verifier};

use crate::error::ProtoError;
use crate::message::ClientMsg;

/// A frame, decoded and with its entries verified ([`Decoder::decode`]).
pub struct Inbound(pub(in crate::hub) Result<Decoded, ProtoError>);

/// What a frame turned out to be.
pub(in crate::hub) enum Decoded {
    /// Any message but ledger entries.
    Msg(ClientMsg),
    /// Ledger entries, each verified or refused with its reason.
    Entries(Vec<Result<Verified, LedgerError>>),
}

impl Decoded {
    /// What it counts for against its sender's rate: one, or one per item it carries.
    pub(in crate::hub) fn cost(&self) -> u64 {
        let items = match self {
            Self::Entries(e) => e.len(),
            Self::Msg(ClientMsg::Ledger(SyncMessage::Heads(h))) => h.len(),
            Self::Msg(ClientMsg::Ledger(SyncMessage::Wants(w))) => w.len(),
            Self::Msg(ClientMsg::Ledger(SyncMessage::Entries(e))) => e.len(),
            Self::Msg(_) => 1,
        };
        u64::try_from(items.max(1)).unwrap_or(u64::MAX)
    }

    /// The message's name, for errors.
    pub(in crate::hub) fn name(&self) -> &'static str {
        match self {
            Self::Msg(m) => m.name(),
            Self::Entries(_) => "Ledger",
        }
    }
}

/// Decodes frames and verifies the entries in them, for one connection: it holds the network's
/// validator set and a bounded key cache of its own ([`Verifier`]).
pub struct Decoder {
    verifier: Verifier,
}

impl Decoder {
    /// A decoder for a network with this validator set ([`crate::hub::Hub::decoder`] gives the hub's).
    pub fn new(config: LedgerConfig) -> Self {
        Self {
            verifier: Verifier::new(config),
        }
    }

    /// Verifies ledger entries (a frame's, or a cluster log's: `hub/cluster/replica.rs`).
    pub fn verify_entries(
        &mut self,
        entries: Vec<edgenet_core::ledger::Entry>,
    ) -> Vec<Result<Verified, LedgerError>> {
        self.verifier.verify(entries)
    }

    /// Decodes one frame (checking every limit) and verifies its ledger entries.
    pub fn decode(&mut self, bytes: &[u8]) -> Inbound {
        Inbound(ClientMsg::decode(bytes).map(|msg| match msg {
            ClientMsg::Ledger(SyncMessage::Entries(entries)) => {
                Decoded::Entries(self.verifier.verify(entries))
            }
            other => Decoded::Msg(other),
        }))
    }
}
