//! What collections cost (with [`HubConfig::paid_collections`], the relay's default).
//!
//! - **Creating one escrows its deposit**: [`CollectionSpec::deposit`] (a week of one MB per
//!   shard replica at the brief's 0.01 credit/MB/day), under the task id
//!   [`CollectionId::deposit_task`] names, written by the owner before its `Create`. A create
//!   without it is refused (EN-238) and places nothing; the escrow, if any, is then refunded as
//!   a stray one after the escrow grace. At the end of the storage term the relay pays each
//!   ready holder of each shard its share and refunds the rest (shards with fewer holders).
//! - **Inserts and searches pay their list price** for the units they declare in their
//!   [`ShardTarget`]: vectors inserted, or query vectors searched, times the kind's price, times
//!   the replicas that run it. The relay checks the escrow against that before it offers the task.
//!
//! A relay that restarts refunds every escrow open at start (`economy/escrows.rs`), deposits
//! included: its collections are learned back from their holders, and the owners keep their
//! credits. So nothing here outlives the relay's memory, and nothing mints: every credit a
//! holder earns comes out of an owner's escrow.
//!
//! [`HubConfig::paid_collections`]: crate::hub::HubConfig::paid_collections
//! [`CollectionSpec::deposit`]: edgenet_core::collection::CollectionSpec::deposit
//! [`CollectionId::deposit_task`]: edgenet_core::collection::CollectionId::deposit_task
//! [`ShardTarget`]: crate::message::ShardTarget

use edgenet_core::NodeId;
use edgenet_core::collection::{
    CollectionId, CollectionSpec, INSERT_PRICE_PER_VECTOR, SEARCH_PRICE_PER_QUERY,
};
use edgenet_core::ledger::{Account, EntryKind};
use edgenet_core::task::{TaskId, TaskKind};

use crate::Millis;
use crate::error::CollectionRefusal;
use crate::hub::Hub;
use crate::hub::timers::Timer;
use crate::message::{ShardTarget, TaskSpec};

impl Hub {
    /// Whether `owner` escrowed the deposit creating `spec` costs (always, on a free relay).
    pub(super) fn check_deposit(
        &mut self,
        owner: &NodeId,
        id: CollectionId,
        spec: &CollectionSpec,
    ) -> Result<(), CollectionRefusal> {
        if !self.config.paid_collections {
            return Ok(());
        }
        let account = Account::of(owner);
        let state = self.ledger.state();
        let task = id.deposit_task();
        let escrowed = state.escrow(&account, &task).unwrap_or(0);
        let deposit = spec.deposit();
        if escrowed >= deposit {
            return Ok(());
        }
        Err(CollectionRefusal::Unpaid(format!(
            "creating collection {id} escrows its deposit of {deposit} micro-credits \
             ({} shards × {} replicas) under task {task}: {escrowed} escrowed, balance {}",
            spec.shards,
            spec.replicas,
            state.account(&account).balance
        )))
    }

    /// The collection was placed: its deposit (if the relay prices collections) is held until
    /// the end of the storage term, and is no stray escrow.
    pub(super) fn deposit_taken(&mut self, owner: &NodeId, id: CollectionId, now: Millis) {
        if !self.config.paid_collections {
            return;
        }
        let task = id.deposit_task();
        self.collections.deposits.insert(task, id);
        self.timers
            .cancel(&Timer::StrayEscrow(Account::of(owner), task));
        let end = now.saturating_add(self.config.storage_term_ms);
        self.timers.set(Timer::StorageTerm(id), end);
    }

    /// Whether `task` is the deposit of a collection of `payer`'s this relay holds.
    pub(in crate::hub) fn holds_deposit(&self, payer: &Account, task: &TaskId) -> bool {
        self.collections
            .deposits
            .get(task)
            .and_then(|id| self.collections.map.get(id))
            .is_some_and(|placed| placed.spec.owner == payer.0)
    }

    /// The storage term of `id` ended: each ready holder is paid one shard replica's share of
    /// the deposit for each shard it keeps, and the rest goes back to the owner.
    pub(in crate::hub) fn end_storage_term(&mut self, id: CollectionId, now: Millis) {
        let task = id.deposit_task();
        let payer = self.collections.map.get(&id).map(|p| Account(p.spec.owner));
        let escrowed = payer.and_then(|payer| self.ledger.state().escrow(&payer, &task));
        let (Some(payer), Some(escrowed), Some(placed)) =
            (payer, escrowed, self.collections.map.get(&id))
        else {
            self.collections.deposits.remove(&task);
            return;
        };
        let slots = u64::from(placed.spec.shards) * u64::from(placed.spec.replicas);
        let share = escrowed / slots.max(1);
        // One payment per holder (for every shard replica it keeps ready): a task pays an
        // account once.
        let mut slots_of: std::collections::BTreeMap<NodeId, u64> = Default::default();
        for holders in &placed.shards {
            let ready = holders.iter().filter(|h| h.ready);
            for h in ready.take(usize::from(placed.spec.replicas)) {
                *slots_of.entry(h.node).or_default() += 1;
            }
        }
        let mut kinds: Vec<EntryKind> = slots_of
            .into_iter()
            .filter(|_| share > 0)
            .map(|(node, n)| EntryKind::Payment {
                payer,
                task,
                to: Account::of(&node),
                amount: share * n,
            })
            .collect();
        kinds.push(EntryKind::Refund { payer, task });
        let owner = NodeId::from_bytes(&placed.spec.owner).ok();
        let written = match owner.filter(|o| self.peers.contains(o)) {
            Some(owner) => self.write_and_send(kinds, &owner),
            None => self.write_entries(kinds).map(|_| ()),
        };
        if written.is_err() {
            // Not stored: again at the next timer.
            self.timers.set(Timer::StorageTerm(id), now);
            return;
        }
        self.collections.deposits.remove(&task);
    }

    /// Whether a shard task carries its kind's list price for the units it declares, over the
    /// `replicas` that run it.
    pub(super) fn check_shard_price(
        &self,
        spec: &TaskSpec,
        target: &ShardTarget,
        replicas: usize,
    ) -> Result<(), CollectionRefusal> {
        if !self.config.paid_collections {
            return Ok(());
        }
        let (unit, what) = if spec.kind == TaskKind::VECTOR_INSERT {
            (INSERT_PRICE_PER_VECTOR, "vectors inserted")
        } else {
            (SEARCH_PRICE_PER_QUERY, "query vectors")
        };
        let units = u64::from(target.vectors);
        let price = unit.saturating_mul(units).saturating_mul(replicas as u64);
        if units > 0 && spec.max_credits >= price {
            return Ok(());
        }
        Err(CollectionRefusal::Unpaid(format!(
            "{} on shard {} costs {unit} micro-credits per unit × {units} {what} × {replicas} \
             replicas = {price}; the task offers {} (declare at least one unit)",
            spec.kind.name(),
            target.shard,
            spec.max_credits
        )))
    }
}
