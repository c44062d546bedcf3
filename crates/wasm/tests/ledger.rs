//! The ledger in the browser: the fixed-point early-adopter curve computes the same 10,000 values
//! as natively, and an entry signed natively verifies and evaluates the same here.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use edgenet_core::SecretKey;
use edgenet_core::ledger::curve::{SAMPLE_FINGERPRINT, multiplier_ppm, sample_fingerprint};
use edgenet_core::ledger::{Account, EntryKind, Ledger, LedgerConfig, MintReason};
use edgenet_core::task::TaskId;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn curve_matches_native_on_ten_thousand_inputs() {
    assert_eq!(
        sample_fingerprint(),
        SAMPLE_FINGERPRINT,
        "wasm32 computed {:#x}",
        sample_fingerprint()
    );
    assert_eq!(multiplier_ppm(3_600_000_000), 4_310_914);
}

#[wasm_bindgen_test]
fn a_ledger_evaluates_in_the_browser() {
    let v = SecretKey::from_seed(&[1; 32]);
    let alice = SecretKey::from_seed(&[2; 32]);
    let alice_account = Account::of(&alice.node_id());
    let mut ledger = Ledger::new(LedgerConfig::single(Account::of(&v.node_id())).unwrap());
    ledger
        .append(
            &v,
            EntryKind::Mint {
                to: alice_account,
                amount: 5_000_000,
                reason: MintReason::Canary {
                    task: TaskId([3; 16]),
                },
            },
        )
        .unwrap();
    ledger
        .append(&alice, EntryKind::Stake { amount: 2_000_000 })
        .unwrap();
    let a = ledger.account(&alice_account);
    assert_eq!((a.balance, a.stake), (3_000_000, 2_000_000));
}
