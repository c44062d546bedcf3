//! Ledger entries: what an account signs, how it is encoded, hashed and checked on its own.
//!
//! An entry is valid *in isolation* (checked by [`Entry::verify`] before it is stored) when it
//! decodes within the limits, its author's signature verifies strictly, its amounts are positive,
//! and, for the kinds only validators may write, enough distinct validators attest it. Whether it
//! has an *effect* (a balance is high enough, its chain is unbroken) depends on the other entries
//! and is decided by [`super::state`].

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::LedgerError;
use super::account::Account;
use super::config::LedgerConfig;
use super::sigcheck::KeyCache;
use crate::identity::Signature;
use crate::task::{TaskId, result_signing_message};

/// Domain tag in front of every signed entry body.
const SIGNING_DOMAIN: &[u8] = b"edgenet/ledger-entry/v1";
/// Largest encoded entry (evidence of an equivocation carries two other bodies).
pub const MAX_ENTRY_LEN: usize = 4096;
/// Most attestations on one entry.
pub const MAX_ATTESTATIONS: usize = 16;
/// Reputation scores are basis points: 0 ..= 10,000.
pub const MAX_REPUTATION: u16 = 10_000;

/// SHA-256 of an entry's signed body: the entry's identity and the next entry's `prev`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EntryHash(pub [u8; 32]);

impl EntryHash {
    /// `prev` of an account's first entry.
    pub const GENESIS: Self = Self([0; 32]);
}

impl core::fmt::Debug for EntryHash {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "EntryHash({})", crate::radix::hex(&self.0[..6]))
    }
}

/// Why a validator minted credits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MintReason {
    /// Verified work on a task, paid by the network (canary tasks, which nobody escrows for).
    Canary {
        /// The task.
        task: TaskId,
    },
    /// The early-adopter bonus on top of a verified payment for `task`, whose result took the
    /// worker `work_ms` (the network's total of these is the curve's input).
    EarlyAdopter {
        /// The task.
        task: TaskId,
        /// How long the verified work took (the early-adopter curve's input).
        work_ms: u64,
    },
    /// Time online offering work, attested by the relay.
    Uptime {
        /// Whole seconds online that the mint pays for.
        seconds: u32,
    },
}

/// What a slash proves. Every kind carries something the accused signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Evidence {
    /// Two different bodies the subject signed with the same sequence number: a complete proof.
    Equivocation {
        /// One body the subject signed with that sequence number (encoded).
        first: Vec<u8>,
        /// The subject's signature over it.
        first_signature: Vec<u8>,
        /// The other body with the same sequence number (encoded).
        second: Vec<u8>,
        /// The subject's signature over it.
        second_signature: Vec<u8>,
    },
    /// The subject's signed result commitment on a known-answer task, which does not match.
    FailedCanary {
        /// The task.
        task: TaskId,
        /// The worker's commitment to its wrong answer.
        commitment: [u8; 32],
        /// The worker's signature over it: the evidence.
        signature: Vec<u8>,
    },
    /// The subject's signed result commitment, outvoted by the task's other workers.
    Outvoted {
        /// The task.
        task: TaskId,
        /// The outvoted worker's result commitment.
        commitment: [u8; 32],
        /// The worker's signature over it: the evidence.
        signature: Vec<u8>,
    },
}

/// What an entry does. Amounts are micro-credits (1 credit = 1,000,000).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum EntryKind {
    /// The author pays `to`.
    Transfer {
        /// The account credited.
        to: Account,
        /// Micro-credits.
        amount: u64,
    },
    /// The author locks `amount` for a task it submits.
    Escrow {
        /// The task.
        task: TaskId,
        /// Micro-credits.
        amount: u64,
    },
    /// Validator: releases `amount` of `payer`'s escrow for `task` to a verified worker.
    Payment {
        /// The submitter whose escrow pays.
        payer: Account,
        /// The task.
        task: TaskId,
        /// The worker paid.
        to: Account,
        /// Micro-credits.
        amount: u64,
    },
    /// Validator: returns what is left of `payer`'s escrow for `task` and closes it.
    Refund {
        /// The submitter the rest goes back to.
        payer: Account,
        /// The task.
        task: TaskId,
    },
    /// The author moves credits from its balance to its stake.
    Stake {
        /// Micro-credits.
        amount: u64,
    },
    /// The author moves credits from its stake back to its balance.
    Unstake {
        /// Micro-credits.
        amount: u64,
    },
    /// Validator: new credits for `to`.
    Mint {
        /// The account credited.
        to: Account,
        /// Micro-credits.
        amount: u64,
        /// Why the credits are minted.
        reason: MintReason,
    },
    /// Validator: burns up to `amount` of `subject`'s stake, with evidence.
    Slash {
        /// The account concerned.
        subject: Account,
        /// Micro-credits.
        amount: u64,
        /// Why, as proof any replica can check.
        evidence: Evidence,
    },
    /// Validator: sets `subject`'s reputation (last writer wins, by the entries' order).
    Reputation {
        /// The account concerned.
        subject: Account,
        /// Basis points, 0 ..= 10,000.
        score: u16,
    },
}

