//! Proofs of work for what the relay mints per identity: a canary's reward and each uptime
//! period's bonus cost one proof each (`edgenet_core::work`; why, with the arithmetic, in
//! docs/ledger.md "What first credits cost").
//!
//! A worker has at most one challenge out and at most [`BANKED`] proofs in hand, so it can prove
//! ahead of a reward but not hoard. A canary passed without a proof in hand is paid when the
//! next proof arrives; an uptime period without one is not paid. Each challenge is checked once
//! (one digest, about a millisecond): a wrong answer costs the worker that challenge, and the
//! relay's own work is bounded by the challenges it hands out.

use edgenet_core::NodeId;
use edgenet_core::ledger::sync::SyncMessage;
use edgenet_core::ledger::{Account, Entry, EntryKind, MintReason, curve};
use edgenet_core::task::TaskId;
use edgenet_core::work;
use rand_core::Rng;

use crate::error::ProtoError;
use crate::hub::Hub;
use crate::message::RelayMsg;

/// Proofs a worker may hold unspent.
pub const BANKED: u8 = 2;

/// One worker's proofs (per connection: a reconnect starts over).
#[derive(Debug, Default, Clone)]
pub(in crate::hub) struct WorkAccount {
    /// The challenge it was sent and has not answered.
    outstanding: Option<[u8; 32]>,
    /// Proofs accepted and not yet spent.
    banked: u8,
    /// A canary it passed while it had no proof in hand: paid with the next one.
    canary: Option<TaskId>,
}

impl Hub {
    /// Whether mints per identity cost proofs on this relay.
    fn work_required(&self) -> bool {
        let mints = self.config.canary_reward > 0 || self.config.pays_uptime();
        self.config.work_bits > 0 && mints
    }

    /// Sends `node` a fresh challenge if it is a worker with none out and room in its bank.
    pub(in crate::hub) fn ask_work(&mut self, node: &NodeId) {
        if !self.work_required() {
            return;
        }
        let mut challenge = [0u8; 32];
        self.rng.fill_bytes(&mut challenge);
        let Some(peer) = self.peers.get_mut(node) else {
            return;
        };
        let w = &mut peer.work;
        if !peer.info.capabilities.kernels.is_empty()
            && w.outstanding.is_none()
            && w.banked < BANKED
        {
            w.outstanding = Some(challenge);
            let bits = self.config.work_bits;
            self.send_to(node, &RelayMsg::WorkWanted { challenge, bits });
        }
    }

    /// A worker's proof: checked once against the challenge it was sent.
    pub(in crate::hub) fn on_work_proof(
        &mut self,
        node: NodeId,
        challenge: [u8; 32],
        nonce: u64,
    ) -> Result<(), ProtoError> {
        let bits = self.config.work_bits;
        let w = self
            .peers
            .get_mut(&node)
            .map(|p| &mut p.work)
            .filter(|w| w.outstanding == Some(challenge))
            .ok_or_else(|| ProtoError::BadWork("not the challenge this relay asked for".into()))?;
        w.outstanding = None;
        if !work::verify(&challenge, bits, nonce) {
            self.ask_work(&node);
            return Err(ProtoError::BadWork(format!(
                "the nonce does not give {bits} zero bits"
            )));
        }
        w.banked += 1;
        let waiting = w.canary.take();
        #[cfg(any(test, feature = "fuzzing"))]
        {
            *self.proofs_accepted.entry(Account::of(&node)).or_default() += 1;
        }
        if let Some(task) = waiting {
            self.pay_canary(node, task);
        }
        self.ask_work(&node);
        Ok(())
    }

    /// Spends one of `node`'s proofs, if this relay asks for them; whether it could.
    pub(in crate::hub) fn spend_work(&mut self, node: &NodeId) -> bool {
        if !self.work_required() {
            return true;
        }
        let Some(w) = self.peers.get_mut(node).map(|p| &mut p.work) else {
            return false;
        };
        if w.banked == 0 {
            return false;
        }
        w.banked -= 1;
        self.ask_work(node);
        true
    }

    /// Proofs `node` holds unspent (for the uptime bonus: one per period).
    pub(in crate::hub) fn banked_work(&self, node: &NodeId) -> u64 {
        if !self.work_required() {
            return u64::MAX;
        }
        self.peers.get(node).map_or(0, |p| u64::from(p.work.banked))
    }

    /// A passed canary's reward, with the early-adopter bonus on it: minted now if `worker` has
    /// a proof in hand, else when its next proof arrives.
    pub(in crate::hub) fn pay_canary(&mut self, worker: NodeId, task: TaskId) {
        if !self.spend_work(&worker) {
            if let Some(p) = self.peers.get_mut(&worker) {
                p.work.canary = Some(task);
            }
            return;
        }
        let kind = EntryKind::Mint {
            to: Account::of(&worker),
            amount: self.with_bonus(self.config.canary_reward),
            reason: MintReason::Canary { task },
        };
        // Not durable: not announced (and the worker gets a fresh canary when it returns).
        if let Ok(Some(entry)) = self.write_ledger(kind) {
            self.send_to(
                &worker,
                &RelayMsg::Ledger(SyncMessage::Entries(vec![entry])),
            );
        }
    }

    /// `amount` and the early-adopter bonus on it (`curve`), at the network's proven work so
    /// far (CPU-seconds: proven online time, an uptime period per proof). The bonus goes only with proven mints: on a payment, a submitter paying its own
    /// second identity would mint itself nine credits for each one it moved.
    pub(in crate::hub) fn with_bonus(&self, amount: u64) -> u64 {
        amount.saturating_add(curve::bonus(amount, self.network_work_s))
    }

    /// Proven online time in a reloaded ledger (the curve's input after a restart).
    pub(in crate::hub) fn proven_seconds(entries: &[Entry]) -> u64 {
        entries
            .iter()
            .filter_map(|e| match e.body.kind {
                EntryKind::Mint {
                    reason: MintReason::Uptime { seconds },
                    ..
                } => Some(u64::from(seconds)),
                _ => None,
            })
            .sum()
    }

    /// Test and fuzzing hook: mints `account` `periods` uptime bonuses as if it had proved them
    /// (the action fuzzer's way to give identities credits through a documented reward).
    #[cfg(any(test, feature = "fuzzing"))]
    pub fn grant_proven_uptime(&mut self, account: Account, periods: u64) {
        let seconds = periods * (self.config.uptime_period_ms / 1000).max(1);
        let kind = EntryKind::Mint {
            to: account,
            amount: periods * self.config.uptime_bonus,
            reason: MintReason::Uptime {
                seconds: u32::try_from(seconds).unwrap_or(u32::MAX),
            },
        };
        if self.write_ledger(kind).is_ok() {
            *self.proofs_accepted.entry(account).or_default() += periods;
        }
    }
}
