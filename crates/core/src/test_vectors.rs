//! Cross-platform test vectors (feature `test-vectors`).
//!
//! One module generates and checks them so that every platform runs the *same* checks: the native
//! tests, the wasm tests in headless Chromium, and `examples/gen_vectors.rs`, which writes the
//! committed file `crates/core/tests/vectors/core-v1.json`.
//!
//! Two kinds of evidence:
//! - [`Vectors`]: fixed seeds → keys, signatures, envelopes and key files. [`check_vectors`] both
//!   recomputes them (same bytes on this platform) and verifies/opens them.
//! - [`Made`]: a signature and an envelope produced on one platform with fresh randomness, to be
//!   verified and opened on another by [`check_made`]. The envelope is sealed to the vectors' fixed
//!   recipient identity, so no secret has to cross between platforms.

use rand_chacha::rand_core::SeedableRng;
use serde::{Deserialize, Serialize};

use crate::envelope::{self, EnvelopeHeader};
use crate::exchange::SignedExchangeKey;
use crate::identity::{NodeId, SecretKey, Signature, verify_batch};
use crate::keyfile::{self, KdfCost};

/// The committed vector file, as text (compiled in, so wasm tests need no file access).
pub const COMMITTED: &str = include_str!("../tests/vectors/core-v1.json");

/// All vectors of format version 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vectors {
    /// Describes the file for a human reader.
    pub comment: String,
    /// Identities from fixed seeds.
    pub identities: Vec<IdentityVector>,
    /// Signatures by those identities.
    pub signatures: Vec<SignatureVector>,
    /// Envelopes between those identities, with fixed ephemeral secrets.
    pub envelopes: Vec<EnvelopeVector>,
    /// Exported key files (one plain, one encrypted).
    pub keyfiles: Vec<KeyFileVector>,
}

/// An identity derived from a seed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityVector {
    /// 32-byte seed, hex.
    pub seed: String,
    /// NodeId text form.
    pub node_id: String,
    /// Signed exchange key, hex (128 bytes).
    pub signed_exchange_key: String,
}

/// A signature by `identities[signer]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureVector {
    /// Index into `identities`.
    pub signer: usize,
    /// Message, hex.
    pub message: String,
    /// Signature, hex.
    pub signature: String,
}

/// An envelope from `identities[sender]` to `identities[recipient]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvelopeVector {
    /// Index into `identities`.
    pub sender: usize,
    /// Index into `identities`.
    pub recipient: usize,
    /// Ephemeral X25519 secret, hex.
    pub ephemeral: String,
    /// Context (task id), hex.
    pub context: String,
    /// Plaintext, hex.
    pub plaintext: String,
    /// Envelope bytes, hex.
    pub envelope: String,
}

/// A key file for `identities[identity]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyFileVector {
    /// Index into `identities`.
    pub identity: usize,
    /// Passphrase (UTF-8), if encrypted.
    pub passphrase: Option<String>,
    /// The exported text.
    pub text: String,
}

/// A signature and an envelope produced on one platform for another to check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Made {
    /// Which platform produced it (for messages only).
    pub platform: String,
    /// The producer's signed exchange key, hex (carries its NodeId).
    pub signer: String,
    /// Message, hex.
    pub message: String,
    /// Signature over `message`, hex.
    pub signature: String,
    /// Context, hex.
    pub context: String,
    /// Expected plaintext, hex.
    pub plaintext: String,
    /// Envelope sealed by the producer to the vectors' identity 1, hex.
    pub envelope: String,
}

const SEEDS: [[u8; 32]; 3] = [[0x11; 32], [0x22; 32], [0x33; 32]];
/// The identity every [`Made`] envelope is sealed to.
pub const MADE_RECIPIENT: usize = 1;
/// Cheap Argon2id cost so vectors check quickly everywhere (real exports use [`KdfCost::default`]).
pub const VECTOR_KDF_COST: KdfCost = KdfCost {
    memory_kib: 64,
    passes: 1,
    lanes: 1,
};

