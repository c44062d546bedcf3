//! Exports only the wasm tests call (feature `test-exports`): core's signatures, envelopes, key
//! files and kernels run in Chromium against the committed vectors. The shipped package does not
//! need them, so they stay out of its module.

use edgenet_core::{NodeId, Signature, SignedExchangeKey, envelope, keyfile};
use wasm_bindgen::prelude::*;

use crate::{connection, js_error, secret_key};

/// The 10-character display form of a NodeId.
#[wasm_bindgen(js_name = shortNodeId)]
pub fn short_node_id(node_id: &str) -> Result<String, JsError> {
    Ok(node_id.parse::<NodeId>().map_err(js_error)?.fmt_short())
}

/// Signs `message` (64-byte Ed25519 signature).
#[wasm_bindgen]
pub fn sign(secret: &[u8], message: &[u8]) -> Result<Vec<u8>, JsError> {
    Ok(secret_key(secret)?.sign(message).to_bytes().to_vec())
}

/// Verifies a signature strictly; throws `EN-105` if it does not hold.
#[wasm_bindgen]
pub fn verify(node_id: &str, message: &[u8], signature: &[u8]) -> Result<(), JsError> {
    let node: NodeId = node_id.parse().map_err(js_error)?;
    node.verify(
        message,
        &Signature::from_slice(signature).map_err(js_error)?,
    )
    .map_err(js_error)
}

/// This identity's X25519 key, signed (128 bytes), to publish for sealed payloads.
#[wasm_bindgen(js_name = exchangeKey)]
pub fn exchange_key(secret: &[u8]) -> Result<Vec<u8>, JsError> {
    Ok(SignedExchangeKey::for_identity(&secret_key(secret)?)
        .encode()
        .to_vec())
}

/// Seals `plaintext` to the holder of `recipient_exchange_key`, bound to `context`.
#[wasm_bindgen]
pub fn seal(
    secret: &[u8],
    recipient_exchange_key: &[u8],
    context: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, JsError> {
    let recipient = SignedExchangeKey::decode(recipient_exchange_key).map_err(js_error)?;
    envelope::seal(
        &mut edgenet_core::rng::os_rng(),
        &secret_key(secret)?,
        &recipient,
        context,
        plaintext,
    )
    .map_err(js_error)
}

/// Opens an envelope sealed to this identity by the holder of `sender_exchange_key`.
#[wasm_bindgen]
pub fn open(
    secret: &[u8],
    sender_exchange_key: &[u8],
    context: &[u8],
    envelope: &[u8],
) -> Result<Vec<u8>, JsError> {
    let sender = SignedExchangeKey::decode(sender_exchange_key).map_err(js_error)?;
    envelope::open(&secret_key(secret)?, &sender, context, envelope).map_err(js_error)
}

/// Exports a secret key in the documented text format, encrypted if a passphrase is given.
#[wasm_bindgen(js_name = exportKey)]
pub fn export_key(secret: &[u8], passphrase: Option<String>) -> Result<String, JsError> {
    let key = secret_key(secret)?;
    match passphrase {
        None => Ok(keyfile::export_plain(&key)),
        Some(p) => keyfile::export_encrypted(
            &mut edgenet_core::rng::os_rng(),
            &key,
            p.as_bytes(),
            keyfile::KdfCost::default(),
        )
        .map_err(js_error),
    }
}

/// Imports a key exported by [`export_key`] (or by `edgenet-node`), returning its 32-byte seed.
#[wasm_bindgen(js_name = importKey)]
pub fn import_key(text: &str, passphrase: Option<String>) -> Result<Vec<u8>, JsError> {
    let key = keyfile::import(text, passphrase.as_deref().map(str::as_bytes)).map_err(js_error)?;
    Ok(key.to_seed().to_vec())
}

/// Runs a task in a compute Worker: `kind` is `"vector_search"` or `"encryption"`, `payload` the
/// task's plaintext encoding; returns the encoded result. The same executor as native nodes.
#[wasm_bindgen(js_name = executeTask)]
pub fn execute_task(kind: &str, payload: &[u8]) -> Result<Vec<u8>, JsError> {
    edgenet_kernels::execute::execute(connection::task_kind(kind)?, payload).map_err(js_error)
}

/// The CPU kernel backend in this build (`"wasm-simd128"` in the browser).
#[wasm_bindgen(js_name = kernelBackend)]
pub fn kernel_backend() -> String {
    edgenet_kernels::simd::backend().into()
}
