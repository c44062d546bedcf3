//! The ledger's rules, one attack or flow per test, as `docs/ledger.md` states them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use edgenet_core::ErrorCode;
use edgenet_core::SecretKey;
use edgenet_core::ledger::{
    Account, Entry, EntryBody, EntryHash, EntryKind, EntryStatus, Evidence, Inserted, Ledger,
    LedgerConfig, LedgerError, MintReason, VoidReason,
};
use edgenet_core::task::{TaskId, result_commitment, result_signing_message};

const CREDIT: u64 = 1_000_000;

fn key(n: u8) -> SecretKey {
    SecretKey::from_seed(&[n; 32])
}

fn acct(k: &SecretKey) -> Account {
    Account::of(&k.node_id())
}

/// A one-relay network: validator `v`, and `alice` who got 10 credits for canary work.
fn network() -> (Ledger, SecretKey, SecretKey) {
    let v = key(1);
    let alice = key(2);
    let mut ledger = Ledger::new(LedgerConfig::single(acct(&v)).unwrap());
    ledger
        .append(
            &v,
            EntryKind::Mint {
                to: acct(&alice),
                amount: 10 * CREDIT,
                reason: MintReason::Canary {
                    task: TaskId([1; 16]),
                },
            },
        )
        .unwrap();
    (ledger, v, alice)
}

#[test]
fn a_forged_signature_is_rejected_and_changes_nothing() {
    let (mut ledger, _v, alice) = network();
    let bob = key(3);
    let body = ledger
        .next_body(
            acct(&alice),
            EntryKind::Transfer {
                to: acct(&bob),
                amount: CREDIT,
            },
        )
        .unwrap();
    // Bob signs a transfer out of Alice's account.
    let forged = Entry::sign(body.clone(), &bob);
    let err = ledger.insert(forged).unwrap_err();
    assert_eq!(err, LedgerError::BadSignature);
    assert_eq!(err.code(), "EN-172");
    // An altered amount after Alice signed fails the same way.
    let mut altered = Entry::sign(body, &alice);
    altered.body.kind = EntryKind::Transfer {
        to: acct(&bob),
        amount: 9 * CREDIT,
    };
    assert_eq!(ledger.insert(altered), Err(LedgerError::BadSignature));
    assert_eq!(ledger.account(&acct(&alice)).balance, 10 * CREDIT);
    assert_eq!(ledger.len(), 1);
}

#[test]
fn only_validators_mint_and_with_enough_attestations() {
    let (mut ledger, _v, alice) = network();
    let mint = |to| EntryKind::Mint {
        to,
        amount: CREDIT,
        reason: MintReason::Uptime { seconds: 3600 },
    };
    let body = ledger.next_body(acct(&alice), mint(acct(&alice))).unwrap();
    let err = ledger.insert(Entry::sign(body, &alice)).unwrap_err();
    assert_eq!((err.code(), err), ("EN-174", LedgerError::NotValidator));

    // 2 of 3 validators: the author alone is not enough; one attestation is.
    let vs = [key(11), key(12), key(13)];
    let config = LedgerConfig::new(vs.iter().map(acct).collect(), 2).unwrap();
    let mut ledger = Ledger::new(config);
    let body = ledger.next_body(acct(&vs[0]), mint(acct(&alice))).unwrap();
    let mut entry = Entry::sign(body, &vs[0]);
    assert_eq!(
        ledger.insert(entry.clone()),
        Err(LedgerError::TooFewAttestations { have: 1, need: 2 })
    );
    entry.attest(&vs[0]); // the author again does not count twice
    assert_eq!(ledger.insert(entry.clone()), Err(LedgerError::NotValidator));
    entry.attestations.clear();
    entry.attest(&vs[2]);
    assert_eq!(ledger.insert(entry), Ok(Inserted::New));
    assert_eq!(ledger.account(&acct(&alice)).balance, CREDIT);
    assert_eq!(ledger.state().minted, CREDIT);
}

