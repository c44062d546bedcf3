//! Identity: RFC 8032 conformance, NodeId text form, strict verification, batch verification.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use edgenet_core::identity::{IdentityError, NodeId, SecretKey, Signature, verify_batch};
use edgenet_core::{ErrorCode, SignedExchangeKey};
use proptest::prelude::*;
use rand_chacha::rand_core::SeedableRng;

fn unhex<const N: usize>(s: &str) -> [u8; N] {
    hex::decode(s).unwrap().try_into().unwrap()
}

#[test]
fn rfc8032_test_1() {
    // RFC 8032 §7.1, TEST 1 (empty message).
    let key = SecretKey::from_seed(&unhex(
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
    ));
    assert_eq!(
        hex::encode(key.node_id().as_bytes()),
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
    );
    let sig = key.sign(b"");
    assert_eq!(
        hex::encode(sig.to_bytes()),
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
    );
    key.node_id().verify(b"", &sig).unwrap();
}

#[test]
fn node_id_text_round_trip_and_short_form() {
    let key = SecretKey::from_seed(&[7; 32]);
    let id = key.node_id();
    let text = id.to_string();
    assert_eq!(text.len(), 52);
    assert!(
        text.chars()
            .all(|c| c.is_ascii_lowercase() || ('2'..='7').contains(&c))
    );
    assert_eq!(text.parse::<NodeId>().unwrap(), id);
    assert_eq!(
        text.to_uppercase().parse::<NodeId>().unwrap(),
        id,
        "parsing is case-insensitive"
    );
    let short = id.fmt_short();
    assert!(text.starts_with(&short) && short.len() == 10);
    let err = short.parse::<NodeId>().unwrap_err();
    assert_eq!(err, IdentityError::InvalidNodeIdLength { len: 10 });
    assert!(err.to_string().contains("short display form"), "{err}");
    assert_eq!(err.code(), "EN-101");
}

#[test]
fn node_id_parse_errors_are_typed() {
    let bad_char = "0".repeat(52); // '0' is not in the base32 alphabet
    assert_eq!(bad_char.parse::<NodeId>().unwrap_err().code(), "EN-102");
    assert_eq!("".parse::<NodeId>().unwrap_err().code(), "EN-101");
    // Small-order (weak) key: the identity point, y = 1.
    let mut weak = [0u8; 32];
    weak[0] = 1;
    assert_eq!(
        NodeId::from_bytes(&weak).unwrap_err(),
        IdentityError::InvalidPublicKey
    );
    assert_eq!(NodeId::from_slice(&[1, 2, 3]).unwrap_err().code(), "EN-103");
}

#[test]
fn verification_rejects_wrong_key_message_and_bytes() {
    let a = SecretKey::from_seed(&[1; 32]);
    let b = SecretKey::from_seed(&[2; 32]);
    let sig = a.sign(b"pay 10");
    a.node_id().verify(b"pay 10", &sig).unwrap();
    assert_eq!(
        a.node_id().verify(b"pay 11", &sig),
        Err(IdentityError::BadSignature)
    );
    assert_eq!(
        b.node_id().verify(b"pay 10", &sig),
        Err(IdentityError::BadSignature)
    );
    assert_eq!(
        Signature::from_slice(&[0; 63]).unwrap_err().code(),
        "EN-104"
    );
    // A non-canonical scalar (s >= group order) must be refused by strict verification.
    let mut bytes = sig.to_bytes();
    bytes[63] |= 0xf0;
    assert!(
        a.node_id()
            .verify(b"pay 10", &Signature::from_bytes(&bytes))
            .is_err()
    );
}

#[test]
fn batch_verification_accepts_all_valid_and_rejects_one_bad() {
    let mut rng = rand_chacha::ChaCha20Rng::from_seed([9; 32]);
    let keys: Vec<SecretKey> = (0..64).map(|_| SecretKey::generate(&mut rng)).collect();
    let messages: Vec<Vec<u8>> = (0..64u32)
        .map(|i| i.to_le_bytes().repeat(i as usize % 5 + 1))
        .collect();
    let msgs: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
    let mut sigs: Vec<Signature> = keys.iter().zip(&msgs).map(|(k, m)| k.sign(m)).collect();
    let ids: Vec<NodeId> = keys.iter().map(SecretKey::node_id).collect();
    verify_batch(&msgs, &sigs, &ids).unwrap();
    verify_batch(&[], &[], &[]).unwrap();
    sigs.swap(3, 4);
    assert_eq!(
        verify_batch(&msgs, &sigs, &ids),
        Err(IdentityError::BadSignature)
    );
    assert_eq!(
        verify_batch(&msgs[..3], &sigs, &ids).unwrap_err().code(),
        "EN-106"
    );
}

#[test]
fn signed_exchange_key_decodes_only_when_signature_holds() {
    let key = SecretKey::from_seed(&[5; 32]);
    let signed = SignedExchangeKey::for_identity(&key);
    let bytes = signed.encode();
    assert_eq!(SignedExchangeKey::decode(&bytes).unwrap(), signed);
    for i in [0usize, 40, 100] {
        let mut bad = bytes;
        bad[i] ^= 0x01;
        assert!(
            SignedExchangeKey::decode(&bad).is_err(),
            "flipped byte {i} accepted"
        );
    }
    // Someone else's exchange key spliced under our node id.
    let other = SignedExchangeKey::for_identity(&SecretKey::from_seed(&[6; 32])).encode();
    let mut spliced = bytes;
    spliced[32..64].copy_from_slice(&other[32..64]);
    assert_eq!(
        SignedExchangeKey::decode(&spliced).unwrap_err(),
        IdentityError::BadSignature
    );
    assert_eq!(
        SignedExchangeKey::decode(&bytes[..127]).unwrap_err().code(),
        "EN-107"
    );
}

#[test]
fn secret_key_debug_does_not_leak() {
    let key = SecretKey::from_seed(&[0xaa; 32]);
    let debug = format!("{key:?}");
    assert!(!debug.contains("aaaa") && !debug.contains("170"), "{debug}");
}

proptest! {
    #[test]
    fn sign_verify_round_trip(seed: [u8; 32], message: Vec<u8>) {
        let key = SecretKey::from_seed(&seed);
        let sig = key.sign(&message);
        prop_assert!(key.node_id().verify(&message, &sig).is_ok());
        let text = key.node_id().to_string();
        prop_assert_eq!(text.parse::<NodeId>().unwrap(), key.node_id());
    }

    #[test]
    fn parsing_arbitrary_text_never_panics(text in "\\PC{0,80}") {
        let _ = text.parse::<NodeId>();
    }

    #[test]
    fn decoding_arbitrary_exchange_keys_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = SignedExchangeKey::decode(&bytes);
    }
}
