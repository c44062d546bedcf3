//! k of n validators (`hub/cluster/attest.rs`), three relays in memory with a threshold of 2: an entry
//! a relay writes takes effect only once another relay attested it; a relay that attests
//! nothing cannot stop it while one other does, and every attester refuses what its own replica
//! does not allow.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use edgenet_core::ErrorCode;
use edgenet_core::SecretKey;
use edgenet_core::ledger::{
    Account, Entry, EntryBody, EntryKind, Ledger, LedgerConfig, MintReason,
};
use edgenet_core::task::TaskId;
use edgenet_proto::hub::{ATTEST_RETRY_MS, Hub, HubConfig, Input, MAX_AWAITING, Output};

fn key(i: u8) -> SecretKey {
    SecretKey::from_seed(&[0xb0 + i; 32])
}

/// Relays 0, 1 and 2, two signatures per validator entry; relay 2 attests nothing.
fn cluster() -> Vec<Hub> {
    let validators = (0..3).map(|i| Account::of(&key(i).node_id())).collect();
    let config = LedgerConfig::new(validators, 2).unwrap();
    (0..3)
        .map(|i| {
            let hub_config = HubConfig {
                attests: i != 2,
                ..HubConfig::default()
            };
            Hub::new(key(i), hub_config)
                .with_validators(config.clone())
                .unwrap()
        })
        .collect()
}

fn alice() -> Account {
    Account::of(&SecretKey::from_seed(&[0xa1; 32]).node_id())
}

fn mint(amount: u64, task: u8) -> EntryKind {
    EntryKind::Mint {
        to: alice(),
        amount,
        reason: MintReason::Canary {
            task: TaskId([task; 16]),
        },
    }
}

/// What the relay asked the others to attest, in order.
fn requests(hub: &mut Hub) -> Vec<Entry> {
    let mut out = Vec::new();
    while let Some(o) = hub.poll_output() {
        if let Output::Attest(entry) = o {
            out.push(*entry);
        }
    }
    out
}

fn balance(hub: &mut Hub) -> u64 {
    hub.ledger().account(&alice()).balance
}

#[test]
fn an_entry_takes_effect_once_another_relay_attests_it() {
    let mut r = cluster();
    assert!(r[0].write_ledger(mint(1_000_000, 1)).unwrap().is_none());
    // Not in any replica yet: no credit exists.
    assert_eq!(balance(&mut r[0]), 0);
    let asked = requests(&mut r[0]);
    assert_eq!(asked.len(), 1);
    let entry = &asked[0];
    // Relay 2 refuses; relay 1 attests.
    let refused = r[2]
        .handle(0, Input::AttestRequest(entry))
        .map(|h| h.attestation().expect("an attestation"))
        .unwrap_err();
    assert_eq!(refused.code(), "EN-209");
    assert!(refused.to_string().contains("attests nothing"), "{refused}");
    let attestation = r[1]
        .handle(0, Input::AttestRequest(entry))
        .map(|h| h.attestation().expect("an attestation"))
        .unwrap();
    assert!(
        r[0].handle(
            0,
            Input::Attestation {
                hash: entry.hash(),
                attestation: attestation.clone()
            }
        )
        .map(|h| h.applied())
        .unwrap()
    );
    assert_eq!(balance(&mut r[0]), 1_000_000);
    let stats = r[0].attest_stats();
    assert_eq!((stats.awaiting, stats.applied), (0, 1));
    // A repeated answer changes nothing.
    assert!(
        !r[0]
            .handle(
                0,
                Input::Attestation {
                    hash: entry.hash(),
                    attestation: attestation.clone()
                }
            )
            .map(|h| h.applied())
            .unwrap()
    );
    assert_eq!(balance(&mut r[0]), 1_000_000);
    // The entry as the log carries it (two signatures) verifies at the other relays; with one
    // signature it does not.
    let mut full = entry.clone();
    full.attestations.push(attestation);
    for (i, e, new) in [(2, entry.clone(), 0), (2, full.clone(), 1), (1, full, 1)] {
        let mut decoder = r[i].decoder();
        let merged = r[i]
            .handle(
                0,
                Input::Replicated {
                    from: key(0).node_id(),
                    entries: decoder.verify_entries(vec![e]),
                },
            )
            .map(|h| h.merged().expect("merged"))
            .unwrap();
        assert_eq!(merged.new, new);
    }
    for hub in &mut r {
        assert_eq!(balance(hub), 1_000_000);
        assert_eq!(hub.ledger().state().minted, 1_000_000);
    }
}