#[test]
fn a_replayed_entry_is_a_duplicate_and_pays_once() {
    let (mut ledger, _v, alice) = network();
    let bob = key(3);
    let pay = ledger
        .append(
            &alice,
            EntryKind::Transfer {
                to: acct(&bob),
                amount: 3 * CREDIT,
            },
        )
        .unwrap();
    for _ in 0..3 {
        assert_eq!(ledger.insert(pay.clone()), Ok(Inserted::Duplicate));
    }
    assert_eq!(ledger.account(&acct(&bob)).balance, 3 * CREDIT);
    assert_eq!(ledger.account(&acct(&alice)).balance, 7 * CREDIT);
}

#[test]
fn a_wrong_previous_hash_breaks_the_chain_from_there() {
    let (mut ledger, _v, alice) = network();
    let bob = key(3);
    let first = ledger
        .append(
            &alice,
            EntryKind::Transfer {
                to: acct(&bob),
                amount: CREDIT,
            },
        )
        .unwrap();
    let mut body = ledger
        .next_body(
            acct(&alice),
            EntryKind::Transfer {
                to: acct(&bob),
                amount: CREDIT,
            },
        )
        .unwrap();
    body.prev = EntryHash([7; 32]);
    let broken = Entry::sign(body, &alice);
    let broken_hash = broken.hash();
    assert_eq!(ledger.insert(broken), Ok(Inserted::New));
    let state = ledger.state();
    assert_eq!(state.status(&first.hash()), Some(EntryStatus::Applied));
    assert_eq!(state.status(&broken_hash), Some(EntryStatus::Broken));
    assert_eq!(state.account(&acct(&bob)).balance, CREDIT);
}

#[test]
fn an_overdraft_is_void_and_the_chain_goes_on() {
    let (mut ledger, _v, alice) = network();
    let bob = key(3);
    let too_much = ledger
        .append(
            &alice,
            EntryKind::Transfer {
                to: acct(&bob),
                amount: 11 * CREDIT,
            },
        )
        .unwrap();
    let fits = ledger
        .append(
            &alice,
            EntryKind::Transfer {
                to: acct(&bob),
                amount: 4 * CREDIT,
            },
        )
        .unwrap();
    let state = ledger.state();
    assert_eq!(
        state.status(&too_much.hash()),
        Some(EntryStatus::Void(VoidReason::Overdraft))
    );
    assert_eq!(VoidReason::Overdraft.error().code(), "EN-180");
    assert_eq!(state.status(&fits.hash()), Some(EntryStatus::Applied));
    assert_eq!(state.account(&acct(&alice)).balance, 6 * CREDIT);
    assert_eq!(state.account(&acct(&bob)).balance, 4 * CREDIT);
}

#[test]
fn an_equivocation_freezes_the_account_everywhere_and_can_be_slashed() {
    let (mut ledger, v, alice) = network();
    let (bob, carol) = (key(3), key(4));
    ledger
        .append(&alice, EntryKind::Stake { amount: 2 * CREDIT })
        .unwrap();
    // Alice signs two different entries at seq 1 and shows each to a different replica.
    let to = |k: &SecretKey| EntryKind::Transfer {
        to: acct(k),
        amount: 5 * CREDIT,
    };
    let b1 = ledger.next_body(acct(&alice), to(&bob)).unwrap();
    let b2 = EntryBody {
        kind: to(&carol),
        ..b1.clone()
    };
    let (e1, e2) = (Entry::sign(b1, &alice), Entry::sign(b2, &alice));
    let mut other = ledger.clone();
    ledger.insert(e1.clone()).unwrap();
    other.insert(e2.clone()).unwrap();
    assert_eq!(ledger.account(&acct(&bob)).balance, 5 * CREDIT);
    // Once both replicas hold both, both see the same frozen account and neither payment.
    ledger.insert(e2.clone()).unwrap();
    other.insert(e1.clone()).unwrap();
    for replica in [&mut ledger, &mut other] {
        let a = replica.account(&acct(&alice));
        assert!(a.frozen);
        assert_eq!(a.balance, 8 * CREDIT);
        assert_eq!(replica.account(&acct(&bob)).balance, 0);
        assert_eq!(
            replica.state().status(&e1.hash()),
            Some(EntryStatus::Frozen)
        );
        assert_eq!(
            replica.next_body(acct(&alice), EntryKind::Stake { amount: 1 }),
            Err(LedgerError::Frozen)
        );
    }
    assert_eq!(ledger.state(), other.state());
    // The two bodies are a proof a validator can slash with.
    let evidence = Evidence::Equivocation {
        first: e1.body.to_bytes(),
        first_signature: e1.signature.clone(),
        second: e2.body.to_bytes(),
        second_signature: e2.signature.clone(),
    };
    ledger
        .append(
            &v,
            EntryKind::Slash {
                subject: acct(&alice),
                amount: 5 * CREDIT,
                evidence,
            },
        )
        .unwrap();
    assert_eq!(ledger.account(&acct(&alice)).stake, 0);
    assert_eq!(ledger.state().burned, 2 * CREDIT);
}

