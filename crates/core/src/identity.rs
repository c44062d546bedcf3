//! Node identity: Ed25519 key newtypes, the NodeId text form, signing and verification.
//!
//! A node *is* its Ed25519 public key ([`NodeId`]). Its text form is the 32 key bytes in RFC 4648
//! base32, lowercase, unpadded (52 characters); [`NodeId::fmt_short`] gives the first 10 characters
//! for logs and UIs, and is deliberately not parseable (a short id is ambiguous).
//!
//! Verification is always *strict* (`verify_strict`: canonical encodings, no small-order keys), so
//! every replica accepts exactly the same signatures. Weak (small-order) public keys are refused when
//! a [`NodeId`] is built, so they never enter the system.
//!
//! Naming: a node's public key is a [`NodeId`] wherever code holds one. Its 32 bytes have two
//! documented aliases where they are not validated yet: on the wire, proto's `message::NodeKey`
//! (decoded, then turned into a `NodeId` by whoever acts on it), and in the ledger, an
//! [`Account`](crate::ledger::Account) (entries decode and sort without validating a curve point;
//! `Account::node_id` validates). No other name is used for a public key.

use core::fmt;
use core::str::FromStr;

use ed25519_dalek::Signer as _;
use rand_core::CryptoRng;
use thiserror::Error;
use zeroize::Zeroizing;

use crate::error::ErrorCode;

/// Length of a NodeId's full text form.
pub const NODE_ID_TEXT_LEN: usize = 52;
/// Length of a NodeId's short (display-only) text form.
pub const NODE_ID_SHORT_LEN: usize = 10;

/// Errors from identity operations.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IdentityError {
    /// The text is not 52 characters (10 characters is the display-only short form).
    #[error("a NodeId is {NODE_ID_TEXT_LEN} base32 characters, got {len}{}", if *.len == NODE_ID_SHORT_LEN { " (that is the short display form, which cannot be parsed)" } else { "" })]
    InvalidNodeIdLength {
        /// The length found.
        len: usize,
    },
    /// The text contains characters outside the base32 alphabet.
    #[error("a NodeId is base32 (a-z, 2-7): {0}")]
    InvalidNodeIdEncoding(String),
    /// The bytes are not a valid Ed25519 public key, or the key has small order.
    #[error("not a valid Ed25519 public key (bad point encoding or a weak, small-order key)")]
    InvalidPublicKey,
    /// A signature is not 64 bytes.
    #[error("a signature is 64 bytes, got {len}")]
    InvalidSignatureLength {
        /// The length found.
        len: usize,
    },
    /// The signature does not verify for this key and message.
    #[error("signature verification failed")]
    BadSignature,
    /// A signed exchange key is not 128 bytes.
    #[error("a signed exchange key is 128 bytes, got {len}")]
    InvalidExchangeKeyLength {
        /// The length found.
        len: usize,
    },
    /// Batch verification was given slices of different lengths.
    #[error(
        "batch verification needs as many keys and messages as signatures ({signatures} signatures, {keys} keys, {messages} messages)"
    )]
    BatchLengthMismatch {
        /// Signatures given.
        signatures: usize,
        /// Keys given.
        keys: usize,
        /// Messages given.
        messages: usize,
    },
}

impl ErrorCode for IdentityError {
    fn code(&self) -> &'static str {
        match self {
            Self::InvalidNodeIdLength { .. } => "EN-101",
            Self::InvalidNodeIdEncoding(_) => "EN-102",
            Self::InvalidPublicKey => "EN-103",
            Self::InvalidSignatureLength { .. } => "EN-104",
            Self::BadSignature => "EN-105",
            Self::BatchLengthMismatch { .. } => "EN-106",
            Self::InvalidExchangeKeyLength { .. } => "EN-107",
        }
    }
}

/// An Ed25519 secret key: the 32-byte seed. Zeroized on drop; `Debug` never prints it.
#[derive(Clone)]
pub struct SecretKey(ed25519_dalek::SigningKey);

impl SecretKey {
    /// A fresh key from a cryptographic random source (`rng::os_rng`, feature `os-rng`, for real keys).
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut seed = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(seed.as_mut());
        Self::from_seed(&seed)
    }

    /// The key for a 32-byte seed (RFC 8032's "private key").
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self(ed25519_dalek::SigningKey::from_bytes(seed))
    }

    /// The 32-byte seed, for export. Handle with care: it is the whole identity.
    pub fn to_seed(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes())
    }

    /// This key's public half, which is the node's identity.
    pub fn node_id(&self) -> NodeId {
        NodeId(self.0.verifying_key())
    }

    /// Signs `message` (pure Ed25519, deterministic: the same key and message give the same bytes).
    pub fn sign(&self, message: &[u8]) -> Signature {
        Signature(self.0.sign(message))
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey(for {})", self.node_id().fmt_short())
    }
}

