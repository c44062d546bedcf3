//! Secret-key export and import, in one documented format (also described in `docs/keyfile.md`).
//!
//! Text form: PEM-style armor around base64 (RFC 4648, padded, lines of 64):
//!
//! ```text
//! -----BEGIN EDGENET SECRET KEY-----
//! RU5TSwEA...
//! -----END EDGENET SECRET KEY-----
//! ```
//!
//! Binary body:
//!
//! ```text
//! "ENSK" (4) || version = 1 (1) || kind (1) || node id (32) || kind-specific
//! kind 0, plain:      seed (32)
//! kind 1, encrypted:  argon2id m_cost KiB (u32 LE) || t_cost (u32 LE) || p_cost (u8) || salt (16)
//!                     || nonce (12) || ChaCha20-Poly1305(argon2id(passphrase), seed) (32 + 16)
//!                     the AEAD's associated data is every byte before the ciphertext
//! ```
//!
//! The node id is stored in clear so a user can see whose key a file holds, and so import can check
//! that the seed really produces it (a corrupted file is refused, never loaded as a different key).

use argon2::{Algorithm, Argon2, Params, Version};
use rand_core::CryptoRng;
use thiserror::Error;
use zeroize::Zeroizing;

use crate::error::ErrorCode;
use crate::identity::{NodeId, SecretKey};

const MAGIC: &[u8; 4] = b"ENSK";
const VERSION: u8 = 1;
const KIND_PLAIN: u8 = 0;
const KIND_ENCRYPTED: u8 = 1;
const BEGIN: &str = "-----BEGIN EDGENET SECRET KEY-----";
const END: &str = "-----END EDGENET SECRET KEY-----";
const PREFIX_LEN: usize = 4 + 1 + 1 + 32;
const KDF_PARAMS_LEN: usize = 4 + 4 + 1 + 16 + 12;
const SEALED_SEED_LEN: usize = 32 + 16;

/// Argon2id cost for passphrase-encrypted exports. The default is OWASP's minimum recommendation
/// (19 MiB, 2 passes, 1 lane): about 50 ms natively, a few hundred in a browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfCost {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Number of passes.
    pub passes: u32,
    /// Degree of parallelism.
    pub lanes: u8,
}

impl Default for KdfCost {
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            passes: 2,
            lanes: 1,
        }
    }
}

impl KdfCost {
    /// Import refuses costs above these, so a hostile file cannot make us allocate gigabytes.
    pub const MAX_MEMORY_KIB: u32 = 1024 * 1024;
    /// See [`KdfCost::MAX_MEMORY_KIB`].
    pub const MAX_PASSES: u32 = 64;
    /// See [`KdfCost::MAX_MEMORY_KIB`].
    pub const MAX_LANES: u8 = 8;

    fn check(&self) -> Result<(), KeyFileError> {
        let sane = self.memory_kib <= Self::MAX_MEMORY_KIB
            && (1..=Self::MAX_PASSES).contains(&self.passes)
            && (1..=Self::MAX_LANES).contains(&self.lanes)
            && self.memory_kib >= 8 * u32::from(self.lanes);
        if sane {
            Ok(())
        } else {
            Err(KeyFileError::UnreasonableKdfCost(*self))
        }
    }
}

/// Errors from key export and import.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KeyFileError {
    /// The text is not an EdgeNet secret key (armor, base64 or magic bytes are wrong).
    #[error("not an EdgeNet secret key: {0}")]
    NotAKeyFile(&'static str),
    /// The key file was written by a newer format version.
    #[error("key file version {0} is not supported (this build reads version {VERSION})")]
    UnsupportedVersion(u8),
    /// The body is shorter or longer than its kind requires, or names an unknown kind.
    #[error("key file is malformed: {0}")]
    Malformed(&'static str),
    /// The key is encrypted and no passphrase was given.
    #[error("this key file is encrypted: a passphrase is required")]
    PassphraseRequired,
    /// The passphrase does not decrypt the key (or the ciphertext was altered).
    #[error("wrong passphrase, or the key file was altered")]
    WrongPassphrase,
    /// The stored seed does not produce the stored node id: the file is corrupted.
    #[error("key file is corrupted: its secret key does not match its node id")]
    KeyMismatch,
    /// The file asks for an Argon2id cost outside the accepted range.
    #[error("key file asks for an unreasonable Argon2id cost {0:?}")]
    UnreasonableKdfCost(KdfCost),
}

impl ErrorCode for KeyFileError {
    fn code(&self) -> &'static str {
        match self {
            Self::NotAKeyFile(_) => "EN-110",
            Self::UnsupportedVersion(_) => "EN-111",
            Self::Malformed(_) => "EN-112",
            Self::PassphraseRequired => "EN-113",
            Self::WrongPassphrase => "EN-114",
            Self::KeyMismatch => "EN-115",
            Self::UnreasonableKdfCost(_) => "EN-116",
        }
    }
}

/// Exports `key` unencrypted. Whoever reads the text owns the identity.
pub fn export_plain(key: &SecretKey) -> String {
    let mut body = prefix(KIND_PLAIN, &key.node_id());
    body.extend_from_slice(key.to_seed().as_ref());
    let text = armor(&body);
    zeroize::Zeroize::zeroize(&mut body);
    text
}

