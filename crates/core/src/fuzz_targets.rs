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
    decode_ledger(data);
    if let Ok(text) = core::str::from_utf8(data) {
        let _ = keyfile::import(text, Some(b"pw"));
        let _ = text.parse::<crate::NodeId>();
    }
}

/// Ledger bytes: an entry that decodes is verified, inserted and evaluated; sync messages decode.
fn decode_ledger(data: &[u8]) {
    use crate::ledger::sync::SyncMessage;
    use crate::ledger::{Account, Entry, EntryBody, Ledger, LedgerConfig};
    let _ = EntryBody::from_bytes(data);
    let _ = SyncMessage::from_bytes(data);
    if let Ok(entry) = Entry::from_bytes(data) {
        let validator = Account::of(&SecretKey::from_seed(&[3; 32]).node_id());
        if let Ok(config) = LedgerConfig::single(validator) {
            let mut ledger = Ledger::new(config);
            let _ = ledger.insert(entry.clone());
            let _ = ledger.insert_verified(entry);
            let _ = ledger.state();
        }
    }
}
