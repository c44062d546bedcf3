//! The task model: what is computed, independent of how it travels. Each kind's payload and
//! result types are in its module under [`crate::kinds`]; this module holds what all share.
//!
//! Payloads and results are postcard-encoded plaintexts; they travel only inside sealed envelopes.
//! Decoding checks every size against its kind's limits before a kernel sees the data.

use serde::{Deserialize, Serialize};

pub use crate::kinds::TaskKind;
pub use crate::kinds::codec::TaskError;
use sha2::{Digest, Sha256};

/// A task's id, chosen at random by its submitter (16 bytes; collisions are refused by the relay).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TaskId(pub [u8; 16]);

impl TaskId {
    /// A fresh random id.
    pub fn random<R: rand_core::CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut id = [0u8; 16];
        rng.fill_bytes(&mut id);
        Self(id)
    }
}

impl core::str::FromStr for TaskId {
    type Err = TaskError;

    /// Parses the 32-character lowercase hex form that `Display` writes.
    fn from_str(s: &str) -> Result<Self, TaskError> {
        hex16(s).map(Self).ok_or_else(|| {
            TaskError::Malformed(format!("a task id is 32 hex characters, got {s:?}"))
        })
    }
}

/// 16 bytes from their 32-character lowercase hex form (task and collection ids).
pub fn hex16(s: &str) -> Option<[u8; 16]> {
    crate::radix::from_hex(s).and_then(|b| <[u8; 16]>::try_from(b).ok())
}

impl core::fmt::Display for TaskId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&crate::radix::hex(&self.0))
    }
}

/// The public commitment a worker publishes with its sealed result: SHA-256 over a domain tag, the
/// task id and the result plaintext. Signed by the worker, it binds the worker to what it sent
/// (evidence for later disputes) without revealing it.
pub fn result_commitment(task: &TaskId, result: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"edgenet/result-commitment/v1");
    h.update(task.0);
    h.update(result);
    h.finalize().into()
}

/// The message a worker signs for its result: domain tag, task id, commitment.
pub fn result_signing_message(task: &TaskId, commitment: &[u8; 32]) -> Vec<u8> {
    [b"edgenet/result/v1".as_slice(), &task.0, commitment].concat()
}
