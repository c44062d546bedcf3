//! What must hold between any two calls into the hub, checked by tests and the action fuzzer
//! (`edgenet_sim::actions`) after every step. Each check names what broke.

use std::collections::HashMap;

use edgenet_core::NodeId;
use edgenet_core::ledger::Account;

use super::Hub;
use super::routing::conns::ConnState;
use super::routing::tasks::WorkState;
use super::timers::Timer;

/// The early-adopter curve's largest multiplier (`1 + 9·e^0`).
const MAX_MULTIPLIER: u64 = 10;

impl Hub {
    /// Checks every invariant of the hub's state; the error says which one broke, and where.
    ///
    /// - Connections: one waiting for its hello has a handshake timer, an authenticated one none;
    ///   every peer's connection is open and authenticated as that peer.
    /// - Work: an assigned worker is a connected peer, its task is open and its deadline is in the
    ///   timer table; each peer's job count equals the assignments it holds.
    /// - Tasks: an open task has its expiry timer, and an offer-round timer exactly while it needs
    ///   workers; no submitter has more open tasks than allowed; the history is bounded.
    /// - Timers: none is left for something that ended; each identity's rate window has its
    ///   timer, so windows never outlive their minute.
    /// - Credits: every open paid task is backed by its submitter's escrow of at least its price;
    ///   every other open escrow is on its way to a refund (a stray-escrow timer); balances,
    ///   stakes and escrows add up to what was minted less what was burned; and nobody gains
    ///   more than the rules allow (docs/ledger.md): a task pays each worker at most once and in
    ///   all no more than its escrow; no bonus is minted on a payment; a canary mints once, its
    ///   reward times at most the curve's 10×; uptime comes in whole periods' bonuses, times at
    ///   most 10×; and every such mint (a canary, each period) had its own proof of work.
    /// - The indexes agree with what they index: every open task is listed under each node in
    ///   it and nothing else is; every peer has one offer entry per kind it runs, at its place.
    pub fn check_invariants(&mut self) -> Result<(), String> {
        self.check_conns()?;
        self.check_work()?;
        self.check_tasks()?;
        self.tasks.check_index()?;
        self.peers.check_index()?;
        self.collections.check_index()?;
        self.check_timers()?;
        self.check_credits()
    }

    fn check_conns(&self) -> Result<(), String> {
        for (id, conn) in self.conns.iter() {
            let timer = self.timers.get(&Timer::Handshake(*id)).is_some();
            match conn.state {
                ConnState::AwaitHello { .. } if !timer => {
                    return Err(format!("connection {id} awaits its hello without a timer"));
                }
                ConnState::Ready { .. } if timer => {
                    return Err(format!("connection {id} is authenticated but has a timer"));
                }
                _ => {}
            }
        }
        for (node, peer) in self.peers.iter() {
            let ok = self
                .conns
                .iter()
                .any(|(id, c)| *id == peer.conn && c.node() == Some(*node));
            if !ok {
                return Err(format!("peer {node} is on a closed or foreign connection"));
            }
        }
        Ok(())
    }

    fn check_work(&self) -> Result<(), String> {
        let mut jobs: HashMap<NodeId, u32> = HashMap::new();
        for (id, task) in self.tasks.iter() {
            for w in task.in_state(WorkState::Assigned) {
                if !task.is_open() {
                    return Err(format!(
                        "task {id} is {:?} but {} is assigned",
                        task.status, w.worker
                    ));
                }
                if !self.peers.contains(&w.worker) {
                    return Err(format!(
                        "{} is assigned task {id} but not connected",
                        w.worker
                    ));
                }
                let timer = Timer::Assignment(*id, *w.worker.as_bytes());
                if self.timers.get(&timer).is_none() {
                    return Err(format!(
                        "{}'s assignment of task {id} has no timer",
                        w.worker
                    ));
                }
                *jobs.entry(w.worker).or_default() += 1;
            }
        }
        for (node, peer) in self.peers.iter() {
            let held = jobs.get(node).copied().unwrap_or(0) + self.remote.lent_jobs(node);
            if peer.jobs() != held {
                return Err(format!(
                    "{node} counts {} jobs but holds {held}",
                    peer.jobs()
                ));
            }
        }
        Ok(())
    }

