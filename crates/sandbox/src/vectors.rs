//! A module and the hash its preparation must have, the same natively and in the browser
//! (`tests/prepare.rs` here, `crates/wasm/tests/sandbox.rs` in Chromium). A change to either
//! changes every prepared module's hash, and what caches name them by.

/// The module, in WAT.
pub const PINNED_WAT: &str = r#"(module (memory 1) (func (export "f") (param f64) (result f64)
        (f64.sqrt (local.get 0))))"#;

/// SHA-256 of its preparation under the default limits, in hex.
pub const PINNED_HASH: &str = "1062dc878ccf8b2c89e916bc4a4cf7d497e34d392687c95a901205b44a0b8415";
