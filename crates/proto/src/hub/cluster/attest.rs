//! k of n validators. When the cluster's validator set asks for more than one signature per
//! validator entry (a threshold k > 1), an entry this relay writes (a mint, a payment from an
//! escrow, a refund, a slash, a reputation) takes effect only once k validators have signed it:
//! the relay signs it as its author, asks the other relays to attest it ([`Output::Attest`]),
//! and stores and applies it when enough have ([`Input::Attestation`](crate::hub::Input::Attestation)). Until then it is in
//! no replica, so no credit exists before k relays agreed to it.
//!
//! ```text
//! A: write_entries(Mint) --> signed by A, awaiting --Output::Attest--> B, C
//! B: Hub::attest(entry)  --> checks it against B's replica --> Attestation
//! A: Input::Attestation --> k signatures: stored, applied, published, sent to its accounts
//! ```
//!
//! What an attester checks before it signs is in `docs/ledger.md` ("Attestations"): the entry
//! verifies but for the missing signatures, it names no place in a chain that already holds
//! another entry or that this relay attested for another body, and it is within what the
//! attester's own replica allows (an open escrow for a payment or refund, a bounded amount for a
//! mint). An attester that refuses says why; the author asks again every [`ATTEST_RETRY_MS`]
//! (a refusal for an escrow still on its way through the log then passes).
//!
//! The relay's entries wait in chain order, each built on the one before; one is applied only
//! after every earlier one. At most [`MAX_AWAITING`] wait: past that a write is refused as one
//! the store refused (EN-219), and its caller tries again later. Waiting entries are kept in the
//! store ([`EntryStore::await_attestations`]) before anyone is asked, so a restarted relay asks
//! for the same entries again ([`Input::AwaitingAttestation`](crate::hub::Input::AwaitingAttestation)) and never signs another at their places.
//!
//! [`EntryStore::await_attestations`]: crate::hub::EntryStore::await_attestations

use std::collections::{HashMap, VecDeque};

use edgenet_core::ledger::{
    Account, Attestation, Entry, EntryBody, EntryHash, EntryKind, LedgerError, LedgerState,
    MintReason,
};
use edgenet_core::{NodeId, Signature};

use crate::Millis;
use crate::error::ProtoError;
use crate::hub::{Hub, HubEvent, Output};
use crate::message::RelayMsg;
use edgenet_core::ledger::sync::SyncMessage;

/// This relay's entries waiting for attestations, at most.
pub const MAX_AWAITING: usize = 1_024;
/// How often the attestations an entry still lacks are asked for again.
pub const ATTEST_RETRY_MS: Millis = 1_000;
/// Places in other relays' chains this relay remembers attesting (the oldest forgotten first).
pub const MAX_ATTESTED_REMEMBERED: usize = 4_096;
/// The early-adopter multiplier's ceiling (10×, `core::ledger::curve`): no mint is above its base
/// amount times this.
const MAX_MULTIPLIER: u64 = 10;

/// The most a mint for `reason` may be under this relay's configuration, the early-adopter
/// multiplier at its ceiling.
fn mint_cap(config: &crate::hub::HubConfig, reason: &MintReason, state: &LedgerState) -> u64 {
    match reason {
        MintReason::Canary { .. } => config.canary_reward.saturating_mul(MAX_MULTIPLIER),
        MintReason::Uptime { seconds } => {
            // `seconds` is the periods' length rounded down to whole seconds: one more period
            // covers the rounding.
            let periods =
                u64::from(*seconds).saturating_mul(1_000) / config.uptime_period_ms.max(1) + 1;
            periods
                .saturating_mul(config.uptime_bonus)
                .saturating_mul(MAX_MULTIPLIER)
        }
        // The bonus on a payment from the task's escrow: at most (multiplier - 1) × it.
        MintReason::EarlyAdopter { task, .. } => state
            .escrows()
            .filter(|(_, t, _)| t == task)
            .map(|(_, _, amount)| amount)
            .max()
            .unwrap_or(0)
            .saturating_mul(MAX_MULTIPLIER - 1),
    }
}

/// An attester's answer on the wire: the entry's hash (32 bytes), then the attestation
/// (postcard).
pub fn encode_attested(hash: &EntryHash, attestation: &Attestation) -> Vec<u8> {
    let tail = postcard::to_allocvec(attestation).unwrap_or_default();
    [&hash.0[..], &tail].concat()
}

