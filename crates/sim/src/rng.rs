//! The run's randomness: one seeded ChaCha20 stream that peers, links and tests draw from, so
//! that a seed names a run.

/// The run's randomness.
pub type SimRng = rand_chacha::ChaCha20Rng;
