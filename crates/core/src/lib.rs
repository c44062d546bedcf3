//! `edgenet-core`: the pure heart of EdgeNet.
//!
//! Everything here is deterministic given its inputs: no sockets, no files, no clocks. Randomness is
//! passed in as a [`rand_core::CryptoRng`] (`rng::os_rng`, with the `os-rng` feature, is the platform source), so the same
//! code runs natively and in `wasm32-unknown-unknown` and produces the same bytes on both.
//!
//! Modules:
//! - [`identity`]: Ed25519 node identities ([`SecretKey`], [`NodeId`], [`Signature`]).
//! - [`exchange`]: the X25519 key a node publishes, signed by its identity, for sealed payloads.
//! - [`aead`]: ChaCha20-Poly1305 with a given key and nonce, shared by everything that encrypts.
//! - [`envelope`]: sealed envelopes (X25519 + HKDF-SHA256 + ChaCha20-Poly1305).
//! - [`keyfile`]: the documented export/import format for secret keys, optionally passphrase-encrypted.
//! - [`ledger`]: the signed credit ledger: per-account chains, deterministic evaluation, sync.
//! - [`collection`]: shared vector collections: specs signed by their owner, shards, placement
//!   scores, the insert and shard-search payloads.
//! - [`task`]: the task model: ids, kinds, and the `vector_search` payload and result encodings.
//! - [`verify`]: comparing redundant results (float-tolerant) and finding the majority.
//! - [`throttle`]: the browser's idle policy and the compute workers' duty cycle.
//! - [`error`]: the stable error codes (`EN-1xx`) every error in this crate maps to.

#![warn(missing_docs)]

pub mod aead;
pub mod collection;
pub mod envelope;
pub mod error;
pub mod exchange;
#[doc(hidden)]
pub mod fuzz_targets;
pub mod identity;
pub mod keyfile;
pub mod kinds;
pub mod ledger;
pub mod radix;
#[cfg(feature = "os-rng")]
pub mod rng;
pub mod task;
#[cfg(feature = "test-vectors")]
pub mod test_vectors;
pub mod throttle;
pub mod verify;
pub mod work;

pub use envelope::{EnvelopeError, EnvelopeHeader};
pub use error::ErrorCode;
pub use exchange::{ExchangePublicKey, SignedExchangeKey};
pub use identity::{IdentityError, NodeId, SecretKey, Signature};
pub use keyfile::KeyFileError;