/// Reads an attester's answer ([`encode_attested`]) from untrusted bytes; [`Input::Attestation`](crate::hub::Input::Attestation)
/// checks it.
pub fn decode_attested(bytes: &[u8]) -> Result<(EntryHash, Attestation), ProtoError> {
    if bytes.len() > 256 {
        return Err(ProtoError::LimitExceeded(format!(
            "an attestation of {} bytes",
            bytes.len()
        )));
    }
    let (hash, tail) = bytes
        .split_first_chunk::<32>()
        .ok_or_else(|| ProtoError::Malformed("attestation too short".into()))?;
    let (attestation, left) = postcard::take_from_bytes::<Attestation>(tail)
        .map_err(|e| ProtoError::Malformed(format!("attestation: {e}")))?;
    if !left.is_empty() {
        return Err(ProtoError::Malformed("bytes after the attestation".into()));
    }
    Ok((EntryHash(*hash), attestation))
}

/// Counters for the API.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct AttestStats {
    /// This relay's entries waiting for attestations now.
    pub awaiting: usize,
    /// Of those, applied once attested.
    pub applied: u64,
    /// Other relays' entries this relay attested.
    pub given: u64,
    /// Other relays' entries this relay refused to attest.
    pub refused: u64,
}

/// Both sides' state.
#[derive(Default)]
pub(in crate::hub) struct Attestations {
    awaiting: VecDeque<Entry>,
    /// When the attestations still missing are next asked for.
    retry_at: Option<Millis>,
    /// What this relay attested, by place in a chain.
    attested: HashMap<(Account, u64), EntryHash>,
    attested_order: VecDeque<(Account, u64)>,
    stats: AttestStats,
}

impl Attestations {
    pub(in crate::hub) fn retry_at(&self) -> Option<Millis> {
        self.retry_at.filter(|_| !self.awaiting.is_empty())
    }

    /// The entries waiting, oldest first (for the credit invariant: none is in the ledger).
    #[cfg(any(test, feature = "fuzzing"))]
    pub(in crate::hub) fn awaiting(&self) -> impl Iterator<Item = &Entry> {
        self.awaiting.iter()
    }
}

impl Hub {
    /// Whether this relay's validator entries need other relays' attestations.
    pub(in crate::hub) fn needs_attestations(&self) -> bool {
        self.ledger.config().threshold() > 1
    }

    /// Signs the relay's entries after those already waiting and asks for their attestations.
    pub(in crate::hub) fn write_awaiting(
        &mut self,
        kinds: Vec<EntryKind>,
    ) -> Result<(), ProtoError> {
        if self.attest.awaiting.len() + kinds.len() > MAX_AWAITING {
            return Err(ProtoError::NotStored(format!(
                "{} entries wait for attestations (at most {MAX_AWAITING})",
                self.attest.awaiting.len()
            )));
        }
        let me = Account::of(&self.key.node_id());
        let mut signed = Vec::with_capacity(kinds.len());
        for kind in kinds {
            let body = match self.attest.awaiting.back() {
                None => self
                    .ledger
                    .next_body(me, kind)
                    .map_err(|e| ProtoError::NotStored(e.to_string()))?,
                Some(last) => EntryBody {
                    author: me,
                    seq: last.body.seq + 1,
                    prev: last.hash(),
                    clock: self.ledger.max_clock().max(last.body.clock) + 1,
                    kind,
                },
            };
            let entry = Entry::sign(body, &self.key);
            signed.push(entry.clone());
            // Chained on the ones before it, which are not in the ledger yet.
            self.attest.awaiting.push_back(entry);
        }
        // Kept before anyone is asked: a restart asks for these same entries again.
        if let Err(e) = self.store.await_attestations(&signed) {
            self.attest
                .awaiting
                .truncate(self.attest.awaiting.len() - signed.len());
            return Err(ProtoError::NotStored(e));
        }
        for entry in signed {
            self.out.push_back(Output::Attest(Box::new(entry)));
        }
        Ok(())
    }