#[test]
fn without_attestations_nothing_takes_effect_and_the_relay_asks_again() {
    let mut r = cluster();
    r[0].write_ledger(mint(1_000_000, 1)).unwrap();
    r[0].write_ledger(mint(2_000_000, 2)).unwrap();
    let asked = requests(&mut r[0]);
    assert_eq!(asked.len(), 2);
    // Chained: the second is built on the first, though neither is applied.
    assert_eq!(asked[1].body.seq, asked[0].body.seq + 1);
    assert_eq!(asked[1].body.prev, asked[0].hash());
    let _ = r[0].handle(1_000, Input::Timeout);
    let at = r[0].poll_timeout().unwrap();
    assert!(at <= 1_000 + ATTEST_RETRY_MS);
    let _ = r[0].handle(at, Input::Timeout);
    assert_eq!(requests(&mut r[0]).len(), 2, "asked again");
    assert_eq!(balance(&mut r[0]), 0);
    // The second attested first waits for the first: effects follow the chain.
    let second = r[1]
        .handle(0, Input::AttestRequest(&asked[1]))
        .map(|h| h.attestation().expect("an attestation"))
        .unwrap();
    assert!(
        !r[0]
            .handle(
                0,
                Input::Attestation {
                    hash: asked[1].hash(),
                    attestation: second
                }
            )
            .map(|h| h.applied())
            .unwrap()
    );
    assert_eq!(balance(&mut r[0]), 0);
    let first = r[1]
        .handle(0, Input::AttestRequest(&asked[0]))
        .map(|h| h.attestation().expect("an attestation"))
        .unwrap();
    assert!(
        r[0].handle(
            0,
            Input::Attestation {
                hash: asked[0].hash(),
                attestation: first
            }
        )
        .map(|h| h.applied())
        .unwrap()
    );
    assert_eq!(balance(&mut r[0]), 3_000_000);
    assert_eq!(r[0].ledger().state().minted, 3_000_000);
}

#[test]
fn an_attester_refuses_what_its_replica_does_not_allow() {
    let mut r = cluster();
    r[0].write_ledger(mint(1_000_000, 1)).unwrap();
    let entry = requests(&mut r[0]).remove(0);
    r[1].handle(0, Input::AttestRequest(&entry))
        .map(|h| h.attestation().expect("an attestation"))
        .unwrap();
    let code = |hub: &mut Hub, e: &Entry| {
        hub.handle(0, Input::AttestRequest(e))
            .map(|h| h.attestation().expect("an attestation"))
            .unwrap_err()
            .to_string()
    };
    // Another body at the same place of relay 0's chain: an equivocation it will not sign.
    let twin = Entry::sign(
        EntryBody {
            kind: mint(5, 9),
            ..entry.body.clone()
        },
        &key(0),
    );
    assert!(code(&mut r[1], &twin).contains("another entry holds place 0"));
    // A payment or a refund from an escrow this replica does not hold.
    let me = Account::of(&key(0).node_id());
    // Later places of relay 0's chain (an attester does not ask for the entries between).
    let sign = |seq: u64, kind: EntryKind| {
        let body = EntryBody {
            author: me,
            seq,
            prev: entry.hash(),
            clock: seq + 1,
            kind,
        };
        Entry::sign(body, &key(0))
    };
    let payment = sign(
        1,
        EntryKind::Payment {
            payer: alice(),
            task: TaskId([3; 16]),
            to: me,
            amount: 10,
        },
    );
    assert!(code(&mut r[1], &payment).contains("0 escrowed"));
    let refund = sign(
        2,
        EntryKind::Refund {
            payer: alice(),
            task: TaskId([3; 16]),
        },
    );
    assert!(code(&mut r[1], &refund).contains("no open escrow"));
    // A canary mint above ten times the reward (the multiplier's ceiling).
    let big = sign(3, mint(10 * HubConfig::default().canary_reward + 1, 4));
    assert!(code(&mut r[1], &big).contains("at most"));
    // Its own entries, and a stranger's.
    r[1].write_ledger(mint(1, 5)).unwrap();
    let own = requests(&mut r[1]).remove(0);
    assert!(code(&mut r[1], &own).contains("own"));
    let stranger = SecretKey::from_seed(&[0x55; 32]);
    let mut theirs = Ledger::single_validator(&stranger);
    let forged = theirs.append(&stranger, mint(1, 6)).unwrap();
    assert!(
        r[1].handle(0, Input::AttestRequest(&forged))
            .map(|h| h.attestation().expect("an attestation"))
            .is_err()
    );
    assert_eq!(r[1].attest_stats().refused, 6);
    // An attestation that does not verify, or by the author itself, is refused.
    let mut wrong = r[1]
        .handle(0, Input::AttestRequest(&entry))
        .map(|h| h.attestation().expect("an attestation"))
        .unwrap();
    wrong.signature[0] ^= 1;
    assert!(
        r[0].handle(
            0,
            Input::Attestation {
                hash: entry.hash(),
                attestation: wrong
            }
        )
        .map(|h| h.applied())
        .is_err()
    );
    let mut by_author = r[1]
        .handle(0, Input::AttestRequest(&entry))
        .map(|h| h.attestation().expect("an attestation"))
        .unwrap();
    by_author.validator = me;
    assert!(
        r[0].handle(
            0,
            Input::Attestation {
                hash: entry.hash(),
                attestation: by_author
            }
        )
        .map(|h| h.applied())
        .is_err()
    );
    assert_eq!(balance(&mut r[0]), 0);
}

