//! Proof of work: what the credits a relay mints per identity cost (a canary's reward, each
//! uptime period's bonus). Identities are free to make; proofs are not, so farming credits with
//! fresh identities costs the farmer the work, identity by identity (the arithmetic is in
//! `docs/ledger.md`, "What first credits cost").
//!
//! The relay sends a random 32-byte challenge and a difficulty in bits; the worker finds a nonce
//! whose digest, Argon2id(password = nonce, salt = challenge) with 4 MiB of memory and one pass,
//! starts with that many zero bits. Finding one takes 2^bits digests on average, checking it
//! takes one. Argon2id rather than a plain hash: its cost is memory traffic, which a GPU does
//! not make much cheaper than a CPU, where a GPU computes SHA-256 hundreds of times cheaper.
//!
//! ```
//! use edgenet_core::work::{Solver, verify};
//! let challenge = [7u8; 32];
//! let mut solver = Solver::new(challenge, 3);
//! let nonce = loop {
//!     if let Some(nonce) = solver.step(16) {
//!         break nonce;
//!     }
//! };
//! assert!(verify(&challenge, 3, nonce));
//! ```

use argon2::{Algorithm, Argon2, Block, Params, Version};
use sha2::{Digest, Sha256};

/// Memory per digest, KiB.
pub const MEMORY_KIB: u32 = 4096;

/// The most bits a relay may ask (2^24 digests is days of a core): a client refuses more.
pub const MAX_BITS: u8 = 24;

fn argon() -> Argon2<'static> {
    // Fixed, valid parameters: 4 MiB, one pass, one lane, 32 bytes out.
    let params = Params::new(MEMORY_KIB, 1, 1, Some(32))
        .unwrap_or_else(|_| unreachable!("constant Argon2 parameters are valid"));
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// The digest of `nonce` for `challenge`, using `memory` (`MEMORY_KIB` blocks, reused).
fn digest_with(challenge: &[u8; 32], nonce: u64, memory: &mut [Block]) -> [u8; 32] {
    let mut out = [0u8; 32];
    // Infallible with these lengths (8-byte password, 32-byte salt, 32-byte output).
    let _ =
        argon().hash_password_into_with_memory(&nonce.to_le_bytes(), challenge, &mut out, memory);
    out
}

fn memory() -> Vec<Block> {
    vec![Block::default(); MEMORY_KIB as usize]
}

/// Leading zero bits of a digest.
fn zero_bits(digest: &[u8; 32]) -> u32 {
    let mut bits = 0;
    for byte in digest {
        if *byte == 0 {
            bits += 8;
        } else {
            return bits + byte.leading_zeros();
        }
    }
    bits
}

/// Whether `nonce` proves `bits` of work for `challenge` (one digest: about a millisecond).
pub fn verify(challenge: &[u8; 32], bits: u8, nonce: u64) -> bool {
    zero_bits(&digest_with(challenge, nonce, &mut memory())) >= u32::from(bits)
}

/// A relay's key for its own challenges. A challenge is 16 random bytes and a 16-byte tag of
/// them under this key, so the relay tells a challenge it made from a made-up one with one
/// SHA-256 before it spends an Argon2id digest checking a proof (`ChallengeKey::made`). The
/// key is the relay's secret: nobody else can make a challenge that passes.
#[derive(Clone)]
pub struct ChallengeKey([u8; 32]);

impl core::fmt::Debug for ChallengeKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("ChallengeKey(…)")
    }
}

impl ChallengeKey {
    /// The key a relay derives from its identity's secret seed.
    pub fn from_secret(seed: &[u8; 32]) -> Self {
        let mut h = Sha256::new();
        h.update(b"edgenet/work-challenge-key/v1");
        h.update(seed);
        Self(h.finalize().into())
    }

    /// A challenge from 16 random bytes.
    pub fn challenge(&self, random: [u8; 16]) -> [u8; 32] {
        let mut out = [0u8; 32];
        out[..16].copy_from_slice(&random);
        out[16..].copy_from_slice(&self.tag(&random));
        out
    }

    /// Whether this key made `challenge`.
    pub fn made(&self, challenge: &[u8; 32]) -> bool {
        let (random, tag) = challenge.split_at(16);
        let want = self.tag(random);
        // Not secret-dependent timing worth hiding: a tag only says the relay made it.
        tag == want.as_slice()
    }

    fn tag(&self, random: &[u8]) -> [u8; 16] {
        let mut h = Sha256::new();
        h.update(self.0);
        h.update(random);
        let full: [u8; 32] = h.finalize().into();
        let mut tag = [0u8; 16];
        tag.copy_from_slice(&full[..16]);
        tag
    }
}

/// Searches nonces for one challenge, a slice at a time (a browser worker yields between
/// slices; a native node runs it on a blocking thread).
pub struct Solver {
    challenge: [u8; 32],
    bits: u8,
    next: u64,
    memory: Vec<Block>,
}

impl Solver {
    /// A search from nonce 0.
    pub fn new(challenge: [u8; 32], bits: u8) -> Self {
        Self {
            challenge,
            bits,
            next: 0,
            memory: memory(),
        }
    }

    /// Tries the next `tries` nonces; the first that proves the work, if any.
    pub fn step(&mut self, tries: u32) -> Option<u64> {
        for _ in 0..tries {
            let nonce = self.next;
            self.next = self.next.wrapping_add(1);
            let digest = digest_with(&self.challenge, nonce, &mut self.memory);
            if zero_bits(&digest) >= u32::from(self.bits) {
                return Some(nonce);
            }
        }
        None
    }

    /// Digests tried so far.
    pub fn tried(&self) -> u64 {
        self.next
    }
}

/// Solves to the end (natively, on a thread that may block).
pub fn solve(challenge: [u8; 32], bits: u8) -> u64 {
    let mut solver = Solver::new(challenge, bits);
    loop {
        if let Some(nonce) = solver.step(1024) {
            return nonce;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_relay_tells_its_own_challenges_from_others() {
        let key = ChallengeKey::from_secret(&[1; 32]);
        let other = ChallengeKey::from_secret(&[2; 32]);
        let c = key.challenge([9; 16]);
        assert!(key.made(&c));
        assert!(!other.made(&c));
        let mut forged = c;
        forged[31] ^= 1;
        assert!(!key.made(&forged));
        forged = c;
        forged[0] ^= 1;
        assert!(!key.made(&forged), "the tag covers the random half");
    }

    #[test]
    fn a_found_nonce_verifies_and_others_mostly_do_not() {
        for seed in 0..4u8 {
            let challenge = [seed; 32];
            let nonce = solve(challenge, 6);
            assert!(verify(&challenge, 6, nonce));
            // The proof is for its challenge: another challenge's digest is a fresh draw.
            let others = (0..8u8)
                .filter(|c| verify(&[c.wrapping_add(100); 32], 6, nonce))
                .count();
            assert!(others <= 2, "{others} of 8 unrelated challenges verified");
        }
    }

    #[test]
    fn zero_bits_counts_across_bytes() {
        let mut d = [0u8; 32];
        d[1] = 0b0001_0000;
        assert_eq!(zero_bits(&d), 11);
        assert_eq!(zero_bits(&[0; 32]), 256);
    }
}