impl EntryKind {
    /// Only validators may write this kind.
    pub fn needs_validator(&self) -> bool {
        matches!(
            self,
            Self::Payment { .. }
                | Self::Refund { .. }
                | Self::Mint { .. }
                | Self::Slash { .. }
                | Self::Reputation { .. }
        )
    }
}

/// The signed part of an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryBody {
    /// Whose chain this is; the signer.
    pub author: Account,
    /// Position in the author's chain, from 0.
    pub seq: u64,
    /// Hash of the author's entry `seq - 1` ([`EntryHash::GENESIS`] for seq 0).
    pub prev: EntryHash,
    /// Lamport clock: greater than `prev`'s and than every entry the author had seen. The global
    /// order in which effects apply is (clock, author, seq).
    pub clock: u64,
    /// What it does.
    pub kind: EntryKind,
}

impl EntryBody {
    /// The canonical bytes (postcard) that are signed and hashed.
    pub fn to_bytes(&self) -> Vec<u8> {
        // A body of fixed-size fields and bounded vectors always serializes.
        postcard::to_allocvec(self).unwrap_or_default()
    }

    /// The message a signer signs: domain tag and body bytes.
    pub fn signing_message(body_bytes: &[u8]) -> Vec<u8> {
        [SIGNING_DOMAIN, body_bytes].concat()
    }

    /// Decodes a body from untrusted bytes (evidence carries bodies as bytes).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, LedgerError> {
        if bytes.len() > MAX_ENTRY_LEN {
            return Err(LedgerError::TooLarge { len: bytes.len() });
        }
        let (body, rest) = postcard::take_from_bytes::<Self>(bytes)
            .map_err(|e| LedgerError::Malformed(e.to_string()))?;
        if !rest.is_empty() {
            return Err(LedgerError::Malformed(format!(
                "{} trailing bytes",
                rest.len()
            )));
        }
        Ok(body)
    }
}

/// Another validator's signature over the same message as the author's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attestation {
    /// The attesting validator.
    pub validator: Account,
    /// Its signature over the entry's signing message.
    pub signature: Vec<u8>,
}

/// A signed entry, as stored and sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// What was signed.
    pub body: EntryBody,
    /// The author's signature over [`EntryBody::signing_message`].
    pub signature: Vec<u8>,
    /// Co-signatures by other validators (validator kinds only).
    pub attestations: Vec<Attestation>,
}

impl Entry {
    /// Signs `body` with the author's key (the caller makes sure `key` is `body.author`'s).
    pub fn sign(body: EntryBody, key: &crate::SecretKey) -> Self {
        let signature = key
            .sign(&EntryBody::signing_message(&body.to_bytes()))
            .to_bytes()
            .to_vec();
        Self {
            body,
            signature,
            attestations: Vec::new(),
        }
    }

    /// Adds another validator's attestation.
    pub fn attest(&mut self, key: &crate::SecretKey) {
        let signature = key
            .sign(&EntryBody::signing_message(&self.body.to_bytes()))
            .to_bytes()
            .to_vec();
        self.attestations.push(Attestation {
            validator: Account::of(&key.node_id()),
            signature,
        });
    }

    /// The entry's identity: SHA-256 of its body bytes (signatures excluded, so attestations can
    /// be added without changing it).
    pub fn hash(&self) -> EntryHash {
        hash_body(&self.body.to_bytes())
    }