    fn check_tasks(&self) -> Result<(), String> {
        let mut open_by: HashMap<NodeId, usize> = HashMap::new();
        for (id, task) in self.tasks.open() {
            if self.timers.get(&Timer::TaskExpiry(*id)) != Some(task.expires) {
                return Err(format!("open task {id} has no expiry timer"));
            }
            let round = self.timers.get(&Timer::OfferRound(*id)).is_some();
            if round != task.needs_workers() {
                return Err(format!(
                    "task {id}: offer round set {round}, needs workers {}",
                    task.needs_workers()
                ));
            }
            if task.origin.outlives_relay() {
                *open_by.entry(task.submitter).or_default() += 1;
            }
        }
        if let Some((node, n)) = open_by
            .iter()
            .find(|(_, n)| **n > self.config.max_open_tasks_per_submitter)
        {
            return Err(format!("{node} has {n} open tasks"));
        }
        if self.tasks.finished_len() > self.config.finished_history {
            return Err("the finished history outgrew its bound".into());
        }
        Ok(())
    }

    fn check_timers(&self) -> Result<(), String> {
        let windows = self
            .timers
            .iter()
            .filter(|(t, _)| matches!(t, Timer::RateWindow(_)))
            .count();
        if windows != self.rates.len() {
            return Err(format!(
                "{} rate windows, {windows} timers for them",
                self.rates.len()
            ));
        }
        for (timer, _) in self.timers.iter() {
            let live = match timer {
                Timer::Handshake(conn) => self.conns.awaits_hello(*conn),
                Timer::TaskExpiry(id) | Timer::OfferRound(id) => {
                    self.tasks.get(id).is_some_and(|t| t.is_open())
                }
                Timer::ClaimDraw(id) => self
                    .tasks
                    .get(id)
                    .is_some_and(|t| t.is_open() && !t.claims.is_empty()),
                Timer::Assignment(id, worker) => self
                    .tasks
                    .get(id)
                    .is_some_and(|t| t.assigned_worker(worker).is_some()),
                Timer::Uptime(node) => self
                    .peers
                    .iter()
                    .any(|(n, p)| n.as_bytes() == node && p.is_worker()),
                Timer::WorkRetry(node) => {
                    NodeId::from_bytes(node).is_ok_and(|n| self.backing_off(&n))
                }
                // Set at each announcement, however many workers it listed.
                Timer::StrayEscrow(..) | Timer::Lender(_) => true,
                Timer::Lent(task, worker) => self.remote.routes(task, worker),
                Timer::Resume(task) => self.records.is_parked(task),
                Timer::Handover(id, shard, node) => self.holder_away(id, *shard, node),
                Timer::StorageTerm(id) => self.collections.deposit_held(id),
                Timer::RateWindow(node) => self
                    .rates
                    .contains(&edgenet_core::NodeId::from_bytes(node).map_err(|e| e.to_string())?),
            };
            if !live {
                return Err(format!("timer {timer:?} outlived what it watched"));
            }
        }
        Ok(())
    }

    fn check_credits(&mut self) -> Result<(), String> {
        let paid: Vec<(Account, edgenet_core::task::TaskId, u64)> = self
            .tasks
            .open()
            .filter(|(_, t)| t.origin.asked_by_a_node() && t.spec.max_credits > 0)
            .map(|(id, t)| (Account::of(&t.submitter), *id, t.spec.max_credits))
            .collect();
        let state = self.ledger.state();
        for (payer, id, price) in &paid {
            let held = state.escrow(payer, id).unwrap_or(0);
            if held < *price {
                return Err(format!(
                    "open task {id} costs {price} but {held} is escrowed"
                ));
            }
        }
        let escrows: Vec<_> = state.escrows().collect();
        for (payer, task, _) in escrows {
            // A collection's deposit is settled at the end of its storage term.
            let backing = paid.iter().any(|(p, id, _)| *p == payer && *id == task)
                || self.holds_deposit(&payer, &task);
            let watched = self.timers.get(&Timer::StrayEscrow(payer, task)).is_some();
            // Settled or refunded by an entry still waiting for attestations (`hub/cluster/attest.rs`).
            let settling = self.attest.awaiting().any(|e| {
                use edgenet_core::ledger::EntryKind::{Payment, Refund};
                match e.body.kind {
                    Payment {
                        payer: p, task: t, ..
                    }
                    | Refund { payer: p, task: t } => p == payer && t == task,
                    _ => false,
                }
            });
            if !backing && !watched && !settling {
                return Err(format!(
                    "escrow for task {task} backs no open task and is never refunded"
                ));
            }
        }
        // An entry waiting for attestations has no effect anywhere yet (`hub/cluster/attest.rs`).
        if let Some(e) = self.attest.awaiting().find(|e| self.ledger.holds(e)) {
            return Err(format!(
                "entry {:?} is applied while it awaits attestations",
                e.hash()
            ));
        }
        let state = self.ledger.state();
        let held: u128 = state
            .accounts()
            .map(|(_, a)| u128::from(a.balance) + u128::from(a.stake) + u128::from(a.escrowed))
            .sum();
        let supply = u128::from(state.minted) - u128::from(state.burned);
        if held != supply {
            return Err(format!(
                "accounts hold {held} but {supply} was minted less burned"
            ));
        }
        self.check_rewards()
    }

