//! Bodies of the fuzz targets over the kernels' decoders (`fuzz/`), callable from plain tests so
//! that the regressions run on stable.

use crate::hnsw::Hnsw;

/// Untrusted bytes as a saved HNSW index: refused with an error, or loaded into an index that
/// encodes back to the very same bytes and answers a search without panicking.
#[allow(clippy::panic)] // a fuzz target reports a broken property by panicking
pub fn decode_index(data: &[u8]) {
    let Ok(index) = Hnsw::decode(data) else {
        return;
    };
    if index.encode() != data {
        panic!("a decoded index does not encode back to its bytes");
    }
    let query = vec![0.5; index.params().dim];
    let hits = index.search(&query, 5, 16);
    if hits.is_err() || hits.is_ok_and(|h| h.len() > index.len().min(5)) {
        panic!("a decoded index does not answer a search");
    }
}
