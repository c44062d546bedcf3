//! `encryption`: ChaCha20-Poly1305 over a payload with the task's own key. Deterministic, so
//! honest workers return identical bytes and results are compared byte for byte.

use serde::{Deserialize, Serialize};

use super::codec::{TaskError, decode_checked, encode_checked};
use super::{KindError, KindInfo, KindRules, KnownAnswer, Needs, PayloadRules, Price, TaskKind};

impl TaskKind {
    /// `encryption`.
    pub const ENCRYPTION: Self = Self::from_wire(1);
}

/// The registry's entry.
pub const INFO: KindInfo = KindInfo {
    kind: TaskKind::ENCRYPTION,
    name: "encryption",
    needs: Needs::Kernels,
    exact: true,
    canary_rank: Some(1),
};

/// Plaintext bytes of an encryption canary.
const CANARY_BYTES: usize = 4096;

/// The kind's rules (both halves), listed by the registry.
pub struct Rules;

impl KindRules for Rules {
    fn kind(&self) -> TaskKind {
        TaskKind::ENCRYPTION
    }

    fn agree(&self, a: &[u8], b: &[u8]) -> bool {
        a == b
    }
}

impl PayloadRules for Rules {
    fn price(&self) -> Price {
        // The brief: 0.1 credit per MB of plaintext.
        Price {
            micro_credits: 100_000,
            per: 1 << 20,
            unit: "byte",
        }
    }

    fn check_payload(&self, payload: &[u8]) -> Result<(), KindError> {
        Encryption::decode(payload).map(drop).map_err(KindError::of)
    }

    fn units(&self, payload: &[u8]) -> Result<u64, KindError> {
        let t = Encryption::decode(payload).map_err(KindError::of)?;
        Ok(t.plaintext.len() as u64)
    }

    fn canary(&self, rng: &mut dyn rand_core::Rng) -> Option<KnownAnswer> {
        let mut job = Encryption {
            key: [0; 32],
            nonce: [0; 12],
            aad: Vec::new(),
            plaintext: vec![0; CANARY_BYTES],
        };
        rng.fill_bytes(&mut job.key);
        rng.fill_bytes(&mut job.nonce);
        rng.fill_bytes(&mut job.plaintext);
        let expected = job.run();
        Some(KnownAnswer {
            payload: job.encode().ok()?,
            expected,
        })
    }

    /// Flips a bit of the last byte (the tag): same length, different bytes.
    #[cfg(feature = "faults")]
    fn lie(&self, result: &[u8], _lie: super::Lie) -> Result<Vec<u8>, KindError> {
        Ok(flip_last_bit(result))
    }
}

/// `bytes` with the lowest bit of the last byte flipped.
#[cfg(feature = "faults")]
pub(crate) fn flip_last_bit(bytes: &[u8]) -> Vec<u8> {
    let mut bytes = bytes.to_vec();
    if let Some(b) = bytes.last_mut() {
        *b ^= 1;
    }
    bytes
}

/// An `encryption` task: seal `plaintext` with the task's key and nonce (ChaCha20-Poly1305, the
/// same AEAD as envelopes). Deterministic, so every honest worker returns the same bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Encryption {
    /// The key.
    pub key: [u8; 32],
    /// The nonce; never reuse one with the same key for different data.
    pub nonce: [u8; 12],
    /// Associated data, authenticated but not encrypted.
    pub aad: Vec<u8>,
    /// What to encrypt.
    pub plaintext: Vec<u8>,
}

impl Encryption {
    /// Largest plaintext (a sealed payload must fit one 1 MiB frame).
    pub const MAX_PLAINTEXT: usize = 768 * 1024;
    /// Largest associated data.
    pub const MAX_AAD: usize = 4096;

    /// Checks the limits.
    pub fn validate(&self) -> Result<(), TaskError> {
        if self.plaintext.len() > Self::MAX_PLAINTEXT || self.aad.len() > Self::MAX_AAD {
            return Err(TaskError::OutOfBounds(format!(
                "plaintext {} (max {}) or aad {} (max {}) bytes",
                self.plaintext.len(),
                Self::MAX_PLAINTEXT,
                self.aad.len(),
                Self::MAX_AAD
            )));
        }
        Ok(())
    }

    /// Encodes after validating.
    pub fn encode(&self) -> Result<Vec<u8>, TaskError> {
        encode_checked(self, Self::validate)
    }

    /// Decodes untrusted bytes and validates.
    pub fn decode(bytes: &[u8]) -> Result<Self, TaskError> {
        decode_checked(bytes, Self::validate)
    }

    /// Runs the task: the ciphertext with its tag.
    pub fn run(&self) -> Vec<u8> {
        crate::aead::seal(&self.key, &self.nonce, &self.aad, &self.plaintext)
    }
}