/// Exports `key` encrypted under `passphrase` with Argon2id at `cost`.
pub fn export_encrypted<R: CryptoRng + ?Sized>(
    rng: &mut R,
    key: &SecretKey,
    passphrase: &[u8],
    cost: KdfCost,
) -> Result<String, KeyFileError> {
    cost.check()?;
    let mut salt = [0u8; 16];
    let mut nonce = [0u8; 12];
    rng.fill_bytes(&mut salt);
    rng.fill_bytes(&mut nonce);

    let mut body = prefix(KIND_ENCRYPTED, &key.node_id());
    body.extend_from_slice(&cost.memory_kib.to_le_bytes());
    body.extend_from_slice(&cost.passes.to_le_bytes());
    body.push(cost.lanes);
    body.extend_from_slice(&salt);
    body.extend_from_slice(&nonce);

    let kek = passphrase_key(passphrase, &salt, cost)?;
    let sealed = crate::aead::seal(&kek, &nonce, &body, key.to_seed().as_ref());
    body.extend_from_slice(&sealed);
    Ok(armor(&body))
}

/// Imports a key exported by [`export_plain`] or [`export_encrypted`]. `passphrase` is ignored for
/// plain files and required for encrypted ones.
pub fn import(text: &str, passphrase: Option<&[u8]>) -> Result<SecretKey, KeyFileError> {
    let body = Zeroizing::new(dearmor(text)?);
    if body.len() < PREFIX_LEN || &body[..4] != MAGIC {
        return Err(KeyFileError::NotAKeyFile("missing ENSK magic"));
    }
    if body[4] != VERSION {
        return Err(KeyFileError::UnsupportedVersion(body[4]));
    }
    let node = NodeId::from_slice(&body[6..PREFIX_LEN])
        .map_err(|_| KeyFileError::Malformed("invalid node id"))?;
    let rest = &body[PREFIX_LEN..];
    let seed: Zeroizing<[u8; 32]> = match body[5] {
        KIND_PLAIN => {
            let seed: [u8; 32] = rest
                .try_into()
                .map_err(|_| KeyFileError::Malformed("plain key body is not 32 bytes"))?;
            Zeroizing::new(seed)
        }
        KIND_ENCRYPTED => {
            if rest.len() != KDF_PARAMS_LEN + SEALED_SEED_LEN {
                return Err(KeyFileError::Malformed(
                    "encrypted key body has the wrong length",
                ));
            }
            let passphrase = passphrase.ok_or(KeyFileError::PassphraseRequired)?;
            let cost = KdfCost {
                memory_kib: u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]),
                passes: u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]),
                lanes: rest[8],
            };
            cost.check()?;
            let salt = &rest[9..25];
            let mut nonce = [0u8; 12];
            nonce.copy_from_slice(&rest[25..37]);
            let aad = &body[..PREFIX_LEN + KDF_PARAMS_LEN];
            let kek = passphrase_key(passphrase, salt, cost)?;
            let plain = Zeroizing::new(
                crate::aead::open(&kek, &nonce, aad, &rest[KDF_PARAMS_LEN..])
                    .ok_or(KeyFileError::WrongPassphrase)?,
            );
            let seed: [u8; 32] = plain
                .as_slice()
                .try_into()
                .map_err(|_| KeyFileError::Malformed("sealed seed is not 32 bytes"))?;
            Zeroizing::new(seed)
        }
        _ => return Err(KeyFileError::Malformed("unknown key kind")),
    };
    let key = SecretKey::from_seed(&seed);
    if key.node_id() != node {
        return Err(KeyFileError::KeyMismatch);
    }
    Ok(key)
}

/// Reads the node id a key file is for, without a passphrase.
pub fn peek_node_id(text: &str) -> Result<NodeId, KeyFileError> {
    let body = Zeroizing::new(dearmor(text)?);
    if body.len() < PREFIX_LEN || &body[..4] != MAGIC {
        return Err(KeyFileError::NotAKeyFile("missing ENSK magic"));
    }
    NodeId::from_slice(&body[6..PREFIX_LEN]).map_err(|_| KeyFileError::Malformed("invalid node id"))
}

fn prefix(kind: u8, node: &NodeId) -> Vec<u8> {
    let mut body = Vec::with_capacity(PREFIX_LEN + KDF_PARAMS_LEN + SEALED_SEED_LEN);
    body.extend_from_slice(MAGIC);
    body.push(VERSION);
    body.push(kind);
    body.extend_from_slice(node.as_bytes());
    body
}

/// The key-encryption key: Argon2id of the passphrase.
fn passphrase_key(
    passphrase: &[u8],
    salt: &[u8],
    cost: KdfCost,
) -> Result<Zeroizing<[u8; 32]>, KeyFileError> {
    let params = Params::new(
        cost.memory_kib,
        cost.passes,
        u32::from(cost.lanes),
        Some(32),
    )
    .map_err(|_| KeyFileError::UnreasonableKdfCost(cost))?;
    let mut key = Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(passphrase, salt, key.as_mut())
        .map_err(|_| KeyFileError::UnreasonableKdfCost(cost))?;
    Ok(key)
}

fn armor(body: &[u8]) -> String {
    let b64 = crate::radix::base64(body);
    let mut text = String::with_capacity(b64.len() + 80);
    text.push_str(BEGIN);
    text.push('\n');
    for line in b64.as_bytes().chunks(64) {
        text.push_str(core::str::from_utf8(line).unwrap_or_default());
        text.push('\n');
    }
    text.push_str(END);
    text.push('\n');
    text
}

fn dearmor(text: &str) -> Result<Vec<u8>, KeyFileError> {
    let text = text.trim();
    let inner = text
        .strip_prefix(BEGIN)
        .and_then(|t| t.strip_suffix(END))
        .ok_or(KeyFileError::NotAKeyFile(
            "missing BEGIN/END EDGENET SECRET KEY lines",
        ))?;
    let b64: String = inner.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if b64.len() > 1024 {
        return Err(KeyFileError::NotAKeyFile("too long to be a key"));
    }
    crate::radix::from_base64(&b64).ok_or(KeyFileError::NotAKeyFile("invalid base64"))
}
