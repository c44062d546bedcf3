//! Bodies of the cargo-fuzz targets in `fuzz/` for core's decoders (see `edgenet_proto`'s module of
//! the same name for why they live here). Each must return normally on any input.

use crate::envelope::{self, EnvelopeHeader};
use crate::exchange::SignedExchangeKey;
use crate::identity::SecretKey;
use crate::keyfile;

/// Opens untrusted bytes as an envelope, and parses them as the other encodings core reads.
pub fn decode_untrusted(data: &[u8]) {
    let me = SecretKey::from_seed(&[1; 32]);
    let them = SignedExchangeKey::for_identity(&SecretKey::from_seed(&[2; 32]));
    let _ = EnvelopeHeader::peek(data);
    assert!(envelope::open(&me, &them, b"ctx", data).is_err() || data.len() >= envelope::OVERHEAD);
    let _ = SignedExchangeKey::decode(data);
    // Each kind's payloads and results, with the invariants its module states.
    for kind in crate::kinds::REGISTRY {
        kind.payloads().fuzz(data);
    }
    decode_collections(data);
    decode_ledger(data);
    if let Ok(text) = core::str::from_utf8(data) {
        let _ = keyfile::import(text, Some(b"pw"));
        let _ = text.parse::<crate::NodeId>();
    }
}

/// Collection specs, batches, searches and answers: whatever decodes is within its limits, a
/// spec or batch that opens was signed by its owner, and an answer agrees with itself.
fn decode_collections(data: &[u8]) {
    use crate::collection::{
        MAX_BATCH_VALUES, MAX_BATCH_VECTORS, ShardAnswer, ShardSearch, ShardState, SignedBatch,
        SignedCollection, VectorInsert,
    };
    let owner = SecretKey::from_seed(&[3; 32]).node_id();
    if let Ok(signed) = postcard::from_bytes::<SignedCollection>(data)
        && let Ok((id, spec)) = signed.open()
    {
        assert_eq!(id, spec.id());
        assert!(spec.validate().is_ok());
    }
    if let Ok(batch) = SignedBatch::decode(data) {
        assert!(
            batch.open(owner.as_bytes()).is_err(),
            "a batch nobody signed opened"
        );
    }
    // A shard state with made-up bytes as its head: only the empty state needs none.
    if let Ok((collection, shard, state)) =
        postcard::from_bytes::<(crate::collection::CollectionId, u16, ShardState)>(data)
    {
        let proof = data
            .get(data.len().saturating_sub(64)..)
            .unwrap_or_default();
        assert_eq!(
            crate::collection::head_holds(owner.as_bytes(), collection, shard, &state, proof),
            state == ShardState::default(),
            "a head nobody signed held"
        );
    }
    if let Ok(insert) = VectorInsert::decode(data) {
        assert!(!insert.ids.is_empty() && insert.ids.len() <= MAX_BATCH_VECTORS);
        assert!(insert.vectors.len() <= MAX_BATCH_VALUES);
    }
    if let Ok(search) = ShardSearch::decode(data) {
        assert!(search.ef() >= 1 && search.queries.len() <= MAX_BATCH_VALUES);
    }
    if let Ok(answer) = ShardAnswer::decode(data) {
        let total: usize = answer.hits.iter().map(Vec::len).sum();
        assert!(total <= MAX_BATCH_VALUES);
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
