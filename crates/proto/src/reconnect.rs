//! When a client connects again after losing its relay: exponential backoff with jitter, the one
//! policy of the native node and the browser's coordinator (through the wasm adapter).
//!
//! ```
//! use edgenet_proto::reconnect::Backoff;
//!
//! let mut backoff = Backoff::new(30_000);
//! // Randomness is passed in (0 = no extra wait, u16::MAX = a quarter more).
//! assert_eq!(backoff.next_delay(0), 100);
//! assert_eq!(backoff.next_delay(0), 200);
//! assert!(backoff.next_delay(u16::MAX) < 400 + 400 / 4 + 1);
//! backoff.reset(); // connected: the next loss starts over
//! assert_eq!(backoff.next_delay(0), 100);
//! ```

use crate::Millis;

/// The first wait after a loss.
pub const BASE_MS: Millis = 100;
/// Each further failed attempt multiplies the wait by this.
pub const FACTOR: Millis = 2;
/// Up to this fraction of random extra wait (a quarter), so that many clients that lost one relay
/// do not come back in lockstep.
pub const JITTER_DIVISOR: Millis = 4;

/// The waits between one client's attempts.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Millis,
    cap: Millis,
}

impl Backoff {
    /// Waits from [`BASE_MS`], growing by [`FACTOR`], up to `cap_ms` (before jitter).
    pub fn new(cap_ms: Millis) -> Self {
        Self {
            next: BASE_MS.min(cap_ms),
            cap: cap_ms,
        }
    }

    /// The wait before the next attempt, with `random` (uniform over `u16`) choosing the jitter.
    pub fn next_delay(&mut self, random: u16) -> Millis {
        let wait = self.next;
        self.next = (self.next * FACTOR).min(self.cap);
        wait + u64::from(random) * (wait / JITTER_DIVISOR + 1) / 65_536
    }

    /// The connection succeeded: the next loss waits [`BASE_MS`] again.
    pub fn reset(&mut self) {
        self.next = BASE_MS.min(self.cap);
    }
}
