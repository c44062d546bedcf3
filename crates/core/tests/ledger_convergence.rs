//! Convergence: N replicas, random actions by each account's owner, random delivery (reordered,
//! duplicated, lost), some equivocations; then a final round of sync between every pair. Every
//! replica must end with the same entries and the same evaluated state, equal to a fresh
//! evaluation of the union, and a second round of sync must find nothing left to send.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use edgenet_core::SecretKey;
use edgenet_core::ledger::sync::SyncMessage;
use edgenet_core::ledger::{
    Account, Entry, EntryBody, EntryKind, Evidence, Ledger, LedgerConfig, MintReason,
};
use edgenet_core::task::TaskId;
use proptest::prelude::*;
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;

const REPLICAS: usize = 4;
const USERS: usize = 5;

fn acct(k: &SecretKey) -> Account {
    Account::of(&k.node_id())
}

/// One pass of heads → wants → entries from `a` to `b` and back; returns the entries sent.
fn sync_pair(a: &mut Ledger, b: &mut Ledger) -> usize {
    // Through the wire encoding, as a transport would carry them.
    let wire = |m: SyncMessage| SyncMessage::from_bytes(&m.to_bytes()).unwrap();
    let SyncMessage::Heads(heads) = wire(a.generate_heads()) else {
        unreachable!()
    };
    let (push, wants) = b.receive_heads(&heads);
    let sent = push.len();
    let SyncMessage::Entries(push) = wire(SyncMessage::Entries(push)) else {
        unreachable!()
    };
    let got = a.receive_entries(push);
    assert_eq!(got.rejected, 0, "{:?}", got.first_error);
    let SyncMessage::Wants(wants) = wire(SyncMessage::Wants(wants)) else {
        unreachable!()
    };
    let answer = a.receive_wants(&wants);
    let sent = sent + answer.len();
    let got = b.receive_entries(answer);
    assert_eq!(got.rejected, 0, "{:?}", got.first_error);
    sent
}

