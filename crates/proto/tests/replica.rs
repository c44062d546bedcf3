//! The hub as one replica of a cluster (`hub/cluster/replica.rs`): the validator set of several relays,
//! entries merged from the cluster's log, and escrows settled only by the relay that took them,
//! or by the one that takes over when that relay is gone.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use std::collections::HashMap;

use edgenet_core::SecretKey;
use edgenet_core::ledger::{Account, Entry, EntryKind, Ledger, LedgerConfig, MintReason};
use edgenet_core::task::TaskId;
use edgenet_proto::hub::{Hub, HubConfig, Input, MemoryStore, Merged};

fn keys() -> (SecretKey, SecretKey, SecretKey) {
    (
        SecretKey::from_seed(&[1; 32]),
        SecretKey::from_seed(&[2; 32]),
        SecretKey::from_seed(&[3; 32]),
    )
}

fn two_relays(a: &SecretKey, b: &SecretKey) -> LedgerConfig {
    LedgerConfig::new(
        vec![Account::of(&a.node_id()), Account::of(&b.node_id())],
        1,
    )
    .unwrap()
}

/// Relay A's ledger: a mint to alice, then alice's escrow for a task.
fn written_at_a(a: &SecretKey, alice: &SecretKey, config: &LedgerConfig) -> Vec<Entry> {
    let mut at_a = Ledger::new(config.clone());
    let mint = at_a
        .append(
            a,
            EntryKind::Mint {
                to: Account::of(&alice.node_id()),
                amount: 5_000_000,
                reason: MintReason::Canary {
                    task: TaskId([9; 16]),
                },
            },
        )
        .unwrap();
    let escrow = at_a
        .append(
            alice,
            EntryKind::Escrow {
                task: TaskId([7; 16]),
                amount: 1_000_000,
            },
        )
        .unwrap();
    vec![mint, escrow]
}

#[test]
fn a_relay_joins_only_a_validator_set_that_holds_it() {
    let (a, b, c) = keys();
    let config = two_relays(&a, &b);
    assert!(
        Hub::new(c, HubConfig::default())
            .with_validators(config.clone())
            .is_err()
    );
    // Two of two: entries wait for the other's attestation (tests/attest.rs).
    let two_of_two = LedgerConfig::new(config.validators().to_vec(), 2).unwrap();
    assert!(
        Hub::new(b.clone(), HubConfig::default())
            .with_validators(two_of_two)
            .is_ok()
    );
    assert!(
        Hub::new(b, HubConfig::default())
            .with_validators(config)
            .is_ok()
    );
}

#[test]
fn entries_from_another_relay_merge_once_and_strangers_are_refused() {
    let (a, b, alice) = keys();
    let config = two_relays(&a, &b);
    let entries = written_at_a(&a, &alice, &config);
    let mut hub_b = Hub::new(b, HubConfig::default())
        .with_validators(config.clone())
        .unwrap();
    let mut decoder = hub_b.decoder();
    let merged = hub_b
        .handle(
            0,
            Input::Replicated {
                from: a.node_id(),
                entries: decoder.verify_entries(entries.clone()),
            },
        )
        .map(|h| h.merged().expect("merged"))
        .unwrap();
    assert_eq!(
        merged,
        Merged {
            new: 2,
            held: 0,
            refused: 0
        }
    );
    let alice_at_b = hub_b.ledger().account(&Account::of(&alice.node_id()));
    assert_eq!(
        (alice_at_b.balance, alice_at_b.escrowed),
        (4_000_000, 1_000_000)
    );
    // The log may deliver again (a restart between storing and recording the position).
    let again = hub_b
        .handle(
            0,
            Input::Replicated {
                from: a.node_id(),
                entries: decoder.verify_entries(entries),
            },
        )
        .map(|h| h.merged().expect("merged"))
        .unwrap();
    assert_eq!((again.new, again.held), (0, 2));
    // A mint by a key outside the validator set is refused, and changes nothing.
    let stranger = SecretKey::from_seed(&[4; 32]);
    let mut theirs = Ledger::single_validator(&stranger);
    let forged = theirs
        .append(
            &stranger,
            EntryKind::Mint {
                to: Account::of(&alice.node_id()),
                amount: 1_000_000_000,
                reason: MintReason::Canary {
                    task: TaskId([1; 16]),
                },
            },
        )
        .unwrap();
    let merged = hub_b
        .handle(
            0,
            Input::Replicated {
                from: a.node_id(),
                entries: decoder.verify_entries(vec![forged]),
            },
        )
        .map(|h| h.merged().expect("merged"))
        .unwrap();
    assert_eq!((merged.new, merged.refused), (0, 1));
    let alice_at_b = hub_b.ledger().account(&Account::of(&alice.node_id()));
    assert_eq!(alice_at_b.balance, 4_000_000);
}