#[test]
fn the_entries_waiting_for_attestations_are_bounded() {
    let mut r = cluster();
    for i in 0..MAX_AWAITING {
        r[0].write_ledger(mint(1, (i % 250) as u8)).unwrap();
    }
    let err = r[0].write_ledger(mint(1, 1)).unwrap_err();
    assert_eq!(err.code(), "EN-219");
    assert_eq!(r[0].attest_stats().awaiting, MAX_AWAITING);
    // Attested, they drain, and writing works again.
    let asked = requests(&mut r[0]);
    for entry in &asked {
        let a = r[1]
            .handle(0, Input::AttestRequest(entry))
            .map(|h| h.attestation().expect("an attestation"))
            .unwrap();
        r[0].handle(
            0,
            Input::Attestation {
                hash: entry.hash(),
                attestation: a,
            },
        )
        .map(|h| h.applied())
        .unwrap();
    }
    assert_eq!(r[0].attest_stats().awaiting, 0);
    assert_eq!(balance(&mut r[0]), MAX_AWAITING as u64);
    assert!(r[0].write_ledger(mint(1, 1)).is_ok());
    assert_eq!(r[0].ledger().state().minted, MAX_AWAITING as u64);
}

#[test]
fn a_restarted_relay_asks_again_for_the_entries_it_had_waiting() {
    let mut r = cluster();
    r[0].write_ledger(mint(1_000_000, 1)).unwrap();
    r[0].write_ledger(mint(2_000_000, 2)).unwrap();
    let kept = requests(&mut r[0]);
    // The same relay, started again with what its store kept (a stranger's entry, and one that
    // does not continue the chain, are dropped).
    let mut again = cluster().remove(0);
    let stranger = SecretKey::from_seed(&[0x55; 32]);
    let foreign = Ledger::single_validator(&stranger)
        .append(&stranger, mint(1, 7))
        .unwrap();
    let mut gap = kept[1].clone();
    gap.body.seq += 5;
    let _ = again.handle(
        0,
        Input::AwaitingAttestation(vec![kept[0].clone(), foreign, kept[1].clone(), gap]),
    );
    assert_eq!(again.attest_stats().awaiting, 2);
    let asked = requests(&mut again);
    assert_eq!(asked, kept, "the same entries, asked for again");
    for entry in &asked {
        let a = r[1]
            .handle(0, Input::AttestRequest(entry))
            .map(|h| h.attestation().expect("an attestation"))
            .unwrap();
        again
            .handle(
                0,
                Input::Attestation {
                    hash: entry.hash(),
                    attestation: a,
                },
            )
            .map(|h| h.applied())
            .unwrap();
    }
    assert_eq!(balance(&mut again), 3_000_000);
}

#[test]
fn an_attester_remembers_the_last_places_it_signed_and_keeps_attesting() {
    use edgenet_proto::hub::MAX_ATTESTED_REMEMBERED;
    let mut r = cluster();
    let me = Account::of(&key(0).node_id());
    let at = |seq: u64, task: u8| {
        let body = EntryBody {
            author: me,
            seq,
            prev: edgenet_core::ledger::EntryHash([u8::from(seq != 0); 32]),
            clock: seq + 1,
            kind: mint(1, task),
        };
        Entry::sign(body, &key(0))
    };
    let places = MAX_ATTESTED_REMEMBERED as u64 + 1;
    for seq in 0..places {
        r[1].handle(0, Input::AttestRequest(&at(seq, 1)))
            .map(|h| h.attestation().expect("an attestation"))
            .unwrap();
    }
    // The newest places are held against a second body; the oldest one is forgotten.
    assert!(
        r[1].handle(0, Input::AttestRequest(&at(places - 1, 2)))
            .map(|h| h.attestation().expect("an attestation"))
            .is_err()
    );
    assert!(
        r[1].handle(0, Input::AttestRequest(&at(0, 2)))
            .map(|h| h.attestation().expect("an attestation"))
            .is_ok()
    );
    assert_eq!(r[1].attest_stats().given, places + 1);
}
