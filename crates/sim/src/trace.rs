//! The trace hash: FNV-1a over every packet delivered, in order, with its time.

use edgenet_proto::Millis;

/// A running hash of a run: two runs with the same hash delivered the same packets in the same
/// order at the same times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trace(u64);

impl Default for Trace {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Trace {
    /// The hash so far.
    pub fn value(self) -> u64 {
        self.0
    }

    /// Adds one delivery.
    pub(crate) fn mix(&mut self, at: Millis, tag: u8, bytes: &[u8]) {
        for b in at.to_le_bytes().iter().chain([tag].iter()).chain(bytes) {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}
