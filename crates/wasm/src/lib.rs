//! `edgenet-wasm`: the browser's door into `edgenet-core`.
//!
//! An adapter only: `Uint8Array`/string in, `Uint8Array`/string out, errors as `JsError` whose
//! message starts with the stable code (`"EN-126: envelope failed authentication …"`), which the JS
//! shim lifts into `err.code`. No protocol or ledger logic lives here.
//!
//! - this file: the identity the coordinator keeps (a fresh key, its id);
//! - `checks` (feature `test-exports`, for the Chromium tests only, never shipped): signatures,
//!   envelopes, key export/import and one-shot task execution, checked against core's vectors;
//! - [`connection`]: the coordinator Worker's protocol state (`Connection`, over proto's endpoint);
//! - [`policy`]: the idle policy (the compute Workers' runs are `edgenet-wasm-compute`'s);
//! - [`payload`]: task payloads and results between plain JS values and core's encodings.
#![allow(unsafe_code)] // wasm-bindgen's generated glue

#[cfg(feature = "test-exports")]
mod checks;
pub mod connection;
mod js;
pub mod payload;
pub mod policy;

#[cfg(feature = "test-exports")]
pub use checks::*;

use edgenet_core::{ErrorCode, SecretKey};
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
