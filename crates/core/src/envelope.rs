//! Sealed envelopes: a payload only the recipient can open, provably from the sender, bound to a
//! context (the task id).
//!
//! Construction (version 1), close to HPKE's authenticated mode (RFC 9180 `mode_auth`) but not
//! wire-compatible with it:
//!
//! ```text
//! header  = 0x01 || sender NodeId (32) || recipient NodeId (32) || ephemeral X25519 public (32)
//! dh_e    = X25519(ephemeral secret, recipient exchange key)
//! dh_s    = X25519(sender exchange secret, recipient exchange key)   -- authenticates the sender
//! key‖iv  = HKDF-SHA256(salt = "edgenet/envelope/v1", ikm = dh_e || dh_s,
//!                       info = header || sender exchange key || recipient exchange key)  (32 + 12 bytes)
//! body    = ChaCha20-Poly1305(key, iv, plaintext, aad = header || context)
//! wire    = header || body                                          (97 + len + 16 bytes)
//! ```
//!
//! The ephemeral key is fresh per envelope, so each (key, iv) pair is used exactly once. Relays see
//! the header (who to whom) but never the plaintext. Whoever opens must hold the sender's
//! [`SignedExchangeKey`] (verified), so a third party cannot forge an envelope "from" someone else.

use hkdf::Hkdf;
use rand_core::CryptoRng;
use sha2::Sha256;
use thiserror::Error;
use zeroize::Zeroizing;

use crate::error::ErrorCode;
use crate::exchange::{ExchangePublicKey, ExchangeSecret, SignedExchangeKey};
use crate::identity::{NodeId, SecretKey};

/// Current envelope format version (the first byte on the wire).
pub const VERSION: u8 = 1;
/// Header length: version + sender + recipient + ephemeral key.
pub const HEADER_LEN: usize = 1 + 32 + 32 + 32;
/// Poly1305 tag length.
pub const TAG_LEN: usize = 16;
/// Bytes an envelope adds to its plaintext.
pub const OVERHEAD: usize = HEADER_LEN + TAG_LEN;

const KDF_SALT: &[u8] = b"edgenet/envelope/v1";

/// Errors from sealing and opening envelopes.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EnvelopeError {
    /// Fewer bytes than the smallest possible envelope.
    #[error("envelope truncated: {len} bytes, at least {OVERHEAD} needed")]
    Truncated {
        /// The length found.
        len: usize,
    },
    /// The first byte names a format this build does not know.
    #[error("envelope version {version} is not supported (this build speaks version {VERSION})")]
    UnsupportedVersion {
        /// The version byte found.
        version: u8,
    },
    /// The header names a sender or recipient that is not a valid NodeId.
    #[error("envelope header holds an invalid node id")]
    MalformedHeader,
    /// The envelope is addressed to another node.
    #[error("envelope is addressed to {addressed_to}, not to this node")]
    WrongRecipient {
        /// Whom the envelope is sealed to.
        addressed_to: String,
    },
    /// The envelope claims a different sender than the exchange key supplied to open it.
    #[error("envelope claims sender {claimed}, but the exchange key given is {expected}'s")]
    WrongSender {
        /// The sender the envelope names.
        claimed: String,
        /// The sender the caller expected.
        expected: String,
    },
    /// An X25519 exchange produced the all-zero secret (a low-order public key).
    #[error("a low-order X25519 key was used; refusing the key exchange")]
    LowOrderKey,
    /// Decryption failed: the bytes were altered, the context differs, or the sender is forged.
    #[error("envelope failed authentication (tampered, wrong context, or forged sender)")]
    AuthenticationFailed,
}

impl ErrorCode for EnvelopeError {
    fn code(&self) -> &'static str {
        match self {
            Self::Truncated { .. } => "EN-120",
            Self::UnsupportedVersion { .. } => "EN-121",
            Self::MalformedHeader => "EN-122",
            Self::WrongRecipient { .. } => "EN-123",
            Self::WrongSender { .. } => "EN-124",
            Self::LowOrderKey => "EN-125",
            Self::AuthenticationFailed => "EN-126",
        }
    }
}

/// Who an envelope is from and to, readable without any key (relays route on it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnvelopeHeader {
    /// The node that sealed it.
    pub sender: NodeId,
    /// The node that can open it.
    pub recipient: NodeId,
}

impl EnvelopeHeader {
    /// Reads the header of an envelope without opening it.
    pub fn peek(envelope: &[u8]) -> Result<Self, EnvelopeError> {
        let header = parse_header(envelope)?;
        Ok(Self {
            sender: header.sender,
            recipient: header.recipient,
        })
    }
}

