//! Key export/import: round trips, passphrases, and refusal of bad files.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use edgenet_core::keyfile::{self, KdfCost, KeyFileError};
use edgenet_core::{ErrorCode, SecretKey};
use proptest::prelude::*;
use rand_chacha::rand_core::SeedableRng;

const CHEAP: KdfCost = KdfCost {
    memory_kib: 64,
    passes: 1,
    lanes: 1,
};

fn rng() -> rand_chacha::ChaCha20Rng {
    rand_chacha::ChaCha20Rng::from_seed([3; 32])
}

#[test]
fn plain_round_trip() {
    let key = SecretKey::from_seed(&[9; 32]);
    let text = keyfile::export_plain(&key);
    assert!(
        text.starts_with("-----BEGIN EDGENET SECRET KEY-----\n")
            && text.ends_with("-----END EDGENET SECRET KEY-----\n")
    );
    assert_eq!(
        keyfile::import(&text, None).unwrap().node_id(),
        key.node_id()
    );
    assert_eq!(
        keyfile::import(&text, Some(b"ignored")).unwrap().node_id(),
        key.node_id()
    );
    assert_eq!(keyfile::peek_node_id(&text).unwrap(), key.node_id());
}

#[test]
fn encrypted_round_trip_with_default_cost() {
    let key = SecretKey::from_seed(&[8; 32]);
    let text =
        keyfile::export_encrypted(&mut rng(), &key, "pässwörd".as_bytes(), KdfCost::default())
            .unwrap();
    assert_eq!(
        keyfile::import(&text, Some("pässwörd".as_bytes()))
            .unwrap()
            .node_id(),
        key.node_id()
    );
    assert_eq!(
        keyfile::peek_node_id(&text).unwrap(),
        key.node_id(),
        "node id readable without passphrase"
    );
}

#[test]
fn encrypted_errors() {
    let key = SecretKey::from_seed(&[8; 32]);
    let text = keyfile::export_encrypted(&mut rng(), &key, b"right", CHEAP).unwrap();
    assert_eq!(
        keyfile::import(&text, None).unwrap_err(),
        KeyFileError::PassphraseRequired
    );
    let wrong = keyfile::import(&text, Some(b"wrong")).unwrap_err();
    assert_eq!(wrong, KeyFileError::WrongPassphrase);
    assert_eq!(wrong.code(), "EN-114");
}

fn body_of(text: &str) -> Vec<u8> {
    let b64: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    data_encoding::BASE64.decode(b64.as_bytes()).unwrap()
}

fn rearmor(body: &[u8]) -> String {
    format!(
        "-----BEGIN EDGENET SECRET KEY-----\n{}\n-----END EDGENET SECRET KEY-----\n",
        data_encoding::BASE64.encode(body)
    )
}

#[test]
fn corrupted_and_hostile_files_are_refused() {
    let key = SecretKey::from_seed(&[4; 32]);
    let plain = body_of(&keyfile::export_plain(&key));
    assert_eq!(
        keyfile::import(&rearmor(&plain), None).unwrap().node_id(),
        key.node_id(),
        "helpers mirror the format"
    );

    let mut flipped_seed = plain.clone();
    *flipped_seed.last_mut().unwrap() ^= 1;
    assert_eq!(
        keyfile::import(&rearmor(&flipped_seed), None).unwrap_err(),
        KeyFileError::KeyMismatch
    );

    let mut v9 = plain.clone();
    v9[4] = 9;
    assert_eq!(
        keyfile::import(&rearmor(&v9), None).unwrap_err().code(),
        "EN-111"
    );

    let mut kind9 = plain.clone();
    kind9[5] = 9;
    assert_eq!(
        keyfile::import(&rearmor(&kind9), None).unwrap_err().code(),
        "EN-112"
    );
    assert_eq!(
        keyfile::import(&rearmor(&plain[..plain.len() - 1]), None)
            .unwrap_err()
            .code(),
        "EN-112"
    );

    let enc = body_of(&keyfile::export_encrypted(&mut rng(), &key, b"pw", CHEAP).unwrap());
    let mut greedy = enc.clone();
    greedy[38..42].copy_from_slice(&u32::MAX.to_le_bytes()); // 4 TiB of Argon2 memory
    assert!(matches!(
        keyfile::import(&rearmor(&greedy), Some(b"pw")).unwrap_err(),
        KeyFileError::UnreasonableKdfCost(_)
    ));
    let mut salted = enc.clone();
    salted[50] ^= 1; // the salt is authenticated too, via the derived key
    assert_eq!(
        keyfile::import(&rearmor(&salted), Some(b"pw")).unwrap_err(),
        KeyFileError::WrongPassphrase
    );

    for junk in [
        "",
        "hello",
        "-----BEGIN EDGENET SECRET KEY-----\n!!!\n-----END EDGENET SECRET KEY-----",
    ] {
        assert_eq!(
            keyfile::import(junk, None).unwrap_err().code(),
            "EN-110",
            "{junk:?}"
        );
    }
    assert!(
        keyfile::export_encrypted(
            &mut rng(),
            &key,
            b"pw",
            KdfCost {
                memory_kib: 1,
                passes: 0,
                lanes: 1
            }
        )
        .is_err()
    );
}

proptest! {
    #[test]
    fn importing_arbitrary_text_never_panics(text in "\\PC{0,300}") {
        let _ = keyfile::import(&text, Some(b"pw"));
        let _ = keyfile::peek_node_id(&text);
    }

    #[test]
    fn importing_arbitrary_bodies_never_panics(body in proptest::collection::vec(any::<u8>(), 0..140)) {
        let mut body = body;
        if body.len() >= 5 { body[..4].copy_from_slice(b"ENSK"); body[4] = 1; }
        let _ = keyfile::import(&rearmor(&body), Some(b"pw"));
    }
}
