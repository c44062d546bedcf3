//! Sealed envelopes: round trips and every way opening must fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use edgenet_core::envelope::{self, EnvelopeError, EnvelopeHeader, HEADER_LEN, OVERHEAD};
use edgenet_core::{ErrorCode, SecretKey, SignedExchangeKey};
use proptest::prelude::*;
use rand_chacha::rand_core::SeedableRng;

struct Parties {
    alice: SecretKey,
    bob: SecretKey,
    mallory: SecretKey,
}

fn parties() -> Parties {
    Parties {
        alice: SecretKey::from_seed(&[1; 32]),
        bob: SecretKey::from_seed(&[2; 32]),
        mallory: SecretKey::from_seed(&[3; 32]),
    }
}

fn rng() -> rand_chacha::ChaCha20Rng {
    rand_chacha::ChaCha20Rng::from_seed([42; 32])
}

fn xk(key: &SecretKey) -> SignedExchangeKey {
    SignedExchangeKey::for_identity(key)
}

#[test]
fn round_trip_and_header() {
    let p = parties();
    let sealed =
        envelope::seal(&mut rng(), &p.alice, &xk(&p.bob), b"task-1", b"hello bob").unwrap();
    assert_eq!(sealed.len(), OVERHEAD + 9);
    assert!(
        !sealed.windows(9).any(|w| w == b"hello bob"),
        "plaintext visible in the envelope"
    );
    let header = EnvelopeHeader::peek(&sealed).unwrap();
    assert_eq!(
        (header.sender, header.recipient),
        (p.alice.node_id(), p.bob.node_id())
    );
    assert_eq!(
        envelope::open(&p.bob, &xk(&p.alice), b"task-1", &sealed).unwrap(),
        b"hello bob"
    );
}

#[test]
fn fresh_ephemeral_per_envelope() {
    let p = parties();
    let mut rng = rng();
    let a = envelope::seal(&mut rng, &p.alice, &xk(&p.bob), b"t", b"same").unwrap();
    let b = envelope::seal(&mut rng, &p.alice, &xk(&p.bob), b"t", b"same").unwrap();
    assert_ne!(a, b);
}

#[test]
fn wrong_context_fails_authentication() {
    let p = parties();
    let sealed = envelope::seal(&mut rng(), &p.alice, &xk(&p.bob), b"task-1", b"x").unwrap();
    let err = envelope::open(&p.bob, &xk(&p.alice), b"task-2", &sealed).unwrap_err();
    assert_eq!(err, EnvelopeError::AuthenticationFailed);
    assert_eq!(err.code(), "EN-126");
}

#[test]
fn wrong_recipient_is_refused_before_decryption() {
    let p = parties();
    let sealed = envelope::seal(&mut rng(), &p.alice, &xk(&p.bob), b"t", b"x").unwrap();
    let err = envelope::open(&p.mallory, &xk(&p.alice), b"t", &sealed).unwrap_err();
    assert!(
        matches!(err, EnvelopeError::WrongRecipient { .. }),
        "{err:?}"
    );
    assert_eq!(err.code(), "EN-123");
    // Mallory rewrites the recipient field to herself: the AEAD binding still refuses it.
    let mut readdressed = sealed.clone();
    readdressed[33..65].copy_from_slice(p.mallory.node_id().as_bytes());
    assert_eq!(
        envelope::open(&p.mallory, &xk(&p.alice), b"t", &readdressed).unwrap_err(),
        EnvelopeError::AuthenticationFailed
    );
}

#[test]
fn forged_sender_fails() {
    let p = parties();
    // Mallory seals with her own keys but writes Alice as the sender in the header.
    let mut forged = envelope::seal(
        &mut rng(),
        &p.mallory,
        &xk(&p.bob),
        b"t",
        b"from alice, honest",
    )
    .unwrap();
    forged[1..33].copy_from_slice(p.alice.node_id().as_bytes());
    assert_eq!(
        envelope::open(&p.bob, &xk(&p.alice), b"t", &forged).unwrap_err(),
        EnvelopeError::AuthenticationFailed
    );
    // Opening with an exchange key that does not match the header's sender is refused up front.
    let honest = envelope::seal(&mut rng(), &p.alice, &xk(&p.bob), b"t", b"x").unwrap();
    let err = envelope::open(&p.bob, &xk(&p.mallory), b"t", &honest).unwrap_err();
    assert!(matches!(err, EnvelopeError::WrongSender { .. }));
    assert_eq!(err.code(), "EN-124");
}

#[test]
fn truncated_version_malformed_and_low_order() {
    let p = parties();
    let sealed = envelope::seal(&mut rng(), &p.alice, &xk(&p.bob), b"t", b"payload").unwrap();
    for len in [0, 1, HEADER_LEN, OVERHEAD - 1] {
        assert_eq!(
            envelope::open(&p.bob, &xk(&p.alice), b"t", &sealed[..len]).unwrap_err(),
            EnvelopeError::Truncated { len }
        );
    }
    // Cutting into the ciphertext leaves a long-enough but invalid envelope.
    assert_eq!(
        envelope::open(&p.bob, &xk(&p.alice), b"t", &sealed[..sealed.len() - 1]).unwrap_err(),
        EnvelopeError::AuthenticationFailed
    );
    let mut v2 = sealed.clone();
    v2[0] = 2;
    assert_eq!(
        envelope::open(&p.bob, &xk(&p.alice), b"t", &v2)
            .unwrap_err()
            .code(),
        "EN-121"
    );
    let mut bad_id = sealed.clone();
    bad_id[1..33].fill(0);
    bad_id[1] = 1; // the small-order identity point
    assert_eq!(
        envelope::open(&p.bob, &xk(&p.alice), b"t", &bad_id).unwrap_err(),
        EnvelopeError::MalformedHeader
    );
    let mut zero_ephemeral = sealed.clone();
    zero_ephemeral[65..HEADER_LEN].fill(0);
    assert_eq!(
        envelope::open(&p.bob, &xk(&p.alice), b"t", &zero_ephemeral).unwrap_err(),
        EnvelopeError::LowOrderKey
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn seal_open_round_trip(plaintext in proptest::collection::vec(any::<u8>(), 0..4096), context in proptest::collection::vec(any::<u8>(), 0..64), seed: [u8; 32]) {
        let p = parties();
        let mut rng = rand_chacha::ChaCha20Rng::from_seed(seed);
        let sealed = envelope::seal(&mut rng, &p.alice, &xk(&p.bob), &context, &plaintext).unwrap();
        prop_assert_eq!(envelope::open(&p.bob, &xk(&p.alice), &context, &sealed).unwrap(), plaintext);
    }

    #[test]
    fn any_flipped_bit_is_refused(plaintext in proptest::collection::vec(any::<u8>(), 0..256), position: prop::sample::Index, bit in 0u8..8) {
        let p = parties();
        let mut sealed = envelope::seal(&mut rng(), &p.alice, &xk(&p.bob), b"ctx", &plaintext).unwrap();
        let i = position.index(sealed.len());
        sealed[i] ^= 1 << bit;
        prop_assert!(envelope::open(&p.bob, &xk(&p.alice), b"ctx", &sealed).is_err());
    }

    #[test]
    fn opening_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let p = parties();
        let _ = EnvelopeHeader::peek(&bytes);
        prop_assert!(envelope::open(&p.bob, &xk(&p.alice), b"ctx", &bytes).is_err());
    }
}