/// Seals `plaintext` from `sender` to `recipient`, bound to `context`.
pub fn seal<R: CryptoRng + ?Sized>(
    rng: &mut R,
    sender: &SecretKey,
    recipient: &SignedExchangeKey,
    context: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, EnvelopeError> {
    let mut ephemeral = Zeroizing::new([0u8; 32]);
    rng.fill_bytes(ephemeral.as_mut());
    seal_with_ephemeral(&ephemeral, sender, recipient, context, plaintext)
}

/// [`seal`] with a caller-chosen ephemeral secret. Only for reproducible test vectors: sealing two
/// different plaintexts with the same ephemeral secret to the same recipient reuses a key and nonce.
#[doc(hidden)]
pub fn seal_with_ephemeral(
    ephemeral: &[u8; 32],
    sender: &SecretKey,
    recipient: &SignedExchangeKey,
    context: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, EnvelopeError> {
    let ephemeral = x25519_dalek::StaticSecret::from(*ephemeral);
    let ephemeral_public = x25519_dalek::PublicKey::from(&ephemeral);
    let sender_exchange = ExchangeSecret::derive(sender);

    let mut out = Vec::with_capacity(OVERHEAD + plaintext.len());
    out.push(VERSION);
    out.extend_from_slice(sender.node_id().as_bytes());
    out.extend_from_slice(recipient.node_id().as_bytes());
    out.extend_from_slice(ephemeral_public.as_bytes());

    let dh_e = ephemeral.diffie_hellman(&recipient.key().0);
    let dh_s = sender_exchange.0.diffie_hellman(&recipient.key().0);
    let cipher = derive_cipher(
        &dh_e,
        &dh_s,
        &out,
        &sender_exchange.public(),
        &recipient.key(),
    )?;
    let body = cipher.encrypt(plaintext, &out, context);
    out.extend_from_slice(&body);
    Ok(out)
}

/// Opens an envelope addressed to `recipient`, sealed by the owner of `sender`, for `context`.
pub fn open(
    recipient: &SecretKey,
    sender: &SignedExchangeKey,
    context: &[u8],
    envelope: &[u8],
) -> Result<Vec<u8>, EnvelopeError> {
    let header = parse_header(envelope)?;
    if header.recipient != recipient.node_id() {
        return Err(EnvelopeError::WrongRecipient {
            addressed_to: header.recipient.fmt_short(),
        });
    }
    if header.sender != sender.node_id() {
        return Err(EnvelopeError::WrongSender {
            claimed: header.sender.fmt_short(),
            expected: sender.node_id().fmt_short(),
        });
    }
    let recipient_exchange = ExchangeSecret::derive(recipient);
    let dh_e = recipient_exchange.0.diffie_hellman(&header.ephemeral);
    let dh_s = recipient_exchange.0.diffie_hellman(&sender.key().0);
    let header_bytes = &envelope[..HEADER_LEN];
    let cipher = derive_cipher(
        &dh_e,
        &dh_s,
        header_bytes,
        &sender.key(),
        &recipient_exchange.public(),
    )?;
    cipher.decrypt(&envelope[HEADER_LEN..], header_bytes, context)
}

struct ParsedHeader {
    sender: NodeId,
    recipient: NodeId,
    ephemeral: x25519_dalek::PublicKey,
}

fn parse_header(envelope: &[u8]) -> Result<ParsedHeader, EnvelopeError> {
    if envelope.len() < OVERHEAD {
        return Err(EnvelopeError::Truncated {
            len: envelope.len(),
        });
    }
    if envelope[0] != VERSION {
        return Err(EnvelopeError::UnsupportedVersion {
            version: envelope[0],
        });
    }
    let sender =
        NodeId::from_slice(&envelope[1..33]).map_err(|_| EnvelopeError::MalformedHeader)?;
    let recipient =
        NodeId::from_slice(&envelope[33..65]).map_err(|_| EnvelopeError::MalformedHeader)?;
    let mut ephemeral = [0u8; 32];
    ephemeral.copy_from_slice(&envelope[65..HEADER_LEN]);
    Ok(ParsedHeader {
        sender,
        recipient,
        ephemeral: x25519_dalek::PublicKey::from(ephemeral),
    })
}

/// A ChaCha20-Poly1305 key and nonce used for exactly one envelope.
struct OneShotCipher {
    key: Zeroizing<[u8; 32]>,
    nonce: [u8; 12],
}

impl OneShotCipher {
    fn encrypt(&self, plaintext: &[u8], header: &[u8], context: &[u8]) -> Vec<u8> {
        crate::aead::seal(
            &self.key,
            &self.nonce,
            &[header, context].concat(),
            plaintext,
        )
    }

    fn decrypt(
        &self,
        body: &[u8],
        header: &[u8],
        context: &[u8],
    ) -> Result<Vec<u8>, EnvelopeError> {
        crate::aead::open(&self.key, &self.nonce, &[header, context].concat(), body)
            .ok_or(EnvelopeError::AuthenticationFailed)
    }
}

fn derive_cipher(
    dh_e: &x25519_dalek::SharedSecret,
    dh_s: &x25519_dalek::SharedSecret,
    header: &[u8],
    sender_key: &ExchangePublicKey,
    recipient_key: &ExchangePublicKey,
) -> Result<OneShotCipher, EnvelopeError> {
    if !dh_e.was_contributory() || !dh_s.was_contributory() {
        return Err(EnvelopeError::LowOrderKey);
    }
    let mut ikm = Zeroizing::new([0u8; 64]);
    ikm[..32].copy_from_slice(dh_e.as_bytes());
    ikm[32..].copy_from_slice(dh_s.as_bytes());
    let info = [header, sender_key.as_bytes(), recipient_key.as_bytes()].concat();
    let mut okm = Zeroizing::new([0u8; 44]);
    Hkdf::<Sha256>::new(Some(KDF_SALT), ikm.as_ref())
        .expand(&info, okm.as_mut())
        .unwrap_or_else(|_| unreachable!("44 bytes is a valid HKDF-SHA256 output length"));
    let mut key = Zeroizing::new([0u8; 32]);
    key.copy_from_slice(&okm[..32]);
    let mut nonce = [0u8; 12];
    nonce.copy_from_slice(&okm[32..]);
    Ok(OneShotCipher { key, nonce })
}