    /// Encoded size in bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        postcard::to_allocvec(self).unwrap_or_default()
    }

    /// Decodes an entry from untrusted bytes and checks the size limits (not the signatures).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, LedgerError> {
        if bytes.len() > MAX_ENTRY_LEN {
            return Err(LedgerError::TooLarge { len: bytes.len() });
        }
        let (entry, rest) = postcard::take_from_bytes::<Self>(bytes)
            .map_err(|e| LedgerError::Malformed(e.to_string()))?;
        if !rest.is_empty() {
            return Err(LedgerError::Malformed(format!(
                "{} trailing bytes",
                rest.len()
            )));
        }
        entry.check_shape()?;
        Ok(entry)
    }

    /// Limits and rules that need no signature check and no other entry.
    pub fn check_shape(&self) -> Result<(), LedgerError> {
        let len = postcard::experimental::serialized_size(self).unwrap_or(usize::MAX);
        if len > MAX_ENTRY_LEN {
            return Err(LedgerError::TooLarge { len });
        }
        if self.signature.len() != Signature::LEN {
            return Err(LedgerError::Malformed("signature is not 64 bytes".into()));
        }
        if self.attestations.len() > MAX_ATTESTATIONS {
            return Err(LedgerError::Malformed(format!(
                "{} attestations > {MAX_ATTESTATIONS}",
                self.attestations.len()
            )));
        }
        let b = &self.body;
        if (b.seq == 0) != (b.prev == EntryHash::GENESIS) {
            return Err(LedgerError::Malformed(
                "seq 0 and only seq 0 has the genesis prev".into(),
            ));
        }
        let positive = |amount: u64| {
            if amount == 0 {
                Err(LedgerError::ZeroAmount)
            } else {
                Ok(())
            }
        };
        match &b.kind {
            EntryKind::Transfer { to, amount } => {
                if *to == b.author {
                    return Err(LedgerError::Malformed("transfer to oneself".into()));
                }
                positive(*amount)
            }
            EntryKind::Escrow { amount, .. }
            | EntryKind::Payment { amount, .. }
            | EntryKind::Stake { amount }
            | EntryKind::Unstake { amount }
            | EntryKind::Mint { amount, .. }
            | EntryKind::Slash { amount, .. } => positive(*amount),
            EntryKind::Refund { .. } => Ok(()),
            EntryKind::Reputation { score, .. } => {
                if *score > MAX_REPUTATION {
                    Err(LedgerError::Malformed(format!(
                        "reputation {score} > {MAX_REPUTATION}"
                    )))
                } else {
                    Ok(())
                }
            }
        }
    }

    /// Everything that can be checked about this entry alone: shape, the author's signature,
    /// validator attestations, and the slash's evidence.
    pub fn verify(&self, config: &LedgerConfig) -> Result<(), LedgerError> {
        self.verify_with(config, &mut KeyCache::default())
    }

    /// [`Self::verify`] with a cache of decompressed keys (a ledger keeps one).
    pub fn verify_with(
        &self,
        config: &LedgerConfig,
        keys: &mut KeyCache,
    ) -> Result<(), LedgerError> {
        self.check_shape()?;
        let message = EntryBody::signing_message(&self.body.to_bytes());
        verify_signature(keys, &self.body.author, &message, &self.signature)?;
        self.verify_authority(config, &message, keys)?;
        if let EntryKind::Slash {
            subject, evidence, ..
        } = &self.body.kind
        {
            verify_evidence(keys, subject, evidence)?;
        }
        Ok(())
    }

    /// The validator rules, given that the author's signature is already checked.
    pub(crate) fn verify_authority(
        &self,
        config: &LedgerConfig,
        message: &[u8],
        keys: &mut KeyCache,
    ) -> Result<(), LedgerError> {
        if !self.body.kind.needs_validator() {
            return if self.attestations.is_empty() {
                Ok(())
            } else {
                Err(LedgerError::Malformed(
                    "attestations on an entry that needs none".into(),
                ))
            };
        }
        if !config.is_validator(&self.body.author) {
            return Err(LedgerError::NotValidator);
        }
        let mut signers = vec![self.body.author];
        for a in &self.attestations {
            if !config.is_validator(&a.validator) || signers.contains(&a.validator) {
                return Err(LedgerError::NotValidator);
            }
            verify_signature(keys, &a.validator, message, &a.signature)?;
            signers.push(a.validator);
        }
        if signers.len() < usize::from(config.threshold()) {
            return Err(LedgerError::TooFewAttestations {
                have: signers.len(),
                need: usize::from(config.threshold()),
            });
        }
        Ok(())
    }
}

/// SHA-256 over a domain tag and body bytes.
pub(crate) fn hash_body(body_bytes: &[u8]) -> EntryHash {
    let mut h = Sha256::new();
    h.update(b"edgenet/ledger-hash/v1");
    h.update(body_bytes);
    EntryHash(h.finalize().into())
}

fn verify_signature(
    keys: &mut KeyCache,
    signer: &Account,
    message: &[u8],
    signature: &[u8],
) -> Result<(), LedgerError> {
    let item = super::sigcheck::Item {
        signer,
        message,
        signature,
    };
    super::sigcheck::verify_with(&item, keys)
}

fn verify_evidence(
    keys: &mut KeyCache,
    subject: &Account,
    evidence: &Evidence,
) -> Result<(), LedgerError> {
    let bad = |why: &str| Err(LedgerError::BadEvidence(why.into()));
    match evidence {
        Evidence::Equivocation {
            first,
            first_signature,
            second,
            second_signature,
        } => {
            if first == second {
                return bad("the two bodies are the same");
            }
            let (a, b) = (
                EntryBody::from_bytes(first)?,
                EntryBody::from_bytes(second)?,
            );
            if a.author != *subject || b.author != *subject || a.seq != b.seq {
                return bad("the bodies are not the subject's, or not at one sequence number");
            }
            verify_signature(
                keys,
                subject,
                &EntryBody::signing_message(first),
                first_signature,
            )?;
            verify_signature(
                keys,
                subject,
                &EntryBody::signing_message(second),
                second_signature,
            )
        }
        Evidence::FailedCanary {
            task,
            commitment,
            signature,
        }
        | Evidence::Outvoted {
            task,
            commitment,
            signature,
        } => verify_signature(
            keys,
            subject,
            &result_signing_message(task, commitment),
            signature,
        ),
    }
}
