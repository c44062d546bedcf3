//! The X25519 key a node publishes for sealed payloads, signed by its Ed25519 identity.
//!
//! The X25519 secret is derived from the identity seed with HKDF-SHA256 (info
//! `edgenet/x25519/v1`), so backing up the 32-byte identity seed backs up both keys. The two keys
//! stay separate (no Ed25519→Curve25519 point conversion), and the public X25519 key is bound to
//! the identity by a signature over `edgenet/exchange-key/v1 || node_id || x25519_public`.

use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::identity::{IdentityError, NodeId, SecretKey, Signature};

const DERIVE_INFO: &[u8] = b"edgenet/x25519/v1";
const SIGN_DOMAIN: &[u8] = b"edgenet/exchange-key/v1";

/// A public X25519 key (32 bytes).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExchangePublicKey(pub(crate) x25519_dalek::PublicKey);

impl ExchangePublicKey {
    /// Wraps 32 bytes. Low-order keys are caught when a shared secret is computed.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(x25519_dalek::PublicKey::from(bytes))
    }

    /// The 32 key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }
}

impl core::fmt::Debug for ExchangePublicKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "ExchangePublicKey({})",
            crate::radix::hex(&self.as_bytes()[..8])
        )
    }
}

/// The X25519 secret derived from an identity. Zeroized on drop.
pub(crate) struct ExchangeSecret(pub(crate) x25519_dalek::StaticSecret);

impl ExchangeSecret {
    pub(crate) fn derive(identity: &SecretKey) -> Self {
        let seed = identity.to_seed();
        let mut okm = Zeroizing::new([0u8; 32]);
        Hkdf::<Sha256>::new(None, seed.as_ref())
            .expand(DERIVE_INFO, okm.as_mut())
            .unwrap_or_else(|_| unreachable!("32 bytes is a valid HKDF-SHA256 output length"));
        Self(x25519_dalek::StaticSecret::from(*okm))
    }

    pub(crate) fn public(&self) -> ExchangePublicKey {
        ExchangePublicKey(x25519_dalek::PublicKey::from(&self.0))
    }
}

/// A node's X25519 key together with the node's signature over it. Holding one means the signature
/// was checked: the only ways to get one are [`SignedExchangeKey::for_identity`] and
/// [`SignedExchangeKey::decode`], which verifies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignedExchangeKey {
    node: NodeId,
    key: ExchangePublicKey,
    signature: Signature,
}

impl SignedExchangeKey {
    /// Encoded length: node id (32) || X25519 key (32) || signature (64).
    pub const LEN: usize = 128;

    /// The signed exchange key of `identity` (deterministic: Ed25519 signatures are).
    pub fn for_identity(identity: &SecretKey) -> Self {
        let node = identity.node_id();
        let key = ExchangeSecret::derive(identity).public();
        let signature = identity.sign(&signed_message(&node, &key));
        Self {
            node,
            key,
            signature,
        }
    }

    /// The node this key belongs to.
    pub fn node_id(&self) -> NodeId {
        self.node
    }

    /// The X25519 public key.
    pub fn key(&self) -> ExchangePublicKey {
        self.key
    }

    /// The 128-byte encoding.
    pub fn encode(&self) -> [u8; Self::LEN] {
        let mut out = [0u8; Self::LEN];
        out[..32].copy_from_slice(self.node.as_bytes());
        out[32..64].copy_from_slice(self.key.as_bytes());
        out[64..].copy_from_slice(&self.signature.to_bytes());
        out
    }

    /// Decodes and verifies the 128-byte encoding.
    pub fn decode(bytes: &[u8]) -> Result<Self, IdentityError> {
        if bytes.len() != Self::LEN {
            return Err(IdentityError::InvalidExchangeKeyLength { len: bytes.len() });
        }
        let node = NodeId::from_slice(&bytes[..32])?;
        let mut key_bytes = [0u8; 32];
        key_bytes.copy_from_slice(&bytes[32..64]);
        let key = ExchangePublicKey::from_bytes(key_bytes);
        let signature = Signature::from_slice(&bytes[64..])?;
        node.verify(&signed_message(&node, &key), &signature)?;
        Ok(Self {
            node,
            key,
            signature,
        })
    }
}

fn signed_message(node: &NodeId, key: &ExchangePublicKey) -> Vec<u8> {
    [SIGN_DOMAIN, node.as_bytes(), key.as_bytes()].concat()
}