    /// After a restart: this relay's entries that were waiting for attestations when it
    /// stopped (its store's), asked for again. Entries the ledger holds by now, and any that
    /// do not continue the relay's chain, are dropped.
    pub(in crate::hub) fn resume_awaiting(&mut self, entries: Vec<Entry>) {
        let me = Account::of(&self.key.node_id());
        for entry in entries {
            if entry.body.author != me || self.ledger.holds(&entry) {
                continue;
            }
            let next = match self.attest.awaiting.back() {
                Some(last) => last.body.seq + 1 == entry.body.seq && entry.body.prev == last.hash(),
                None => self.ledger.account(&me).chain_len == entry.body.seq,
            };
            if !next || self.attest.awaiting.len() >= MAX_AWAITING {
                continue;
            }
            self.out.push_back(Output::Attest(Box::new(entry.clone())));
            self.attest.awaiting.push_back(entry);
        }
    }

    /// Asks again for what the waiting entries lack, every [`ATTEST_RETRY_MS`].
    pub(in crate::hub) fn retry_attestations(&mut self, now: Millis) {
        if self.attest.awaiting.is_empty() {
            self.attest.retry_at = None;
            return;
        }
        match self.attest.retry_at {
            Some(at) if now < at => {}
            Some(_) => {
                for entry in &self.attest.awaiting {
                    self.out.push_back(Output::Attest(Box::new(entry.clone())));
                }
                self.attest.retry_at = Some(now + ATTEST_RETRY_MS);
            }
            None => self.attest.retry_at = Some(now + ATTEST_RETRY_MS),
        }
        self.apply_attested();
    }

    /// Another relay's entry to attest: checked against this replica (module docs), then
    /// signed. This relay remembers the place in the author's chain, and never attests another
    /// body for it.
    pub(in crate::hub) fn attest(&mut self, entry: &Entry) -> Result<Attestation, ProtoError> {
        let refused = self.check_attestable(entry);
        if let Err(e) = refused {
            self.attest.stats.refused += 1;
            return Err(e);
        }
        let place = (entry.body.author, entry.body.seq);
        if self.attest.attested.insert(place, entry.hash()).is_none() {
            self.attest.attested_order.push_back(place);
            while self.attest.attested_order.len() > MAX_ATTESTED_REMEMBERED {
                if let Some(old) = self.attest.attested_order.pop_front() {
                    self.attest.attested.remove(&old);
                }
            }
        }
        self.attest.stats.given += 1;
        let signature = self
            .key
            .sign(&EntryBody::signing_message(&entry.body.to_bytes()));
        Ok(Attestation {
            validator: Account::of(&self.key.node_id()),
            signature: signature.to_bytes().to_vec(),
        })
    }

