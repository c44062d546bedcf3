//! What the hub's network-sized operations cost, counted in work rather than time: index entries
//! read to choose whom to offer a task, accounts a verdict's entries were sent to, tasks a
//! leaving peer's departure touched. None of them may grow with the number of peers; a test
//! joins 100,000 and holds each flat (`crates/proto/tests/scale.rs`).

use super::Hub;

/// Work done since the hub started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Effort {
    /// Offer-index entries read while choosing whom to offer tasks.
    pub offer_entries: u64,
    /// Accounts that verdicts' ledger entries were sent to.
    pub verdict_accounts: u64,
    /// Tasks looked at because a peer left.
    pub leave_tasks: u64,
}

impl Hub {
    /// The work counted so far.
    pub fn effort(&self) -> Effort {
        Effort {
            offer_entries: self.peers.visited(),
            ..self.effort
        }
    }
}
