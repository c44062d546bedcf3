//! `edgenet-wasm`: the browser's door into `edgenet-core`.
//!
//! An adapter only: `Uint8Array`/string in, `Uint8Array`/string out, errors as `JsError` whose
//! message starts with the stable code (`"EN-126: envelope failed authentication …"`), which the JS
//! shim lifts into `err.code`. No protocol or ledger logic lives here.
//!
//! - this file: identity, signatures, envelopes, key export/import, one-shot task execution;
//! - [`connection`]: the coordinator Worker's protocol state (`Connection`, over proto's endpoint);
//! - [`compute`]: the compute Workers' sliced runs and duty cycle, and the idle policy;
//! - [`payload`]: task payloads and results between plain JS values and core's encodings.
#![allow(unsafe_code)] // wasm-bindgen's generated glue

pub mod compute;
pub mod connection;
mod js;
pub mod payload;

use edgenet_core::{ErrorCode, NodeId, SecretKey, Signature, SignedExchangeKey, envelope, keyfile};
use wasm_bindgen::prelude::*;

pub(crate) fn js_error<E: ErrorCode + core::fmt::Display>(err: E) -> JsError {
    JsError::new(&format!("{}: {err}", err.code()))
}

pub(crate) fn secret_key(seed: &[u8]) -> Result<SecretKey, JsError> {
    let seed: &[u8; 32] = seed.try_into().map_err(|_| {
        JsError::new(&format!(
            "EN-108: a secret key is 32 bytes, got {}",
            seed.len()
        ))
    })?;
    Ok(SecretKey::from_seed(seed))
}

/// A fresh secret key (32-byte seed) from `crypto.getRandomValues`.
#[wasm_bindgen(js_name = generateSecretKey)]
pub fn generate_secret_key() -> Vec<u8> {
    SecretKey::generate(&mut edgenet_core::rng::os_rng())
        .to_seed()
        .to_vec()
}

/// The NodeId (52-character base32 text) of a secret key.
#[wasm_bindgen(js_name = nodeId)]
pub fn node_id(secret: &[u8]) -> Result<String, JsError> {
    Ok(secret_key(secret)?.node_id().to_string())
}

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

/// Times the k-NN scan in this browser on the same data as the native benchmark
/// (`edgenet-kernels/examples/scan_bench.rs`: seeds 7 and 11), one thread, best of `runs`;
/// returns queries per second. Only with feature `bench` (`scripts/bench.sh kernels`).
#[cfg(feature = "bench")]
#[wasm_bindgen(js_name = benchScan)]
pub fn bench_scan(n: usize, dim: usize, k: usize, runs: u32) -> Result<f64, JsError> {
    let database = edgenet_kernels::sample::uniform(n * dim, 7);
    let query = edgenet_kernels::sample::uniform(dim, 11);
    let mut best = f64::INFINITY;
    for _ in 0..runs.max(1) {
        let start = js_sys::Date::now();
        edgenet_kernels::simd::knn(edgenet_kernels::Metric::Dot, &query, &database, dim, k, 1)
            .map_err(js_error)?;
        best = best.min(js_sys::Date::now() - start);
    }
    Ok(1000.0 / best.max(0.001))
}