/// A node's identity: its Ed25519 public key. Never a weak (small-order) key.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct NodeId(ed25519_dalek::VerifyingKey);

impl NodeId {
    /// Builds a NodeId from the 32 public-key bytes, refusing invalid and weak keys.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, IdentityError> {
        let key = ed25519_dalek::VerifyingKey::from_bytes(bytes)
            .map_err(|_| IdentityError::InvalidPublicKey)?;
        if key.is_weak() {
            return Err(IdentityError::InvalidPublicKey);
        }
        Ok(Self(key))
    }

    /// Like [`NodeId::from_bytes`] for a slice of unknown length.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, IdentityError> {
        let array: &[u8; 32] = bytes
            .try_into()
            .map_err(|_| IdentityError::InvalidPublicKey)?;
        Self::from_bytes(array)
    }

    /// The 32 public-key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }

    /// The first 10 characters of the text form, for logs and UIs. Not parseable.
    pub fn fmt_short(&self) -> String {
        let mut text = self.to_string();
        text.truncate(NODE_ID_SHORT_LEN);
        text
    }

    /// Verifies `signature` over `message` strictly (canonical encodings only).
    pub fn verify(&self, message: &[u8], signature: &Signature) -> Result<(), IdentityError> {
        self.0
            .verify_strict(message, &signature.0)
            .map_err(|_| IdentityError::BadSignature)
    }
}

/// Ordered by key bytes, so that maps of nodes give the same order on every run and replica.
impl PartialOrd for NodeId {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for NodeId {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::radix::base32(self.as_bytes()))
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeId({})", self.fmt_short())
    }
}

impl FromStr for NodeId {
    type Err = IdentityError;

    /// Parses the full 52-character form, case-insensitively.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.len() != NODE_ID_TEXT_LEN {
            return Err(IdentityError::InvalidNodeIdLength {
                len: text.chars().count(),
            });
        }
        let bytes = crate::radix::from_base32(text).ok_or_else(|| {
            IdentityError::InvalidNodeIdEncoding("not base32 (a-z and 2-7)".into())
        })?;
        Self::from_slice(&bytes)
    }
}

/// An Ed25519 signature (64 bytes).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(ed25519_dalek::Signature);

impl Signature {
    /// Length of a signature in bytes.
    pub const LEN: usize = 64;

    /// Wraps 64 signature bytes. Validity is only known at verification.
    pub fn from_bytes(bytes: &[u8; 64]) -> Self {
        Self(ed25519_dalek::Signature::from_bytes(bytes))
    }

    /// Like [`Signature::from_bytes`] for a slice of unknown length.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, IdentityError> {
        let array: &[u8; 64] = bytes
            .try_into()
            .map_err(|_| IdentityError::InvalidSignatureLength { len: bytes.len() })?;
        Ok(Self::from_bytes(array))
    }

    /// The 64 signature bytes.
    pub fn to_bytes(&self) -> [u8; 64] {
        self.0.to_bytes()
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = self.to_bytes();
        write!(f, "Signature({}…)", crate::radix::hex(&bytes[..8]))
    }
}

/// Verifies many signatures at once (about twice as fast per signature as one by one).
///
/// Succeeds only if every signature is valid; on failure it does not say which one failed, so a
/// caller that needs to know falls back to [`NodeId::verify`] per item.
///
/// Caveat for consensus code: dalek's batch equation is deterministic but not *strict*. It accepts
/// every signature [`NodeId::verify`] accepts, and may also accept one whose `R` has a small-order
/// component (only the key's owner can make such a signature; weak keys never become a [`NodeId`]).
/// Where replicas must agree bit for bit, [`NodeId::verify`] is the definition of validity.
pub fn verify_batch(
    messages: &[&[u8]],
    signatures: &[Signature],
    signers: &[NodeId],
) -> Result<(), IdentityError> {
    if messages.len() != signatures.len() || signers.len() != signatures.len() {
        return Err(IdentityError::BatchLengthMismatch {
            signatures: signatures.len(),
            keys: signers.len(),
            messages: messages.len(),
        });
    }
    if signatures.is_empty() {
        return Ok(());
    }
    let sigs: Vec<ed25519_dalek::Signature> = signatures.iter().map(|s| s.0).collect();
    let keys: Vec<ed25519_dalek::VerifyingKey> = signers.iter().map(|k| k.0).collect();
    ed25519_dalek::verify_batch(messages, &sigs, &keys).map_err(|_| IdentityError::BadSignature)
}
