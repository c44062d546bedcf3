//! The hub's ledger as one replica of a cluster: several relays of one operator share one ledger
//! through a log (the relay's NATS adapter carries it), and each relay is a validator.
//!
//! What a cluster changes here, and nothing else:
//! - the validator set is the cluster's relay keys ([`Hub::with_validators`]), so an entry
//!   another relay wrote as validator verifies here;
//! - entries another relay accepted come in through [`Hub::merge_replicated`]. They are
//!   *inserted* (the CRDT's set union), not *admitted*: admission refuses an entry that orders
//!   before what this replica already applied, and two relays taking writes at once order their
//!   entries differently. Union is what makes every replica holding the same set agree; the
//!   bound admission gives still holds, because every replicated entry was admitted by the relay
//!   it was written through. They are stored with [`EntryStore::persist_replicated`], so a relay
//!   never publishes again what it consumed;
//! - an escrow belongs to the relay its submitter wrote it through: only that relay refunds it
//!   when its task never comes (`hub/economy/escrows.rs`). Escrows that arrived replicated are not
//!   watched here, at run time or after a restart, but their owner is remembered: when the
//!   directory says that relay is gone, one surviving relay takes them over
//!   ([`Input::RelayGone`](crate::hub::Input::RelayGone)) and refunds those still open after the escrow grace. Should the owner
//!   come back and refund too, the second refund finds the escrow closed and has no effect, so an
//!   escrow is settled once either way.
//!
//! [`EntryStore::persist_replicated`]: crate::hub::EntryStore::persist_replicated

use std::collections::{HashMap, HashSet};

use edgenet_core::NodeId;
use edgenet_core::ledger::{
    Account, Entry, EntryHash, EntryKind, Inserted, Ledger, LedgerConfig, LedgerError, Verified,
};
use edgenet_core::task::TaskId;

use crate::Millis;
use crate::error::ProtoError;
use crate::hub::timers::Timer;
use crate::hub::{Decoder, EntryStore, Hub};

/// Which relay each replicated escrow was written through. Bounded: past twice the open escrows
/// (plus [`OWNERS_SLACK`]), the closed ones are dropped, and open escrows are bounded by what the
/// ledger's admission lets exist (each locks at least a micro-credit).
#[derive(Debug, Default)]
pub(in crate::hub) struct EscrowOwners(HashMap<(Account, TaskId), NodeId>);

/// Owners kept beyond twice the open escrows before pruning.
const OWNERS_SLACK: usize = 64;

/// What [`Hub::merge_replicated`] did with a batch.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Merged {
    /// Entries new to this replica, now stored.
    pub new: u32,
    /// Entries it already held (its own, echoed by the log, or a repeat).
    pub held: u32,
    /// Entries refused (a bad signature, not a validator, a chain gap): a sign that the relays
    /// disagree on their configuration.
    pub refused: u32,
}

impl Hub {
    /// Makes this relay one of `config`'s validators. Call it on a new hub, before
    /// [`Hub::with_cluster_store`]. Fails when the relay's own key is not in the set. With a
    /// threshold above 1, the relay's validator entries take effect once enough of the others
    /// attested them (`hub/cluster/attest.rs`).
    pub fn with_validators(mut self, config: LedgerConfig) -> Result<Self, String> {
        if !config.is_validator(&Account::of(&self.key.node_id())) {
            return Err(format!(
                "this relay's key ({}) is not one of the validators",
                self.key.node_id()
            ));
        }
        if !self.ledger.is_empty() {
            return Err("the validator set is chosen before the ledger is loaded".into());
        }
        self.decoder = Decoder::new(config.clone()).with_work(self.work_check());
        self.ledger = Ledger::new(config);
        Ok(self)
    }

