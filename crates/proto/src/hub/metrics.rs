//! What the hub counts for operators: tasks by kind and how they ended, the time from submission
//! to verdict, how verification went, refusals by EN code. Plain integers, updated where those
//! things happen; the relay renders a [`HubMetrics`] snapshot as Prometheus text on `/metrics`.
//!
//! Every map here is bounded by a fixed set: kinds are [`TaskKind::ALL`], EN codes are the
//! `&'static str`s the error types define.

use std::collections::BTreeMap;

use edgenet_core::ledger::EntryKind;
use edgenet_core::task::TaskKind;
use serde::Serialize;

use crate::Millis;

/// Upper bounds (ms) of the submit→verdict histogram's buckets; one more bucket counts the rest.
/// Tasks take from a few milliseconds (a native vector search) to minutes (a browser's batch of
/// long texts at its duty cycle).
pub const LATENCY_BUCKETS_MS: [u64; 12] = [
    10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 120_000,
];

/// A histogram over fixed bounds: `counts[i]` holds the observations in bucket `i` alone (not
/// cumulative), the last one those above every bound.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Histogram {
    /// Upper bounds of the buckets, ascending.
    pub bounds: &'static [u64],
    /// Per bucket, then the overflow: `bounds.len() + 1` counts.
    pub counts: Vec<u64>,
    /// Sum of the observations.
    pub sum: u64,
}

impl Histogram {
    /// An empty histogram over `bounds`.
    pub fn new(bounds: &'static [u64]) -> Self {
        Self {
            bounds,
            counts: vec![0; bounds.len() + 1],
            sum: 0,
        }
    }

    /// Counts one observation.
    pub fn observe(&mut self, value: u64) {
        let bucket = self
            .bounds
            .iter()
            .position(|&bound| value <= bound)
            .unwrap_or(self.bounds.len());
        self.counts[bucket] += 1;
        self.sum = self.sum.saturating_add(value);
    }

    /// Observations in all.
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }
}

/// One task kind's counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KindMetrics {
    /// Tasks accepted from submitters (canaries not included).
    pub submitted: u64,
    /// Tasks that got their submitter's verdict.
    pub verified: u64,
    /// Tasks that failed (expired, no workers, refused).
    pub failed: u64,
    /// Submission to verdict (ms), verified tasks only.
    pub latency: Histogram,
}

impl Default for KindMetrics {
    fn default() -> Self {
        Self {
            submitted: 0,
            verified: 0,
            failed: 0,
            latency: Histogram::new(&LATENCY_BUCKETS_MS),
        }
    }
}

/// Everything [`Hub::metrics`](super::Hub::metrics) reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HubMetrics {
    /// Per kind, in [`TaskKind::ALL`]'s order.
    pub kinds: [KindMetrics; TaskKind::ALL.len()],
    /// Workers a verdict named as agreeing.
    pub workers_agreed: u64,
    /// Workers a verdict named as outvoted.
    pub workers_outvoted: u64,
    /// Known-answer canaries a worker answered right.
    pub canaries_passed: u64,
    /// Known-answer canaries a worker answered wrong.
    pub canaries_failed: u64,
    /// Spot-check canaries sent to workers that had earned already.
    pub spot_checks: u64,
    /// Frames refused, by EN code.
    pub errors: BTreeMap<&'static str, u64>,
    /// Connections dropped because they did not read what was sent to them.
    pub slow_consumers: u64,
    /// Ledger entries this relay wrote (as validator), by kind.
    pub entries_written: BTreeMap<&'static str, u64>,
    /// Micro-credits this relay minted (uptime, early adopters).
    pub micro_credits_minted: u64,
    /// Micro-credits it paid out of escrows to verified workers.
    pub micro_credits_paid: u64,
    /// Whether the ledger's last write reached the store (`/readyz`).
    pub store_ok: bool,
}

impl Default for HubMetrics {
    fn default() -> Self {
        Self {
            kinds: Default::default(),
            workers_agreed: 0,
            workers_outvoted: 0,
            canaries_passed: 0,
            canaries_failed: 0,
            spot_checks: 0,
            errors: BTreeMap::new(),
            slow_consumers: 0,
            entries_written: BTreeMap::new(),
            micro_credits_minted: 0,
            micro_credits_paid: 0,
            // Nothing has failed yet.
            store_ok: true,
        }
    }
}

impl HubMetrics {
    /// The counts of `kind`.
    pub fn kind_mut(&mut self, kind: TaskKind) -> &mut KindMetrics {
        let i = TaskKind::ALL
            .iter()
            .position(|&k| k == kind)
            .unwrap_or_default();
        &mut self.kinds[i]
    }

    /// Records a verdict on a task of `kind` submitted at `created`.
    pub(super) fn verdict(
        &mut self,
        kind: TaskKind,
        created: Millis,
        now: Millis,
        agreed: usize,
        outvoted: usize,
    ) {
        let k = self.kind_mut(kind);
        k.verified += 1;
        k.latency.observe(now.saturating_sub(created));
        self.workers_agreed += agreed as u64;
        self.workers_outvoted += outvoted as u64;
    }

    /// Counts an entry the relay wrote.
    pub(super) fn entry(&mut self, kind: &EntryKind) {
        let name = match kind {
            EntryKind::Transfer { .. } => "transfer",
            EntryKind::Escrow { .. } => "escrow",
            EntryKind::Payment { amount, .. } => {
                self.micro_credits_paid = self.micro_credits_paid.saturating_add(*amount);
                "payment"
            }
            EntryKind::Refund { .. } => "refund",
            EntryKind::Stake { .. } => "stake",
            EntryKind::Unstake { .. } => "unstake",
            EntryKind::Mint { amount, .. } => {
                self.micro_credits_minted = self.micro_credits_minted.saturating_add(*amount);
                "mint"
            }
            EntryKind::Slash { .. } => "slash",
            EntryKind::Reputation { .. } => "reputation",
        };
        *self.entries_written.entry(name).or_default() += 1;
    }

    /// Counts a refused frame.
    pub(super) fn error(&mut self, code: &'static str) {
        *self.errors.entry(code).or_default() += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_histogram_puts_each_value_in_the_first_bucket_that_holds_it() {
        let mut h = Histogram::new(&LATENCY_BUCKETS_MS);
        for ms in [0, 10, 11, 120_000, 120_001, u64::MAX] {
            h.observe(ms);
        }
        assert_eq!(h.counts[0], 2, "0 and 10 ≤ 10");
        assert_eq!(h.counts[1], 1, "11 in (10, 25]");
        assert_eq!(
            h.counts[LATENCY_BUCKETS_MS.len() - 1],
            1,
            "120 000 in the last bound"
        );
        assert_eq!(h.counts[LATENCY_BUCKETS_MS.len()], 2, "the rest overflow");
        assert_eq!(h.count(), 6);
        assert_eq!(h.sum, u64::MAX, "the sum saturates");
    }
}