    fn check_attestable(&mut self, entry: &Entry) -> Result<(), ProtoError> {
        let refuse = |why: String| Err(ProtoError::NotAllowed(format!("not attested: {why}")));
        if !self.config.attests {
            return refuse("this relay attests nothing (--no-attest)".into());
        }
        let author = entry.body.author;
        if author == Account::of(&self.key.node_id()) {
            return refuse("an entry of this relay's own".into());
        }
        if !entry.body.kind.needs_validator() {
            return refuse("not a validator entry".into());
        }
        // Everything but the signatures still missing: shape, the author's signature and its
        // place in the validator set, the attestations it carries, a slash's evidence.
        match entry.verify(self.ledger.config()) {
            Ok(()) | Err(LedgerError::TooFewAttestations { .. }) => {}
            Err(e) => return refuse(e.to_string()),
        }
        let place = (author, entry.body.seq);
        if self
            .attest
            .attested
            .get(&place)
            .is_some_and(|h| *h != entry.hash())
            || self.ledger.conflicts(entry)
        {
            return refuse(format!(
                "another entry holds place {} of {author}'s chain",
                entry.body.seq
            ));
        }
        let state = self.ledger.state();
        match &entry.body.kind {
            EntryKind::Payment {
                payer,
                task,
                amount,
                ..
            } => {
                let held = state.escrow(payer, task).unwrap_or(0);
                if held < *amount {
                    return refuse(format!("{held} escrowed for task {task}, not {amount}"));
                }
            }
            EntryKind::Refund { payer, task } if state.escrow(payer, task).is_none() => {
                return refuse(format!("no open escrow of {payer} for task {task}"));
            }
            EntryKind::Mint { amount, reason, .. } => {
                let cap = mint_cap(&self.config, reason, state);
                if *amount > cap {
                    return refuse(format!("a mint of {amount} (at most {cap} here)"));
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Another relay's attestation of an entry this relay wrote. True once it took effect.
    pub(in crate::hub) fn on_attestation(
        &mut self,
        hash: EntryHash,
        attestation: Attestation,
    ) -> Result<bool, ProtoError> {
        let config = self.ledger.config().clone();
        let Some(entry) = self.attest.awaiting.iter_mut().find(|e| e.hash() == hash) else {
            // Already applied (a late or repeated answer), or never asked.
            return Ok(false);
        };
        let signer = attestation.validator;
        if !config.is_validator(&signer)
            || signer == entry.body.author
            || entry.attestations.iter().any(|a| a.validator == signer)
        {
            return Err(ProtoError::NotAllowed(format!(
                "{signer} may not attest this entry (again)"
            )));
        }
        let node: NodeId = signer
            .node_id()
            .map_err(|e| ProtoError::Malformed(e.to_string()))?;
        let signature = Signature::from_slice(&attestation.signature)
            .map_err(|e| ProtoError::Malformed(e.to_string()))?;
        node.verify(
            &EntryBody::signing_message(&entry.body.to_bytes()),
            &signature,
        )
        .map_err(|_| ProtoError::NotAllowed("attestation does not verify".into()))?;
        entry.attestations.push(attestation);
        let before = self.attest.stats.applied;
        self.apply_attested();
        Ok(self.attest.stats.applied > before)
    }

    /// Stores and applies the waiting entries that have their k signatures, in chain order.
    fn apply_attested(&mut self) {
        let need = usize::from(self.ledger.config().threshold());
        while let Some(front) = self.attest.awaiting.front() {
            if 1 + front.attestations.len() < need {
                return;
            }
            let entry = front.clone();
            // Durable before it takes effect; a store that fails is tried again later.
            let stored = self.store.persist(std::slice::from_ref(&entry));
            self.metrics.store_ok = stored.is_ok();
            if stored.is_err() {
                return;
            }
            self.attest.awaiting.pop_front();
            if self.ledger.insert(entry.clone()).is_err() {
                continue;
            }
            self.attest.stats.applied += 1;
            self.note_written(std::slice::from_ref(&entry));
            self.send_to_named(&entry);
        }
    }

    /// Sends an entry to the peers online here whose accounts it names.
    fn send_to_named(&mut self, entry: &Entry) {
        let named: Vec<Account> = match &entry.body.kind {
            EntryKind::Payment { payer, to, .. } => vec![*payer, *to],
            EntryKind::Mint { to, .. } => vec![*to],
            EntryKind::Refund { payer, .. } => vec![*payer],
            EntryKind::Slash { subject, .. } | EntryKind::Reputation { subject, .. } => {
                vec![*subject]
            }
            _ => vec![],
        };
        for account in named {
            let Ok(node) = account.node_id() else {
                continue;
            };
            if self.peers.contains(&node) {
                let msg = RelayMsg::Ledger(SyncMessage::Entries(vec![entry.clone()]));
                self.send_to(&node, &msg);
            }
        }
    }

    /// The counters of attestations, given and awaited.
    pub fn attest_stats(&self) -> AttestStats {
        AttestStats {
            awaiting: self.attest.awaiting.len(),
            ..self.attest.stats
        }
    }

    /// Events and metrics of entries the relay wrote, once they took effect.
    pub(in crate::hub) fn note_written(&mut self, entries: &[Entry]) {
        for entry in entries {
            self.metrics.entry(&entry.body.kind);
            match entry.body.kind {
                EntryKind::Mint { amount, .. } => self.event(HubEvent::CreditsMinted {
                    micro_credits: amount,
                }),
                EntryKind::Payment { amount, .. } => self.event(HubEvent::CreditsPaid {
                    micro_credits: amount,
                }),
                // Where the worker stands in the offers (`routing/peers.rs`).
                EntryKind::Reputation { subject, score } => {
                    if let Ok(node) = subject.node_id() {
                        self.peers.reputation(&node, score);
                    }
                }
                _ => {}
            }
        }
    }
}