fn h(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

fn unhex(field: &str, text: &str) -> Result<Vec<u8>, String> {
    hex::decode(text).map_err(|e| format!("{field}: bad hex: {e}"))
}

/// (sender, recipient, ephemeral byte, context, plaintext)
type EnvelopeCase = (usize, usize, u8, &'static [u8], &'static [u8]);

/// Generates the vectors deterministically.
pub fn generate() -> Vectors {
    let keys: Vec<SecretKey> = SEEDS.iter().map(SecretKey::from_seed).collect();
    let identities = keys
        .iter()
        .zip(SEEDS.iter())
        .map(|(k, seed)| IdentityVector {
            seed: h(seed),
            node_id: k.node_id().to_string(),
            signed_exchange_key: h(&SignedExchangeKey::for_identity(k).encode()),
        })
        .collect();

    let messages: [&[u8]; 3] = [b"", b"edgenet", &[0xab; 300]];
    let signatures = messages
        .iter()
        .enumerate()
        .map(|(i, m)| SignatureVector {
            signer: i % keys.len(),
            message: h(m),
            signature: h(&keys[i % keys.len()].sign(m).to_bytes()),
        })
        .collect();

    let cases: [EnvelopeCase; 3] = [
        (0, 1, 0x44, b"task-0001", b""),
        (0, 1, 0x55, b"task-0002", b"query: [0.25, -1.5, 3.0]"),
        (2, 0, 0x66, b"", &[0x5a; 1000]),
    ];
    let envelopes = cases
        .iter()
        .map(|&(s, r, eph, ctx, pt)| {
            let recipient = SignedExchangeKey::for_identity(&keys[r]);
            let sealed = envelope::seal_with_ephemeral(&[eph; 32], &keys[s], &recipient, ctx, pt)
                .unwrap_or_else(|e| unreachable!("vector sealing cannot fail for valid keys: {e}"));
            EnvelopeVector {
                sender: s,
                recipient: r,
                ephemeral: h(&[eph; 32]),
                context: h(ctx),
                plaintext: h(pt),
                envelope: h(&sealed),
            }
        })
        .collect();

    let mut rng = rand_chacha::ChaCha20Rng::from_seed([0x77; 32]);
    let encrypted =
        keyfile::export_encrypted(&mut rng, &keys[2], b"correct horse", VECTOR_KDF_COST)
            .unwrap_or_else(|e| unreachable!("vector cost is valid: {e}"));
    let keyfiles = vec![
        KeyFileVector {
            identity: 0,
            passphrase: None,
            text: keyfile::export_plain(&keys[0]),
        },
        KeyFileVector {
            identity: 2,
            passphrase: Some("correct horse".into()),
            text: encrypted,
        },
    ];

    Vectors {
        comment: "EdgeNet core test vectors v1. Regenerate: cargo run -p edgenet-core --example gen_vectors --features test-vectors".into(),
        identities,
        signatures,
        envelopes,
        keyfiles,
    }
}

/// Parses the committed vectors.
pub fn committed() -> Result<Vectors, String> {
    serde_json::from_str(COMMITTED).map_err(|e| format!("committed vectors do not parse: {e}"))
}

/// Checks `vectors` on this platform: regenerates them (must be byte-identical), then verifies every
/// signature (one by one and as a batch), opens every envelope, imports every key file, and checks
/// that a flipped bit is refused. Returns the number of checks made.
pub fn check_vectors(vectors: &Vectors) -> Result<usize, String> {
    let mut checks = 0;
    if *vectors != generate() {
        return Err("regenerated vectors differ from the committed ones".into());
    }
    checks += 1;

    let mut keys = Vec::new();
    let mut exchange_keys = Vec::new();
    for (i, id) in vectors.identities.iter().enumerate() {
        let seed: [u8; 32] = unhex("seed", &id.seed)?
            .try_into()
            .map_err(|_| "seed is not 32 bytes")?;
        let key = SecretKey::from_seed(&seed);
        let parsed: NodeId = id
            .node_id
            .parse()
            .map_err(|e| format!("identity {i}: {e}"))?;
        if parsed != key.node_id() {
            return Err(format!("identity {i}: node id does not match seed"));
        }
        let signed =
            SignedExchangeKey::decode(&unhex("signed_exchange_key", &id.signed_exchange_key)?)
                .map_err(|e| format!("identity {i}: exchange key: {e}"))?;
        if signed.node_id() != parsed {
            return Err(format!("identity {i}: exchange key signed by someone else"));
        }
        keys.push(key);
        exchange_keys.push(signed);
        checks += 1;
    }

    let mut batch: (Vec<Vec<u8>>, Vec<Signature>, Vec<NodeId>) = Default::default();
    for (i, v) in vectors.signatures.iter().enumerate() {
        let message = unhex("message", &v.message)?;
        let signature =
            Signature::from_slice(&unhex("signature", &v.signature)?).map_err(|e| e.to_string())?;
        let signer = keys
            .get(v.signer)
            .ok_or("signer index out of range")?
            .node_id();
        signer
            .verify(&message, &signature)
            .map_err(|e| format!("signature {i}: {e}"))?;
        let mut tampered = message.clone();
        tampered.push(0);
        if signer.verify(&tampered, &signature).is_ok() {
            return Err(format!("signature {i}: verified over a different message"));
        }
        batch.0.push(message);
        batch.1.push(signature);
        batch.2.push(signer);
        checks += 2;
    }
    let messages: Vec<&[u8]> = batch.0.iter().map(Vec::as_slice).collect();
    verify_batch(&messages, &batch.1, &batch.2).map_err(|e| format!("batch: {e}"))?;
    checks += 1;

    for (i, v) in vectors.envelopes.iter().enumerate() {
        let sealed = unhex("envelope", &v.envelope)?;
        let context = unhex("context", &v.context)?;
        let recipient = keys
            .get(v.recipient)
            .ok_or("recipient index out of range")?;
        let sender = exchange_keys
            .get(v.sender)
            .ok_or("sender index out of range")?;
        let opened = envelope::open(recipient, sender, &context, &sealed)
            .map_err(|e| format!("envelope {i}: {e}"))?;
        if opened != unhex("plaintext", &v.plaintext)? {
            return Err(format!("envelope {i}: opened to different plaintext"));
        }
        let header = EnvelopeHeader::peek(&sealed).map_err(|e| e.to_string())?;
        if header.sender != sender.node_id() || header.recipient != recipient.node_id() {
            return Err(format!("envelope {i}: header names the wrong nodes"));
        }
        let mut flipped = sealed.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        if envelope::open(recipient, sender, &context, &flipped).is_ok() {
            return Err(format!("envelope {i}: a flipped bit was accepted"));
        }
        checks += 3;
    }

    for (i, v) in vectors.keyfiles.iter().enumerate() {
        let key = keyfile::import(&v.text, v.passphrase.as_deref().map(str::as_bytes))
            .map_err(|e| format!("key file {i}: {e}"))?;
        let expected = keys.get(v.identity).ok_or("identity index out of range")?;
        if key.node_id() != expected.node_id() {
            return Err(format!("key file {i}: imported a different key"));
        }
        if v.passphrase.is_some() && keyfile::import(&v.text, Some(b"wrong")).is_ok() {
            return Err(format!("key file {i}: opened with a wrong passphrase"));
        }
        checks += 1;
    }
    Ok(checks)
}

/// Produces a signature and an envelope with fresh randomness on this platform.
pub fn make<R: rand_core::CryptoRng + ?Sized>(rng: &mut R, platform: &str) -> Made {
    let me = SecretKey::generate(rng);
    let recipient = SignedExchangeKey::for_identity(&SecretKey::from_seed(&SEEDS[MADE_RECIPIENT]));
    let mut message = [0u8; 48];
    rng.fill_bytes(&mut message);
    let mut plaintext = [0u8; 200];
    rng.fill_bytes(&mut plaintext);
    let context = format!("xplat-from-{platform}");
    let sealed = envelope::seal(rng, &me, &recipient, context.as_bytes(), &plaintext)
        .unwrap_or_else(|e| unreachable!("sealing to a valid key cannot fail: {e}"));
    Made {
        platform: platform.into(),
        signer: h(&SignedExchangeKey::for_identity(&me).encode()),
        message: h(&message),
        signature: h(&me.sign(&message).to_bytes()),
        context: h(context.as_bytes()),
        plaintext: h(&plaintext),
        envelope: h(&sealed),
    }
}

/// Verifies the signature and opens the envelope of a [`Made`] from another platform.
pub fn check_made(made: &Made) -> Result<(), String> {
    let signer = SignedExchangeKey::decode(&unhex("signer", &made.signer)?)
        .map_err(|e| format!("signer: {e}"))?;
    let signature =
        Signature::from_slice(&unhex("signature", &made.signature)?).map_err(|e| e.to_string())?;
    signer
        .node_id()
        .verify(&unhex("message", &made.message)?, &signature)
        .map_err(|e| format!("signature made on {}: {e}", made.platform))?;
    let recipient = SecretKey::from_seed(&SEEDS[MADE_RECIPIENT]);
    let opened = envelope::open(
        &recipient,
        &signer,
        &unhex("context", &made.context)?,
        &unhex("envelope", &made.envelope)?,
    )
    .map_err(|e| format!("envelope made on {}: {e}", made.platform))?;
    if opened != unhex("plaintext", &made.plaintext)? {
        return Err(format!(
            "envelope made on {} opened to different plaintext",
            made.platform
        ));
    }
    Ok(())
}
