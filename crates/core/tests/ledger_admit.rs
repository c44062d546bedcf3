//! What a relay's replica admits of what others write: only entries with an effect, plus one
//! proof per equivocation (`ledger/admit.rs`, docs/ledger.md "What the relay stores").
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use edgenet_core::SecretKey;
use edgenet_core::ledger::{
    Account, Entry, EntryBody, EntryKind, EntryStatus, Inserted, Ledger, LedgerConfig, LedgerError,
    MintReason, Verifier,
};
use edgenet_core::task::TaskId;
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};

const CREDIT: u64 = 1_000_000;

fn key(n: u8) -> SecretKey {
    SecretKey::from_seed(&[n; 32])
}

fn acct(k: &SecretKey) -> Account {
    Account::of(&k.node_id())
}

/// A relay's replica (validator `key(1)`) and a verifier for its set.
fn relay() -> (Ledger, Verifier, SecretKey) {
    let v = key(1);
    let config = LedgerConfig::single(acct(&v)).unwrap();
    (Ledger::new(config.clone()), Verifier::new(config), v)
}

fn mint(ledger: &mut Ledger, v: &SecretKey, to: &SecretKey, amount: u64) {
    let reason = MintReason::Uptime { seconds: 3600 };
    let kind = EntryKind::Mint {
        to: acct(to),
        amount,
        reason,
    };
    ledger.append(v, kind).unwrap();
}

fn next(ledger: &mut Ledger, who: &SecretKey, kind: EntryKind) -> Entry {
    Entry::sign(ledger.next_body(acct(who), kind).unwrap(), who)
}

fn admit(
    ledger: &mut Ledger,
    verifier: &mut Verifier,
    entries: Vec<Entry>,
) -> Vec<Result<Inserted, LedgerError>> {
    let verified = verifier.verify(entries);
    ledger.admit_batch(verified)
}

#[test]
fn an_account_with_nothing_to_spend_stores_nothing_however_much_it_signs() {
    let (mut ledger, mut verifier, _v) = relay();
    let broke = key(7);
    let before = ledger.len();
    for i in 0..2_000u64 {
        let entry = next(&mut ledger, &broke, EntryKind::Stake { amount: 1 + i });
        let out = admit(&mut ledger, &mut verifier, vec![entry]);
        assert_eq!(out, vec![Err(LedgerError::Overdraft)]);
    }
    assert_eq!(ledger.len(), before, "void entries were stored");
    // And not even an empty account record appears.
    assert_eq!(ledger.state().accounts().count(), 0);
}

#[test]
fn gaps_broken_links_low_clocks_and_frozen_accounts_are_refused_with_their_codes() {
    let (mut ledger, mut verifier, v) = relay();
    let alice = key(2);
    mint(&mut ledger, &v, &alice, 10 * CREDIT);
    let first = next(&mut ledger, &alice, EntryKind::Stake { amount: CREDIT });
    // Past a gap: seq 1 before seq 0 is held.
    let mut gap = first.body.clone();
    gap.seq = 1;
    gap.prev = edgenet_core::ledger::EntryHash([9; 32]);
    let gap = Entry::sign(gap, &alice);
    assert_eq!(
        admit(&mut ledger, &mut verifier, vec![gap]),
        vec![Err(LedgerError::NotNext { seq: 1, next: 0 })]
    );
    // A clock that orders before the relay's mint (already applied): sign again.
    let mut low: EntryBody = first.body.clone();
    low.clock = 0;
    let low = Entry::sign(low, &alice);
    let out = admit(&mut ledger, &mut verifier, vec![low]);
    assert!(
        matches!(out[0], Err(LedgerError::ClockBehind { .. })),
        "{out:?}"
    );
    // The honest one goes in, and its effect is there.
    assert_eq!(
        admit(&mut ledger, &mut verifier, vec![first.clone()]),
        vec![Ok(Inserted::New)]
    );
    assert_eq!(ledger.account(&acct(&alice)).stake, CREDIT);
    // A wrong prev.
    let mut broken = ledger
        .next_body(acct(&alice), EntryKind::Unstake { amount: 1 })
        .unwrap();
    broken.prev = edgenet_core::ledger::EntryHash([9; 32]);
    let broken = Entry::sign(broken, &alice);
    assert_eq!(
        admit(&mut ledger, &mut verifier, vec![broken]),
        vec![Err(LedgerError::NotNext { seq: 1, next: 1 })]
    );
    // A second, different seq 0: the proof of an equivocation, kept once; it freezes alice.
    let mut other = first.body.clone();
    other.kind = EntryKind::Stake { amount: 2 };
    let other = Entry::sign(other, &alice);
    assert_eq!(
        admit(&mut ledger, &mut verifier, vec![other.clone()]),
        vec![Ok(Inserted::New)]
    );
    assert!(ledger.account(&acct(&alice)).frozen);
    let mut third = first.body.clone();
    third.kind = EntryKind::Stake { amount: 3 };
    let third = Entry::sign(third, &alice);
    assert_eq!(
        admit(&mut ledger, &mut verifier, vec![third]),
        vec![Err(LedgerError::Frozen)]
    );
    let mut after = first.body.clone();
    after.seq = 1;
    after.prev = first.hash();
    after.clock = first.body.clock + 1;
    let after = Entry::sign(after, &alice);
    assert_eq!(
        admit(&mut ledger, &mut verifier, vec![after]),
        vec![Err(LedgerError::Frozen)]
    );
    // Replays are duplicates, not errors.
    assert_eq!(
        admit(&mut ledger, &mut verifier, vec![other]),
        vec![Ok(Inserted::Duplicate)]
    );
}

