//! The platform's cryptographic randomness, as a [`rand_core::CryptoRng`].
//!
//! Core APIs take `&mut impl CryptoRng` so tests can pass a seeded generator; callers that want real
//! randomness pass [`os_rng()`]. In the browser getrandom reads `crypto.getRandomValues` (feature
//! `wasm_js`); natively it reads the OS.

/// The operating system's (or browser's) random source. Panics only if the platform source itself
/// fails, which on supported platforms means the machine is unusable for cryptography anyway.
pub fn os_rng() -> rand_core::UnwrapErr<getrandom::SysRng> {
    rand_core::UnwrapErr(getrandom::SysRng)
}
