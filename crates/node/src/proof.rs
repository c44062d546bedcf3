//! The relay's proofs of work, solved one at a time per connection on a blocking thread.
//!
//! A relay has at most one challenge out per connection, so a new challenge means the old one is
//! void (the connection changed, or the relay moved on): the search for it stops. Dropping the
//! solver (the connection ended, the node is stopping) stops the search too, within one step of
//! [`STEP`] digests, so a reconnecting node never piles up searches and a SIGTERM is not held up
//! by one (a search at the relay's highest bits would run for hours).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use edgenet_core::work::Solver;
use tokio::sync::mpsc;

/// Digests tried between two looks at the stop flag: about 16 ms natively.
pub const STEP: u32 = 16;

/// A found proof: the challenge and its nonce.
pub type Proof = ([u8; 32], u64);

/// One connection's proof search.
pub struct ProofSolver {
    found: mpsc::Sender<Proof>,
    /// The running search's stop flag.
    running: Option<Arc<AtomicBool>>,
}

impl ProofSolver {
    /// A solver that sends what it finds to `found`.
    pub fn new(found: mpsc::Sender<Proof>) -> Self {
        Self {
            found,
            running: None,
        }
    }

    /// Searches for `challenge`, stopping the search before it.
    pub fn solve(&mut self, challenge: [u8; 32], bits: u8) {
        self.stop();
        let stop = Arc::new(AtomicBool::new(false));
        self.running = Some(Arc::clone(&stop));
        let found = self.found.clone();
        tokio::task::spawn_blocking(move || {
            let mut solver = Solver::new(challenge, bits);
            while !stop.load(Ordering::Relaxed) {
                if let Some(nonce) = solver.step(STEP) {
                    let _ = found.blocking_send((challenge, nonce));
                    return;
                }
            }
        });
    }

    /// Stops the running search, if any.
    pub fn stop(&mut self) {
        if let Some(stop) = self.running.take() {
            stop.store(true, Ordering::Relaxed);
        }
    }
}

impl Drop for ProofSolver {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::Duration;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_new_challenge_or_a_drop_stops_the_search_before_it() {
        let (tx, mut rx) = mpsc::channel(4);
        let mut solver = ProofSolver::new(tx);
        // Bits no search finishes in this test's life; then an easy one replaces it.
        solver.solve([1; 32], 40);
        let first = solver.running.clone().unwrap();
        solver.solve([2; 32], 1);
        assert!(
            first.load(Ordering::Relaxed),
            "the old search was told to stop"
        );
        let (challenge, nonce) = tokio::time::timeout(Duration::from_secs(30), rx.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(challenge, [2; 32]);
        assert!(edgenet_core::work::verify(&challenge, 1, nonce));
        solver.solve([3; 32], 40);
        let last = solver.running.clone().unwrap();
        drop(solver);
        assert!(
            last.load(Ordering::Relaxed),
            "dropping the solver stops its search"
        );
    }
}