#[test]
fn slash_evidence_must_be_signed_by_the_subject() {
    let (mut ledger, v, alice) = network();
    let task = TaskId([9; 16]);
    let commitment = result_commitment(&task, b"wrong answer");
    let by = |k: &SecretKey| {
        k.sign(&result_signing_message(&task, &commitment))
            .to_bytes()
            .to_vec()
    };
    let slash = |signature| EntryKind::Slash {
        subject: acct(&alice),
        amount: CREDIT,
        evidence: Evidence::FailedCanary {
            task,
            commitment,
            signature,
        },
    };
    let body = ledger.next_body(acct(&v), slash(by(&key(3)))).unwrap();
    assert_eq!(
        ledger.insert(Entry::sign(body, &v)),
        Err(LedgerError::BadSignature)
    );
    ledger.append(&v, slash(by(&alice))).unwrap();
}

#[test]
fn escrow_pays_verified_workers_and_refunds_the_rest() {
    let (mut ledger, v, alice) = network();
    let (w1, w2) = (key(3), key(4));
    let task = TaskId([5; 16]);
    ledger
        .append(
            &alice,
            EntryKind::Escrow {
                task,
                amount: 3 * CREDIT,
            },
        )
        .unwrap();
    assert_eq!(ledger.account(&acct(&alice)).balance, 7 * CREDIT);
    assert_eq!(ledger.account(&acct(&alice)).escrowed, 3 * CREDIT);
    // A second escrow for the same task is void; a payment beyond the escrow too.
    let again = ledger
        .append(
            &alice,
            EntryKind::Escrow {
                task,
                amount: CREDIT,
            },
        )
        .unwrap();
    let pay = |to: &SecretKey, amount| EntryKind::Payment {
        payer: acct(&alice),
        task,
        to: acct(to),
        amount,
    };
    ledger.append(&v, pay(&w1, CREDIT)).unwrap();
    ledger.append(&v, pay(&w2, CREDIT)).unwrap();
    let over = ledger.append(&v, pay(&w2, 2 * CREDIT)).unwrap();
    ledger
        .append(
            &v,
            EntryKind::Refund {
                payer: acct(&alice),
                task,
            },
        )
        .unwrap();
    let late = ledger.append(&v, pay(&w1, 1)).unwrap();
    let state = ledger.state();
    let void = |r| Some(EntryStatus::Void(r));
    assert_eq!(
        state.status(&again.hash()),
        void(VoidReason::DuplicateEscrow)
    );
    assert_eq!(state.status(&over.hash()), void(VoidReason::NoEscrow));
    assert_eq!(state.status(&late.hash()), void(VoidReason::NoEscrow));
    let a = state.account(&acct(&alice));
    assert_eq!(
        (a.balance, a.escrowed, a.spent),
        (8 * CREDIT, 0, 2 * CREDIT)
    );
    assert_eq!(state.account(&acct(&w1)).earned, CREDIT);
    assert_eq!(state.escrow(&acct(&alice), &task), None);
}