fn run(seed: u64, steps: usize) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let validator = SecretKey::from_seed(&[200; 32]);
    let users: Vec<SecretKey> = (0..USERS)
        .map(|i| SecretKey::from_seed(&[i as u8 + 1; 32]))
        .collect();
    let config = LedgerConfig::single(acct(&validator)).unwrap();
    let mut replicas: Vec<Ledger> = (0..REPLICAS).map(|_| Ledger::new(config.clone())).collect();
    // Each key writes from one replica: the validator from 0, user i from i % REPLICAS.
    let home = |user: usize| user % REPLICAS;
    let mut in_flight: Vec<(usize, Entry)> = Vec::new();
    let mut tasks: Vec<(usize, TaskId)> = Vec::new();

    for step in 0..steps {
        // Deliver some of what is in flight, in random order; some copies are lost, some repeat.
        for _ in 0..rng.random_range(0..4usize) {
            if in_flight.is_empty() {
                break;
            }
            let i = rng.random_range(0..in_flight.len());
            let (to, entry) = if rng.random_bool(0.3) {
                in_flight[i].clone()
            } else {
                in_flight.swap_remove(i)
            };
            if rng.random_bool(0.9) {
                replicas[to].insert(entry).unwrap();
            }
        }
        let u = rng.random_range(0..USERS);
        let other = acct(&users[(u + 1 + rng.random_range(0..USERS - 1)) % USERS]);
        let amount = rng.random_range(1..5_000_000u64);
        let (writer, r, kind) = match rng.random_range(0..10u8) {
            0 | 1 => (
                &validator,
                0,
                EntryKind::Mint {
                    to: acct(&users[u]),
                    amount,
                    reason: MintReason::Canary {
                        task: TaskId([step as u8; 16]),
                    },
                },
            ),
            2 | 3 => (
                &users[u],
                home(u),
                EntryKind::Transfer { to: other, amount },
            ),
            4 => {
                let task = TaskId(rng.random());
                tasks.push((u, task));
                (&users[u], home(u), EntryKind::Escrow { task, amount })
            }
            5 if !tasks.is_empty() => {
                let (payer, task) = tasks[rng.random_range(0..tasks.len())];
                let kind = if rng.random_bool(0.7) {
                    EntryKind::Payment {
                        payer: acct(&users[payer]),
                        task,
                        to: other,
                        amount: amount / 4,
                    }
                } else {
                    EntryKind::Refund {
                        payer: acct(&users[payer]),
                        task,
                    }
                };
                (&validator, 0, kind)
            }
            6 => (&users[u], home(u), EntryKind::Stake { amount }),
            7 => (&users[u], home(u), EntryKind::Unstake { amount }),
            8 => (
                &validator,
                0,
                EntryKind::Reputation {
                    subject: acct(&users[u]),
                    score: rng.random_range(0..=10_000),
                },
            ),
            _ => (
                &validator,
                0,
                EntryKind::Slash {
                    subject: acct(&users[u]),
                    amount,
                    evidence: Evidence::Outvoted {
                        task: TaskId([7; 16]),
                        commitment: [1; 32],
                        signature: users[u]
                            .sign(&edgenet_core::task::result_signing_message(
                                &TaskId([7; 16]),
                                &[1; 32],
                            ))
                            .to_bytes()
                            .to_vec(),
                    },
                },
            ),
        };
        let Ok(body) = replicas[r].next_body(acct(writer), kind) else {
            continue; // a frozen account writes nothing more
        };
        let mut made = vec![Entry::sign(body.clone(), writer)];
        // Now and then a user equivocates: a second body at the same seq, shown elsewhere.
        if !std::ptr::eq(writer, &validator) && rng.random_bool(0.05) {
            let twin = EntryBody {
                kind: EntryKind::Stake { amount: 1 },
                ..body
            };
            made.push(Entry::sign(twin, writer));
        }
        replicas[r].insert(made[0].clone()).unwrap();
        for (n, entry) in made.into_iter().enumerate() {
            for to in 0..REPLICAS {
                if to != r || n > 0 {
                    in_flight.push((to, entry.clone()));
                }
            }
        }
    }

    // Final sync: every ordered pair, twice (the second pass must find nothing left to send).
    for pass in 0..2 {
        for a in 0..REPLICAS {
            for b in 0..REPLICAS {
                if a != b {
                    let (x, y) = if a < b {
                        let (l, r) = replicas.split_at_mut(b);
                        (&mut l[a], &mut r[0])
                    } else {
                        let (l, r) = replicas.split_at_mut(a);
                        (&mut r[0], &mut l[b])
                    };
                    let sent = sync_pair(x, y);
                    if pass == 1 {
                        assert_eq!(sent, 0, "already in sync, yet {a} -> {b} sent {sent}");
                    }
                }
            }
        }
    }
    let mut fresh = Ledger::new(config);
    let mut all: Vec<Entry> = replicas[0].entries().cloned().collect();
    all.sort_by_key(Entry::hash);
    for e in all {
        fresh.insert(e).unwrap();
    }
    let want = fresh.state().clone();
    for (i, r) in replicas.iter_mut().enumerate() {
        let mut mine: Vec<_> = r.entries().map(Entry::hash).collect();
        let mut all: Vec<_> = fresh.entries().map(Entry::hash).collect();
        mine.sort();
        all.sort();
        if mine != all {
            let extra: Vec<_> = r
                .entries()
                .filter(|e| !all.contains(&e.hash()))
                .map(|e| (e.body.author, e.body.seq))
                .collect();
            panic!(
                "replica {i}: {} entries, union {}; extra {extra:?}",
                mine.len(),
                all.len()
            );
        }
        assert!(r.state() == &want, "replica {i} evaluates differently");
    }
    // The books balance: every credit is minted, held, staked, escrowed or burned.
    let held: u64 = want
        .accounts()
        .map(|(_, a)| a.balance + a.stake + a.escrowed)
        .sum();
    assert_eq!(held + want.burned, want.minted);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn replicas_converge(seed in any::<u64>(), steps in 5..120usize) {
        run(seed, steps);
    }
}

#[test]
fn converges_on_a_long_run() {
    run(42, 600);
}