    /// What the relay wrote pays no one more than the rules allow.
    #[allow(clippy::too_many_lines)] // one rule per kind of entry, read top to bottom
    fn check_rewards(&self) -> Result<(), String> {
        use edgenet_core::ledger::{EntryKind, MintReason};
        use edgenet_core::task::TaskId;
        use std::collections::HashSet;
        let relay = Account::of(&self.key.node_id());
        let mut escrowed: HashMap<(Account, TaskId), u64> = HashMap::new();
        let mut paid: HashMap<(Account, TaskId), u64> = HashMap::new();
        let mut payees: HashSet<(TaskId, Account)> = HashSet::new();
        // Mints that each cost a proof of work, per account.
        let mut proven: HashMap<Account, u64> = HashMap::new();
        let mut canaries: HashSet<TaskId> = HashSet::new();
        for entry in self.ledger.entries() {
            match &entry.body.kind {
                EntryKind::Escrow { task, amount } => {
                    escrowed.insert((entry.body.author, *task), *amount);
                }
                _ if entry.body.author != relay => {}
                EntryKind::Payment {
                    payer,
                    task,
                    to,
                    amount,
                } => {
                    if !payees.insert((*task, *to)) {
                        return Err(format!("task {task} paid {to} twice"));
                    }
                    *paid.entry((*payer, *task)).or_default() += amount;
                }
                EntryKind::Mint {
                    reason: MintReason::EarlyAdopter { task, .. },
                    ..
                } => {
                    return Err(format!("task {task}: a bonus minted on a payment"));
                }
                EntryKind::Mint {
                    to,
                    reason: MintReason::Canary { task },
                    amount,
                } => {
                    let reward = self.config.canary_reward;
                    if !canaries.insert(*task)
                        || !(reward..=reward * MAX_MULTIPLIER).contains(amount)
                    {
                        return Err(format!("canary {task} minted twice or off its reward"));
                    }
                    *proven.entry(*to).or_default() += 1;
                }
                EntryKind::Mint {
                    to,
                    reason: MintReason::Uptime { seconds },
                    amount,
                } => {
                    let period_s = (self.config.uptime_period_ms / 1000).max(1);
                    let periods = u64::from(*seconds) / period_s;
                    let bonus = self.config.uptime_bonus;
                    if !(periods * bonus..=periods * bonus * MAX_MULTIPLIER).contains(amount) {
                        return Err(format!(
                            "uptime mint of {amount} for {periods} periods of {bonus}"
                        ));
                    }
                    *proven.entry(*to).or_default() += periods;
                }
                _ => {}
            }
        }
        for (key, sum) in &paid {
            let cap = escrowed.get(key).copied().unwrap_or(0);
            if *sum > cap {
                return Err(format!(
                    "task {} paid out {sum}, more than its escrow",
                    key.1
                ));
            }
        }
        if self.config.work_bits > 0 {
            for (account, mints) in &proven {
                let proofs = self.proofs_accepted.get(account).copied().unwrap_or(0);
                if *mints > proofs {
                    return Err(format!(
                        "{account} was minted {mints} times for {proofs} proofs of work"
                    ));
                }
            }
        }
        Ok(())
    }
}