#[test]
fn a_clock_far_past_the_replicas_is_refused_so_clocks_cannot_be_run_to_their_end() {
    use edgenet_core::ledger::MAX_CLOCK_LEAP;
    let (mut ledger, mut verifier, v) = relay();
    let alice = key(2);
    mint(&mut ledger, &v, &alice, CREDIT);
    let mut body = ledger
        .next_body(acct(&alice), EntryKind::Stake { amount: 1 })
        .unwrap();
    let max = ledger.max_clock();
    body.clock = u64::MAX - 1;
    let far = Entry::sign(body.clone(), &alice);
    assert_eq!(
        admit(&mut ledger, &mut verifier, vec![far]),
        vec![Err(LedgerError::ClockTooFar {
            clock: u64::MAX - 1,
            max
        })]
    );
    // The relay can still write after it (its next clock is one past its own).
    mint(&mut ledger, &v, &alice, CREDIT);
    // A writer that raced others a little is still taken.
    let mut near = ledger
        .next_body(acct(&alice), EntryKind::Stake { amount: 1 })
        .unwrap();
    near.clock = ledger.max_clock() + MAX_CLOCK_LEAP;
    let near = Entry::sign(near, &alice);
    assert_eq!(
        admit(&mut ledger, &mut verifier, vec![near]),
        vec![Ok(Inserted::New)]
    );
}

#[test]
fn forged_entries_never_reach_the_replica() {
    let (mut ledger, mut verifier, v) = relay();
    let alice = key(2);
    mint(&mut ledger, &v, &alice, CREDIT);
    let mut forged = next(&mut ledger, &alice, EntryKind::Stake { amount: 1 });
    forged.signature[0] ^= 1;
    let before = ledger.len();
    assert_eq!(
        admit(&mut ledger, &mut verifier, vec![forged]),
        vec![Err(LedgerError::BadSignature)]
    );
    assert_eq!(ledger.len(), before);
}

/// A number in `lo..hi`.
fn pick(rng: &mut ChaCha8Rng, lo: u64, hi: u64) -> u64 {
    lo + rng.next_u64() % (hi - lo)
}

/// Random writers, honest and not, with random amounts against their balances: the admitted set
/// evaluated from scratch gives the state the replica built in place, and every stored entry of a
/// writer had an effect (no equivocations here).
#[test]
fn admitted_sets_evaluate_to_the_state_built_in_place_and_hold_only_effective_entries() {
    for seed in 0..20u64 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (mut ledger, mut verifier, v) = relay();
        let writers: Vec<SecretKey> = (10..16).map(key).collect();
        for w in writers.iter().take(3) {
            mint(&mut ledger, &v, w, pick(&mut rng, 1, 50));
        }
        for _ in 0..300 {
            let w = &writers[pick(&mut rng, 0, writers.len() as u64) as usize];
            let amount = pick(&mut rng, 1, 30);
            let kind = match pick(&mut rng, 0, 5) {
                0 => EntryKind::Transfer {
                    to: acct(&writers[pick(&mut rng, 0, writers.len() as u64) as usize]),
                    amount,
                },
                1 => EntryKind::Stake { amount },
                2 => EntryKind::Unstake { amount },
                3 => EntryKind::Escrow {
                    task: TaskId([pick(&mut rng, 0, 4) as u8; 16]),
                    amount,
                },
                _ => {
                    mint(&mut ledger, &v, w, amount);
                    continue;
                }
            };
            let Ok(body) = ledger.next_body(acct(w), kind) else {
                continue;
            };
            if matches!(&body.kind, EntryKind::Transfer { to, .. } if *to == body.author) {
                continue;
            }
            let _ = admit(&mut ledger, &mut verifier, vec![Entry::sign(body, w)]);
        }
        let entries: Vec<Entry> = ledger.entries().cloned().collect();
        let mut fresh = Ledger::new(ledger.config().clone());
        for r in fresh.insert_batch(entries.clone()) {
            r.unwrap();
        }
        assert_eq!(fresh.state(), ledger.state(), "seed {seed}");
        for e in &entries {
            assert_eq!(
                ledger.state().status(&e.hash()),
                Some(EntryStatus::Applied),
                "seed {seed}: a stored entry had no effect"
            );
        }
    }
}
