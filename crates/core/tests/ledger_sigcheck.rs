//! The ledger's signature rule: one by one and in batches give the same answer, including for the
//! edge case that splits other verifiers (an `R` with a small-order component).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
use curve25519_dalek::scalar::{Scalar, clamp_integer};
use edgenet_core::ledger::Account;
use edgenet_core::ledger::sigcheck::{Item, verify, verify_batch};
use edgenet_core::{SecretKey, Signature};
use sha2::{Digest, Sha512};

/// A signature whose R is the honest nonce point plus a point of order 8: valid under the
/// cofactored rule, rejected by ed25519-dalek's cofactorless `verify_strict`.
fn mixed_signature(seed: &[u8; 32], message: &[u8]) -> [u8; 64] {
    let h: [u8; 64] = Sha512::digest(seed).into();
    let mut a_bytes = [0u8; 32];
    a_bytes.copy_from_slice(&h[..32]);
    let a = Scalar::from_bytes_mod_order(clamp_integer(a_bytes));
    let public = SecretKey::from_seed(seed).node_id();
    let r = Scalar::from_bytes_mod_order_wide(&Sha512::digest(message).into());
    let big_r = (r * ED25519_BASEPOINT_POINT + EIGHT_TORSION[1]).compress();
    let mut hk = Sha512::new();
    hk.update(big_r.0);
    hk.update(public.as_bytes());
    hk.update(message);
    let k = Scalar::from_bytes_mod_order_wide(&hk.finalize().into());
    let s = r + k * a;
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(&big_r.0);
    sig[32..].copy_from_slice(s.as_bytes());
    sig
}

#[test]
fn one_by_one_and_batch_agree_on_good_bad_and_mixed_signatures() {
    let keys: Vec<SecretKey> = (1..=8u8).map(|i| SecretKey::from_seed(&[i; 32])).collect();
    let accounts: Vec<Account> = keys.iter().map(|k| Account::of(&k.node_id())).collect();
    let messages: Vec<Vec<u8>> = (0..8u8).map(|i| vec![i; 40 + usize::from(i)]).collect();
    let good: Vec<[u8; 64]> = keys
        .iter()
        .zip(&messages)
        .map(|(k, m)| k.sign(m).to_bytes())
        .collect();
    let item = |i: usize, sig: &'static [u8; 64]| Item {
        signer: &accounts[i],
        message: &messages[i],
        signature: sig,
    };
    let leak = |s: [u8; 64]| -> &'static [u8; 64] { Box::leak(Box::new(s)) };

    let all_good: Vec<Item<'_>> = (0..8).map(|i| item(i, leak(good[i]))).collect();
    assert!(all_good.iter().all(|it| verify(it).is_ok()));
    assert!(verify_batch(&all_good).is_ok());

    // One altered signature: both say no.
    let mut bad = good[3];
    bad[40] ^= 1;
    let mut with_bad: Vec<Item<'_>> = (0..8).map(|i| item(i, leak(good[i]))).collect();
    with_bad[3] = item(3, leak(bad));
    assert!(verify(&with_bad[3]).is_err());
    assert!(verify_batch(&with_bad).is_err());

    // The mixed-order R: strict cofactorless verification rejects it, our rule accepts it, and
    // so does every batch that contains it, whatever else is in the batch.
    let mixed = mixed_signature(&[5; 32], &messages[4]);
    let strict = keys[4]
        .node_id()
        .verify(&messages[4], &Signature::from_bytes(&mixed));
    assert!(strict.is_err(), "dalek's strict check rejects the mixed R");
    let mixed_item = item(4, leak(mixed));
    assert!(verify(&mixed_item).is_ok());
    for size in 1..=8 {
        let mut batch: Vec<Item<'_>> = (0..size).map(|i| item(i, leak(good[i]))).collect();
        batch.push(item(4, leak(mixed)));
        assert!(verify_batch(&batch).is_ok(), "batch of {}", batch.len());
    }
    // Bytes that are not a canonical point or scalar are refused by both.
    let mut big_s = good[0];
    big_s[63] |= 0xf0;
    assert!(verify(&item(0, leak(big_s))).is_err());
    assert!(verify_batch(&[item(0, leak(big_s))]).is_err());
    // R encoded as y = p + 1 (a second encoding of y = 1): not canonical, refused.
    let mut non_canonical_r = good[0];
    non_canonical_r[0] = 0xee;
    non_canonical_r[1..31].fill(0xff);
    non_canonical_r[31] = 0x7f;
    assert!(verify(&item(0, leak(non_canonical_r))).is_err());
    assert!(verify_batch(&[item(0, leak(non_canonical_r))]).is_err());
}
