//! The fuzz target's body (`fuzz/fuzz_targets/prepare_wasm.rs`), and its kept inputs replayed on
//! stable (`tests/fuzz_regressions.rs`).

use sha2::{Digest, Sha256};

use crate::{Limits, prepare};

/// Any bytes: preparing them never panics, and what comes out (it validated, or it is refused)
/// is the same each time, with the hash of its bytes; under tighter limits too.
pub fn prepare_untrusted(data: &[u8]) {
    let tight = Limits {
        max_module_bytes: 4096,
        max_memory_pages: 2,
        max_functions: 8,
        max_table_elements: 8,
        max_data_bytes: 64,
        max_depth: 4,
    };
    for limits in [Limits::default(), tight] {
        let first = prepare(data, &limits);
        if let Ok(p) = &first {
            let hash: [u8; 32] = Sha256::digest(&p.bytes).into();
            assert_eq!(p.hash, hash);
        }
        assert_eq!(
            first,
            prepare(data, &limits),
            "preparation is deterministic"
        );
    }
}
