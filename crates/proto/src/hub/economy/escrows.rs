//! Escrows whose task never came: a submitter that escrowed credits, then lost its connection
//! before submitting (or had the task refused), would otherwise have them locked for good. The
//! relay refunds such an escrow once `escrow_grace_ms` has passed without its task. Escrows open
//! when the relay starts are refunded at its first timer: tasks live in memory only, so a restart
//! loses the tasks those escrows paid for.
//!
//! Only the relay that took the escrow tracks it; with several validators this becomes one more
//! attested refund (the rule is the same: no open task of that payer with that id). In a cluster
//! with task records (`hub/cluster/records.rs`) a restarted relay gives its open escrows the grace
//! instead, in which their submitters may resume the tasks, and no relay refunds an escrow whose
//! task another relay that is up has adopted.

use edgenet_core::NodeId;
use edgenet_core::ledger::{Account, Entry, EntryKind};
use edgenet_core::task::TaskId;

use crate::Millis;
use crate::hub::Hub;
use crate::hub::timers::Timer;

impl Hub {
    /// Starts the clock on escrows just received, unless their task is already here.
    pub(in crate::hub) fn watch_escrows(&mut self, fresh: &[Entry], now: Millis) {
        for entry in fresh {
            if let EntryKind::Escrow { task, .. } = entry.body.kind {
                let payer = entry.body.author;
                if !self.is_task_of(&payer, &task) {
                    let deadline = now.saturating_add(self.config.escrow_grace_ms);
                    self.timers.set(Timer::StrayEscrow(payer, task), deadline);
                }
            }
        }
    }

    /// Escrows found open at start-up: due at once (module docs), but for `theirs`, which other
    /// relays of a cluster took (`hub/cluster/replica.rs`).
    pub(in crate::hub) fn watch_open_escrows(
        &mut self,
        theirs: &std::collections::HashSet<(Account, TaskId)>,
    ) {
        let open: Vec<(Account, TaskId)> = self
            .ledger
            .state()
            .escrows()
            .map(|(payer, task, _)| (payer, task))
            .filter(|open| !theirs.contains(open))
            .collect();
        // Hub time starts at zero: the grace from now.
        let due = if self.config.task_records {
            self.config.escrow_grace_ms
        } else {
            0
        };
        for (payer, task) in open {
            self.timers.set(Timer::StrayEscrow(payer, task), due);
        }
    }

    /// The task was submitted: if it is paid, its lifecycle settles or refunds the escrow from here.
    pub(in crate::hub) fn escrow_claimed(&mut self, submitter: &NodeId, task: &TaskId) {
        if !self.is_task_of(&Account::of(submitter), task) {
            return;
        }
        self.timers
            .cancel(&Timer::StrayEscrow(Account::of(submitter), *task));
    }

    /// Refunds an escrow past its grace whose task never came.
    pub(in crate::hub) fn refund_stray_escrow(
        &mut self,
        payer: Account,
        task: TaskId,
        now: Millis,
    ) {
        if self.is_task_of(&payer, &task) || self.ledger.state().escrow(&payer, &task).is_none() {
            return;
        }
        // Its task lives at another relay now, which settles it; asked again after the grace in
        // case that relay dies too.
        if self.adopted_elsewhere(&task) {
            let again = now.saturating_add(self.config.escrow_grace_ms);
            self.timers.set(Timer::StrayEscrow(payer, task), again);
            return;
        }
        let to = payer.node_id().ok().filter(|n| self.peers.contains(n));
        let refund = EntryKind::Refund { payer, task };
        let written = match to {
            Some(node) => self.write_and_send(vec![refund], &node),
            None => self.write_entries(vec![refund]).map(|_| ()),
        };
        // Not stored: try again at the next timer.
        if written.is_err() {
            self.timers.set(Timer::StrayEscrow(payer, task), now);
        }
    }

    /// Whether `task` is an open paid task of `payer` (whose lifecycle settles its escrow), or
    /// the deposit of one of its collections (settled at the end of its storage term). An
    /// escrow for a finished or an unpaid task is stray like one whose task never came.
    fn is_task_of(&self, payer: &Account, task: &TaskId) -> bool {
        self.tasks.get(task).is_some_and(|t| {
            t.is_open() && t.spec.max_credits > 0 && Account::of(&t.submitter) == *payer
        }) || self.holds_deposit(payer, task)
    }
}
