//! ChaCha20-Poly1305 with a given key and nonce: the one AEAD in EdgeNet. Envelopes derive a fresh
//! key and nonce per message, key files derive theirs from a passphrase, and the `encryption` task
//! brings its own. A key and nonce pair must never seal two different messages.

use chacha20poly1305::ChaCha20Poly1305;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};

/// Authentication tag length.
pub const TAG_LEN: usize = 16;

/// Encrypts and authenticates `plaintext` with `aad`; returns ciphertext followed by the tag.
pub fn seal(key: &[u8; 32], nonce: &[u8; 12], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    ChaCha20Poly1305::new(&(*key).into())
        .encrypt(
            &(*nonce).into(),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        // Fails only above 256 GiB of plaintext, far beyond any frame or task limit.
        .unwrap_or_default()
}

/// Verifies and decrypts; `None` if the bytes, the key, the nonce or `aad` differ from sealing.
pub fn open(key: &[u8; 32], nonce: &[u8; 12], aad: &[u8], ciphertext: &[u8]) -> Option<Vec<u8>> {
    ChaCha20Poly1305::new(&(*key).into())
        .decrypt(
            &(*nonce).into(),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .ok()
}