#[test]
fn stake_unstake_and_reputation_last_writer_wins() {
    let (mut ledger, v, alice) = network();
    ledger
        .append(&alice, EntryKind::Stake { amount: 4 * CREDIT })
        .unwrap();
    let too_much = ledger
        .append(&alice, EntryKind::Unstake { amount: 5 * CREDIT })
        .unwrap();
    ledger
        .append(&alice, EntryKind::Unstake { amount: CREDIT })
        .unwrap();
    for score in [9_000, 4_000] {
        ledger
            .append(
                &v,
                EntryKind::Reputation {
                    subject: acct(&alice),
                    score,
                },
            )
            .unwrap();
    }
    let a = ledger.account(&acct(&alice));
    assert_eq!((a.balance, a.stake), (7 * CREDIT, 3 * CREDIT));
    assert_eq!(a.reputation, Some(4_000));
    assert_eq!(
        ledger.state().status(&too_much.hash()),
        Some(EntryStatus::Void(VoidReason::Overdraft))
    );
}

#[test]
fn entries_arriving_out_of_order_wait_then_apply() {
    let (mut source, v, alice) = network();
    let bob = key(3);
    let mint = source.chain_from(&acct(&v), 0).next().unwrap().clone();
    let entries: Vec<Entry> = (0..3)
        .map(|_| {
            source
                .append(
                    &alice,
                    EntryKind::Transfer {
                        to: acct(&bob),
                        amount: CREDIT,
                    },
                )
                .unwrap()
        })
        .collect();
    let mut replica = Ledger::new(source.config().clone());
    replica.insert(mint).unwrap();
    replica.insert(entries[2].clone()).unwrap();
    assert_eq!(
        replica.state().status(&entries[2].hash()),
        Some(EntryStatus::Pending)
    );
    replica.insert(entries[1].clone()).unwrap();
    replica.insert(entries[0].clone()).unwrap();
    assert_eq!(replica.account(&acct(&bob)).balance, 3 * CREDIT);
    assert_eq!(replica.state(), source.state());
}

#[test]
fn bad_bytes_get_codes_not_panics() {
    assert_eq!(Entry::from_bytes(&[]).unwrap_err().code(), "EN-170");
    assert_eq!(
        Entry::from_bytes(&vec![0; 5000]).unwrap_err().code(),
        "EN-171"
    );
    let (mut ledger, _v, alice) = network();
    let e = ledger
        .append(&alice, EntryKind::Stake { amount: CREDIT })
        .unwrap();
    let bytes = e.to_bytes();
    assert_eq!(Entry::from_bytes(&bytes).unwrap(), e);
    for cut in 0..bytes.len() {
        assert!(Entry::from_bytes(&bytes[..cut]).is_err());
    }
    let zero = EntryBody {
        kind: EntryKind::Stake { amount: 0 },
        ..e.body.clone()
    };
    assert_eq!(
        Entry::sign(zero, &alice)
            .verify(ledger.config())
            .unwrap_err()
            .code(),
        "EN-177"
    );
}

mod mutated_bytes {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any change to a signed entry's bytes either fails to decode, or fails to verify, or
        /// decodes to the very same entry; nothing panics.
        #[test]
        fn never_verify_unless_unchanged(at in any::<prop::sample::Index>(), xor in 1u8..=255, cut in any::<bool>()) {
            let (mut ledger, v, alice) = network();
            let entry = ledger
                .append(&v, EntryKind::Reputation { subject: acct(&alice), score: 5_000 })
                .unwrap();
            let mut bytes = entry.to_bytes();
            let i = at.index(bytes.len());
            if cut {
                bytes.truncate(i);
            } else {
                bytes[i] ^= xor;
            }
            if let Ok(decoded) = Entry::from_bytes(&bytes) {
                let verified = decoded.verify(ledger.config()).is_ok();
                prop_assert!(!verified || decoded == entry);
                let _ = ledger.insert(decoded);
                let _ = ledger.state();
            }
        }
    }
}
