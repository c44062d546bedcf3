//! The part of handling a frame that needs no hub state: decoding it, and checking the
//! signatures of the ledger entries it carries. A relay does this in each connection's own task
//! with a [`Decoder`], then takes the lock around the hub only for [`Input::Inbound`], so a
//! flood of forged entries costs the flooding connection's task, not everyone's handshakes.
//! [`Input::Frame`] does both steps in one call (tests, and adapters without a lock).
//!
//! A proof of work is checked here too, so its Argon2id digest is spent outside the lock: only
//! for a challenge this relay made (one SHA-256 says so, [`ChallengeKey::made`]), and once per
//! challenge on a connection.
//!
//! [`Input::Inbound`]: crate::hub::Input::Inbound
//! [`Input::Frame`]: crate::hub::Input::Frame

use std::collections::VecDeque;

use edgenet_core::ledger::sync::SyncMessage;
use edgenet_core::ledger::{LedgerConfig, LedgerError, Verified, Verifier};
use edgenet_core::work::ChallengeKey;

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
    /// A proof of work, checked: whether it proves the work for a challenge this relay made.
    Proof {
        /// The challenge it answers.
        challenge: [u8; 32],
        /// Whether its nonce proves the work.
        proves: bool,
    },
}

/// What a wrong proof of work counts for against its sender's message rate: its digest costs
/// the relay about what ten small messages do.
pub const WRONG_PROOF_COST: u64 = 10;

/// Challenges a decoder remembers having checked (a relay has one out per connection).
const CHECKED_MEMORY: usize = 4;

/// How a decoder checks proofs of work: the relay's challenge key and the bits it asks.
#[derive(Debug, Clone)]
pub struct WorkCheck {
    pub(in crate::hub) key: ChallengeKey,
    pub(in crate::hub) bits: u8,
}

impl Decoded {
    /// What it counts for against its sender's rate: one, or one per item it carries.
    pub(in crate::hub) fn cost(&self) -> u64 {
        let items = match self {
            Self::Entries(e) => e.len(),
            Self::Msg(ClientMsg::Ledger(SyncMessage::Heads(h))) => h.len(),
            Self::Msg(ClientMsg::Ledger(SyncMessage::Wants(w))) => w.len(),
            Self::Msg(ClientMsg::Ledger(SyncMessage::Entries(e))) => e.len(),
            Self::Proof { proves: false, .. } => return WRONG_PROOF_COST,
            Self::Msg(_) | Self::Proof { .. } => 1,
        };
        u64::try_from(items.max(1)).unwrap_or(u64::MAX)
    }

    /// The message's name, for errors.
    pub(in crate::hub) fn name(&self) -> &'static str {
        match self {
            Self::Msg(m) => m.name(),
            Self::Entries(_) => "Ledger",
            Self::Proof { .. } => "WorkProof",
        }
    }
}

/// Decodes frames and verifies the entries in them, for one connection: it holds the network's
/// validator set and a bounded key cache of its own ([`Verifier`]).
pub struct Decoder {
    verifier: Verifier,
    work: Option<WorkCheck>,
    /// Challenges whose proof this decoder checked, newest last.
    checked: VecDeque<[u8; 32]>,
    /// Argon2id digests spent checking proofs.
    digests: u64,
}

impl Decoder {
    /// A decoder for a network with this validator set ([`crate::hub::Hub::decoder`] gives the
    /// hub's, with its proof-of-work check).
    pub fn new(config: LedgerConfig) -> Self {
        Self {
            verifier: Verifier::new(config),
            work: None,
            checked: VecDeque::new(),
            digests: 0,
        }
    }

    /// Argon2id digests this decoder spent checking proofs of work.
    pub fn digests(&self) -> u64 {
        self.digests
    }

    /// Checks proofs of work as `work` says (`None`: the relay asks for none; every proof is
    /// wrong).
    pub fn with_work(mut self, work: Option<WorkCheck>) -> Self {
        self.work = work;
        self
    }

    /// Whether `nonce` proves the work for `challenge`: a digest is spent only on a challenge
    /// this relay made and not checked here before.
    fn check_proof(&mut self, challenge: [u8; 32], nonce: u64) -> bool {
        let Some(work) = &self.work else {
            return false;
        };
        if !work.key.made(&challenge) || self.checked.contains(&challenge) {
            return false;
        }
        if self.checked.len() == CHECKED_MEMORY {
            self.checked.pop_front();
        }
        self.checked.push_back(challenge);
        self.digests += 1;
        edgenet_core::work::verify(&challenge, work.bits, nonce)
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
            ClientMsg::WorkProof { challenge, nonce } => Decoded::Proof {
                challenge,
                proves: self.check_proof(challenge, nonce),
            },
            other => Decoded::Msg(other),
        }))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_decoder_remembers_the_last_four_challenges_it_checked() {
        let key = ChallengeKey::from_secret(&[1; 32]);
        let config = edgenet_core::ledger::Ledger::single_validator(
            &edgenet_core::SecretKey::from_seed(&[1; 32]),
        )
        .config()
        .clone();
        let mut decoder = Decoder::new(config).with_work(Some(WorkCheck {
            key: key.clone(),
            bits: 1,
        }));
        let proof = |i: u8| {
            let challenge = key.challenge([i; 16]);
            ClientMsg::WorkProof {
                challenge,
                nonce: 0,
            }
            .encode()
            .unwrap()
        };
        for i in 0..6 {
            let _ = decoder.decode(&proof(i));
        }
        assert_eq!(decoder.digests(), 6);
        assert_eq!(decoder.checked.len(), CHECKED_MEMORY);
        // The newest are remembered: no digest again.
        let _ = decoder.decode(&proof(5));
        assert_eq!(decoder.digests(), 6);
        // The oldest fell out of the memory: checked again (its sender pays the rate for it).
        let _ = decoder.decode(&proof(0));
        assert_eq!(decoder.digests(), 7);
        assert_eq!(decoder.checked.len(), CHECKED_MEMORY);
    }
}