    /// [`Hub::with_store`] for a cluster member: `replicated` names the loaded entries that came
    /// from other relays, and which relay each came through: their escrows are those relays' to
    /// settle (module docs).
    pub fn with_cluster_store(
        mut self,
        store: Box<dyn EntryStore + Send>,
        entries: Vec<Entry>,
        replicated: &HashMap<EntryHash, NodeId>,
    ) -> Result<Self, LedgerError> {
        self.network_work_s = Self::proven_seconds(&entries);
        for e in &entries {
            if let (EntryKind::Escrow { task, .. }, Some(owner)) =
                (&e.body.kind, replicated.get(&e.hash()))
            {
                self.escrow_owners.0.insert((e.body.author, *task), *owner);
            }
        }
        let theirs: HashSet<(Account, TaskId)> = self.escrow_owners.0.keys().copied().collect();
        // Chain by chain, in order: a store returns rows in hash order, and an entry far past
        // the last one held of its chain would be refused as too far ahead.
        let mut entries = entries;
        entries.sort_by_key(|e| (e.body.author, e.body.seq));
        for result in self.ledger.insert_batch(entries) {
            result?;
        }
        self.store = store;
        self.watch_open_escrows(&theirs);
        Ok(self)
    }

    /// Entries the relay `from` put in the cluster's log, verified by a [`Decoder`] outside the
    /// hub: inserted (module docs), and stored durably first. A store that refuses the write
    /// leaves the ledger without them too, so the caller can offer the same batch again.
    pub(in crate::hub) fn merge_replicated(
        &mut self,
        from: NodeId,
        entries: Vec<Result<Verified, LedgerError>>,
    ) -> Result<Merged, ProtoError> {
        let mut merged = Merged::default();
        let mut candidates = Vec::with_capacity(entries.len());
        for entry in entries {
            match entry {
                Ok(v) if self.ledger.holds(v.entry()) => merged.held += 1,
                Ok(v) => candidates.push(v.into_entry()),
                Err(_) => merged.refused += 1,
            }
        }
        // On disk before in the ledger: an entry held but not stored would be lost by a restart,
        // while the log's position says it was taken.
        if !candidates.is_empty() {
            let stored = self.store.persist_replicated(&from, &candidates);
            self.metrics.store_ok = stored.is_ok();
            stored.map_err(ProtoError::NotStored)?;
        }
        for entry in candidates {
            let work = Self::proven_seconds(std::slice::from_ref(&entry));
            let escrow = match entry.body.kind {
                EntryKind::Escrow { task, .. } => Some((entry.body.author, task)),
                _ => None,
            };
            match self.ledger.insert_verified(entry) {
                Ok(Inserted::New) => {
                    merged.new += 1;
                    self.network_work_s = self.network_work_s.saturating_add(work);
                    if let Some(key) = escrow {
                        self.escrow_owners.0.insert(key, from);
                    }
                }
                Ok(Inserted::Duplicate | Inserted::Redundant) => merged.held += 1,
                Err(_) => merged.refused += 1,
            }
        }
        self.prune_escrow_owners();
        Ok(merged)
    }

    /// The cluster's directory no longer lists `relay`, and this relay is the one that takes
    /// over (the relay decides which: the lowest NodeId alive). Every open escrow written
    /// through `relay` becomes this relay's: refunded after the escrow grace unless its task
    /// turns up here. Returns how many it took.
    pub(in crate::hub) fn relay_gone(&mut self, relay: NodeId, now: Millis) -> usize {
        let taken: Vec<(Account, TaskId)> = self
            .escrow_owners
            .0
            .iter()
            .filter(|(_, owner)| **owner == relay)
            .map(|(key, _)| *key)
            .collect();
        let deadline = now.saturating_add(self.config.escrow_grace_ms);
        let mut open = 0;
        for (payer, task) in taken {
            self.escrow_owners.0.remove(&(payer, task));
            if self.ledger.state().escrow(&payer, &task).is_some() {
                self.timers.set(Timer::StrayEscrow(payer, task), deadline);
                open += 1;
            }
        }
        open
    }

    /// Escrows learned from the log whose owner this relay remembers (at most twice the open
    /// escrows, plus 64).
    pub fn escrows_owned_elsewhere(&self) -> usize {
        self.escrow_owners.0.len()
    }

    /// Drops the owners of closed escrows once they outnumber twice the open ones.
    fn prune_escrow_owners(&mut self) {
        let open = self.ledger.state().escrows().count();
        if self.escrow_owners.0.len() <= 2 * open + OWNERS_SLACK {
            return;
        }
        let state = self.ledger.state();
        self.escrow_owners
            .0
            .retain(|(payer, task), _| state.escrow(payer, task).is_some());
    }
}
