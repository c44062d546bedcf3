//! Proofs of work for what the relay mints per identity: a canary's reward and each uptime
//! period's bonus cost one proof each (`edgenet_core::work`; why, with the arithmetic, in
//! docs/ledger.md "What first credits cost").
//!
//! A worker has at most one challenge out and at most [`BANKED`] proofs in hand, so it can prove
//! ahead of a reward but not hoard. A canary passed without a proof in hand is paid when the
//! next proof arrives; an uptime period without one is not paid.
//!
//! A proof costs the relay one Argon2id digest (about a millisecond), so a wrong one costs its
//! sender: the digest is spent outside the hub's lock by the connection's own decoder, and only
//! for a challenge this relay made (`routing/inbound.rs`); it counts as
//! [`WRONG_PROOF_COST`](crate::hub::routing::inbound::WRONG_PROOF_COST) messages against the
//! sender's rate; the next challenge waits [`WRONG_PROOF_BACKOFF_MS`], doubling with each
//! wrong proof; and the [`MAX_WRONG_PROOFS`]th closes the connection (EN-234). An honest solver
//! never sends a wrong proof.

use edgenet_core::NodeId;
use edgenet_core::ledger::sync::SyncMessage;
use edgenet_core::ledger::{Account, Entry, EntryKind, MintReason, curve};
use edgenet_core::task::TaskId;
use edgenet_core::work::ChallengeKey;
use rand_core::Rng;

use crate::Millis;
use crate::error::ProtoError;
use crate::hub::Hub;
use crate::hub::routing::inbound::WorkCheck;
use crate::hub::timers::Timer;
use crate::message::RelayMsg;

/// Proofs a worker may hold unspent.
pub const BANKED: u8 = 2;

/// Wrong proofs that close a connection.
pub const MAX_WRONG_PROOFS: u8 = 3;

/// How long the next challenge waits after a wrong proof (doubling with each one).
pub const WRONG_PROOF_BACKOFF_MS: Millis = 2_000;

/// One worker's proofs (per connection: a reconnect starts over).
#[derive(Debug, Default, Clone)]
pub(in crate::hub) struct WorkAccount {
    /// The challenge it was sent and has not answered.
    outstanding: Option<[u8; 32]>,
    /// Proofs accepted and not yet spent.
    banked: u8,
    /// A canary it passed while it had no proof in hand: paid with the next one.
    canary: Option<TaskId>,
    /// Wrong proofs it sent.
    wrong: u8,
    /// Waiting out a wrong proof: no challenge until its timer.
    backing_off: bool,
}

impl Hub {
    /// Whether mints per identity cost proofs on this relay.
    fn work_required(&self) -> bool {
        let mints = self.config.canary_reward > 0 || self.config.pays_uptime();
        self.config.work_bits > 0 && mints
    }

    /// What a connection's decoder needs to check this relay's proofs (none when it asks none).
    pub(in crate::hub) fn work_check(&self) -> Option<WorkCheck> {
        Self::work_check_for(&self.work_key, &self.config)
    }

    /// [`Hub::work_check`] for a hub being made (its key derived once, in `Hub::new`).
    pub(in crate::hub) fn work_check_for(
        key: &ChallengeKey,
        config: &crate::hub::HubConfig,
    ) -> Option<WorkCheck> {
        (config.work_bits > 0).then(|| WorkCheck {
            key: key.clone(),
            bits: config.work_bits,
        })
    }

    /// Sends `node` a fresh challenge if it is a worker with none out, room in its bank, and no
    /// wrong proof to wait out.
    pub(in crate::hub) fn ask_work(&mut self, node: &NodeId) {
        if !self.work_required() {
            return;
        }
        let mut random = [0u8; 16];
        self.rng.fill_bytes(&mut random);
        let challenge = self.work_key.challenge(random);
        let Some(peer) = self.peers.get_mut(node) else {
            return;
        };
        let w = &mut peer.work;
        if !peer.info.capabilities.kernels.is_empty()
            && w.outstanding.is_none()
            && !w.backing_off
            && w.banked < BANKED
        {
            w.outstanding = Some(challenge);
            let bits = self.config.work_bits;
            self.send_to(node, &RelayMsg::WorkWanted { challenge, bits });
        }
    }

    /// A worker's proof for `challenge`, which its decoder found to prove the work or not.
    pub(in crate::hub) fn on_work_proof(
        &mut self,
        node: NodeId,
        challenge: [u8; 32],
        proves: bool,
        now: Millis,
    ) -> Result<(), ProtoError> {
        let bits = self.config.work_bits;
        let w = self
            .peers
            .get_mut(&node)
            .map(|p| &mut p.work)
            .filter(|w| w.outstanding == Some(challenge))
            .ok_or_else(|| ProtoError::BadWork("not the challenge this relay asked for".into()))?;
        w.outstanding = None;
        if !proves {
            w.wrong = w.wrong.saturating_add(1);
            if w.wrong >= MAX_WRONG_PROOFS {
                return Err(ProtoError::WorkRefused);
            }
            w.backing_off = true;
            let wait = WRONG_PROOF_BACKOFF_MS << (w.wrong - 1);
            self.timers
                .set(Timer::WorkRetry(*node.as_bytes()), now.saturating_add(wait));
            return Err(ProtoError::BadWork(format!(
                "the nonce does not give {bits} zero bits; the next challenge comes in {wait} ms"
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

    /// A wrong proof's wait is over: `node` may have its next challenge.
    pub(in crate::hub) fn work_retry(&mut self, node: &NodeId) {
        if let Some(p) = self.peers.get_mut(node) {
            p.work.backing_off = false;
        }
        self.ask_work(node);
    }

    /// Whether `node` waits out a wrong proof (its retry timer is then set).
    #[cfg(any(test, feature = "fuzzing"))]
    pub(in crate::hub) fn backing_off(&self, node: &NodeId) -> bool {
        self.peers.get(node).is_some_and(|p| p.work.backing_off)
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
