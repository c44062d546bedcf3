//! Bodies of the cargo-fuzz targets in `fuzz/` for core's decoders (see `edgenet_proto`'s module of
//! the same name for why they live here). Each must return normally on any input.

use crate::envelope::{self, EnvelopeHeader};
use crate::exchange::SignedExchangeKey;
use crate::identity::SecretKey;
use crate::keyfile;
use crate::task::{CompressedVectors, Compression, KnnResult, VectorSearch};

/// Opens untrusted bytes as an envelope, and parses them as the other encodings core reads.
pub fn decode_untrusted(data: &[u8]) {
    let me = SecretKey::from_seed(&[1; 32]);
    let them = SignedExchangeKey::for_identity(&SecretKey::from_seed(&[2; 32]));
    let _ = EnvelopeHeader::peek(data);
    assert!(envelope::open(&me, &them, b"ctx", data).is_err() || data.len() >= envelope::OVERHEAD);
    let _ = SignedExchangeKey::decode(data);
    let _ = VectorSearch::decode(data);
    let _ = KnnResult::decode(data);
    let _ = Compression::decode(data);
    let _ = CompressedVectors::decode(data);
    if let Ok(text) = core::str::from_utf8(data) {
        let _ = keyfile::import(text, Some(b"pw"));
        let _ = text.parse::<crate::NodeId>();
    }
}