#[test]
fn an_escrow_is_refunded_by_the_relay_that_took_it_or_by_the_one_that_took_over() {
    let (a, b, alice) = keys();
    let config = two_relays(&a, &b);
    let entries = written_at_a(&a, &alice, &config);
    let escrowed = |hub: &mut Hub| {
        hub.ledger()
            .account(&Account::of(&alice.node_id()))
            .escrowed
    };
    // At B, the escrow came through the log: A's to settle, so B leaves it open.
    let replicated: HashMap<_, _> = entries.iter().map(|e| (e.hash(), a.node_id())).collect();
    let mut hub_b = Hub::new(b, HubConfig::default())
        .with_validators(config.clone())
        .unwrap()
        .with_cluster_store(Box::new(MemoryStore), entries.clone(), &replicated)
        .unwrap();
    let _ = hub_b.handle(1_000_000, Input::Timeout);
    assert_eq!(escrowed(&mut hub_b), 1_000_000);
    // Another relay leaving takes nothing; A leaving makes the escrow B's, refunded after the
    // grace (no task for it turned up at B).
    assert_eq!(
        hub_b
            .handle(
                1_000_000,
                Input::RelayGone(SecretKey::from_seed(&[8; 32]).node_id())
            )
            .map_or(0, |h| h.count()),
        0
    );
    assert_eq!(
        hub_b
            .handle(1_000_000, Input::RelayGone(a.node_id()))
            .map_or(0, |h| h.count()),
        1
    );
    let grace = HubConfig::default().escrow_grace_ms;
    let _ = hub_b.handle(1_000_000 + grace - 1, Input::Timeout);
    assert_eq!(escrowed(&mut hub_b), 1_000_000);
    let _ = hub_b.handle(1_000_000 + grace, Input::Timeout);
    assert_eq!(escrowed(&mut hub_b), 0);
    // A second time, nothing is left to take.
    assert_eq!(
        hub_b
            .handle(2_000_000, Input::RelayGone(a.node_id()))
            .map_or(0, |h| h.count()),
        0
    );
    // At A, restarted with the escrow it took itself and no task for it: refunded at once.
    let mut hub_a = Hub::new(a, HubConfig::default())
        .with_validators(config)
        .unwrap()
        .with_cluster_store(Box::new(MemoryStore), entries, &HashMap::new())
        .unwrap();
    let _ = hub_a.handle(1_000_000, Input::Timeout);
    assert_eq!(escrowed(&mut hub_a), 0);
}

#[test]
fn owners_of_closed_escrows_are_forgotten_past_the_bound() {
    let (a, b, alice) = keys();
    let config = two_relays(&a, &b);
    let mut at_a = Ledger::new(config.clone());
    let mut entries = vec![
        at_a.append(
            &a,
            EntryKind::Mint {
                to: Account::of(&alice.node_id()),
                amount: 1_000_000_000,
                reason: MintReason::Canary {
                    task: TaskId([9; 16]),
                },
            },
        )
        .unwrap(),
    ];
    // 300 escrows, each refunded at once; then 10 left open.
    for i in 0..310u16 {
        let mut id = [0u8; 16];
        id[..2].copy_from_slice(&i.to_le_bytes());
        let task = TaskId(id);
        entries.push(
            at_a.append(
                &alice,
                EntryKind::Escrow {
                    task,
                    amount: 1_000,
                },
            )
            .unwrap(),
        );
        if i < 300 {
            entries.push(
                at_a.append(
                    &a,
                    EntryKind::Refund {
                        payer: Account::of(&alice.node_id()),
                        task,
                    },
                )
                .unwrap(),
            );
        }
    }
    let mut hub_b = Hub::new(b, HubConfig::default())
        .with_validators(config)
        .unwrap();
    let mut decoder = hub_b.decoder();
    for batch in entries.chunks(16) {
        hub_b
            .handle(
                0,
                Input::Replicated {
                    from: a.node_id(),
                    entries: decoder.verify_entries(batch.to_vec()),
                },
            )
            .map(|h| h.merged().expect("merged"))
            .unwrap();
        assert!(hub_b.escrows_owned_elsewhere() <= 2 * 10 + 64 + 16);
    }
    // The 10 open ones are still A's to settle, and B takes them over when A is gone.
    assert_eq!(
        hub_b
            .handle(0, Input::RelayGone(a.node_id()))
            .map_or(0, |h| h.count()),
        10
    );
}
