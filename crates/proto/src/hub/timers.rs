//! The hub's one timer table: every deadline it keeps, by what it is for. [`Hub::poll_timeout`]
//! is the table's earliest entry, and [`Input::Timeout`] takes the entries that are due; no
//! scan of connections, peers or tasks finds them.
//!
//! Each timer is set where its deadline is made and cancelled where the thing it watches ends
//! (a handshake completes, a result comes in, a task retires, a peer leaves), so the table holds
//! exactly the deadlines that are live.
//!
//! [`Hub::poll_timeout`]: super::Hub::poll_timeout
//! [`Input::Timeout`]: super::Input::Timeout

use std::collections::{BTreeSet, HashMap};

use edgenet_core::ledger::Account;
use edgenet_core::task::TaskId;

use super::ConnId;
use crate::Millis;
use crate::message::NodeKey;

/// What a deadline is for. Due timers are handled in this order (variant order), so that a task
/// that expires is failed before its late workers would be replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) enum Timer {
    /// A connection's time to answer its challenge.
    Handshake(ConnId),
    /// A task's own timeout.
    TaskExpiry(TaskId),
    /// One worker's time from assignment to result.
    Assignment(TaskId, NodeKey),
    /// The claims on a task that came in its claim window are drawn (`routing/claims.rs`).
    ClaimDraw(TaskId),
    /// The next round of offers of a task still short of workers.
    OfferRound(TaskId),
    /// A worker's next whole period online (the uptime bonus).
    Uptime(NodeKey),
    /// An escrow whose task has not come: refunded at this time.
    StrayEscrow(Account, TaskId),
    /// An identity's message-rate window ends.
    RateWindow(NodeKey),
    /// A relay that lends workers here must announce again by then, or they are dropped.
    Lender(NodeKey),
    /// A route for another relay's task through one of this relay's workers ends.
    Lent(TaskId, NodeKey),
    /// A resumed task recorded open at a relay that still looked alive is looked at again
    /// (after [`Timer::Lender`], so that a relay gone silent is known by then).
    Resume(TaskId),
    /// A shard's holder that went away is replaced unless it is back by then.
    Handover(edgenet_core::collection::CollectionId, u16, NodeKey),
    /// A worker that sent a wrong proof of work gets its next challenge.
    WorkRetry(NodeKey),
    /// A collection's storage term ends: its deposit is paid to its holders
    /// (`storage/deposits.rs`).
    StorageTerm(edgenet_core::collection::CollectionId),
}

/// Deadlines by timer, and timers by deadline.
#[derive(Default)]
pub(super) struct TimerTable {
    by_timer: HashMap<Timer, Millis>,
    by_time: BTreeSet<(Millis, Timer)>,
}

impl TimerTable {
    /// Sets (or moves) `timer` to `at`.
    pub(super) fn set(&mut self, timer: Timer, at: Millis) {
        if let Some(old) = self.by_timer.insert(timer, at) {
            self.by_time.remove(&(old, timer));
        }
        self.by_time.insert((at, timer));
    }

    /// Stops `timer`, if set.
    pub(super) fn cancel(&mut self, timer: &Timer) {
        if let Some(at) = self.by_timer.remove(timer) {
            self.by_time.remove(&(at, *timer));
        }
    }

    /// When `timer` is due, if set.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(super) fn get(&self, timer: &Timer) -> Option<Millis> {
        self.by_timer.get(timer).copied()
    }

    /// The earliest deadline.
    pub(super) fn next(&self) -> Option<Millis> {
        self.by_time.first().map(|(at, _)| *at)
    }

    /// Removes and returns every timer due at `now`, in handling order (by kind, then key).
    pub(super) fn take_due(&mut self, now: Millis) -> Vec<Timer> {
        let mut due = Vec::new();
        while let Some(&(at, timer)) = self.by_time.first() {
            if at > now {
                break;
            }
            self.by_time.pop_first();
            self.by_timer.remove(&timer);
            due.push(timer);
        }
        due.sort_unstable();
        due
    }

    /// Every timer set, for invariant checks.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(super) fn iter(&self) -> impl Iterator<Item = (&Timer, &Millis)> {
        self.by_timer.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_deadline_follows_sets_moves_and_cancels() {
        let mut t = TimerTable::default();
        assert_eq!(t.next(), None);
        t.set(Timer::Handshake(1), 50);
        t.set(Timer::Handshake(2), 20);
        assert_eq!(t.next(), Some(20));
        t.set(Timer::Handshake(2), 80);
        assert_eq!(t.next(), Some(50));
        t.cancel(&Timer::Handshake(1));
        assert_eq!(t.next(), Some(80));
        assert_eq!(t.take_due(79), vec![]);
        assert_eq!(t.take_due(80), vec![Timer::Handshake(2)]);
        assert_eq!(t.next(), None);
    }

    #[test]
    fn due_timers_come_out_by_kind() {
        let mut t = TimerTable::default();
        let task = TaskId([7; 16]);
        t.set(Timer::OfferRound(task), 10);
        t.set(Timer::Assignment(task, [1; 32]), 5);
        t.set(Timer::TaskExpiry(task), 10);
        assert_eq!(
            t.take_due(10),
            vec![
                Timer::TaskExpiry(task),
                Timer::Assignment(task, [1; 32]),
                Timer::OfferRound(task)
            ]
        );
    }
}
