//! Ledger benchmarks, each beside its anchor in the same run (numbers for docs/BENCHMARKS.md):
//!
//! 1. Entries verified and merged per second on one core: one by one, and in batches of 256,
//!    against bare Ed25519 batch verification (ed25519-dalek) of the same signatures.
//! 2. Bytes sent to reconcile two replicas of `ACCOUNTS × PER_ACCOUNT` entries (default
//!    1,000 × 1,000) that differ by 1%, against the bytes of the missing entries: once when the
//!    1% is the newest entries (a node back from offline), once when it is scattered holes.
//!
//! `cargo run --release -p edgenet-core --example ledger_bench -- [ACCOUNTS PER_ACCOUNT]`

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark program: a failure should stop it loudly

use std::time::Instant;

use edgenet_core::SecretKey;
use edgenet_core::identity::{NodeId, Signature, verify_batch};
use edgenet_core::ledger::sync::{SyncMessage, chunk_entries};
use edgenet_core::ledger::{
    Account, Entry, EntryBody, EntryHash, EntryKind, Ledger, LedgerConfig, MintReason,
};
use edgenet_core::task::TaskId;

/// Signed chains: a validator mints to every account, then each account pays the next one.
fn make_entries(accounts: usize, per_account: usize) -> (LedgerConfig, Vec<Entry>) {
    let validator = SecretKey::from_seed(&[255; 32]);
    let keys: Vec<SecretKey> = (0..accounts)
        .map(|i| {
            let mut seed = [0u8; 32];
            seed[..8].copy_from_slice(&(i as u64 + 1).to_le_bytes());
            SecretKey::from_seed(&seed)
        })
        .collect();
    let ids: Vec<Account> = keys.iter().map(|k| Account::of(&k.node_id())).collect();
    let v = Account::of(&validator.node_id());
    let mut out = Vec::with_capacity(accounts * (per_account + 1));
    let mut clock = 0u64;
    let mut prev = EntryHash::GENESIS;
    for (seq, to) in ids.iter().enumerate() {
        clock += 1;
        let body = EntryBody {
            author: v,
            seq: seq as u64,
            prev,
            clock,
            kind: EntryKind::Mint {
                to: *to,
                amount: 1_000_000_000,
                reason: MintReason::Canary {
                    task: TaskId([seq as u8; 16]),
                },
            },
        };
        let e = Entry::sign(body, &validator);
        prev = e.hash();
        out.push(e);
    }
    let mut prevs = vec![EntryHash::GENESIS; accounts];
    for seq in 0..per_account {
        for (i, key) in keys.iter().enumerate() {
            clock += 1;
            let body = EntryBody {
                author: ids[i],
                seq: seq as u64,
                prev: prevs[i],
                clock,
                kind: EntryKind::Transfer {
                    to: ids[(i + 1) % accounts],
                    amount: 1_000 + seq as u64,
                },
            };
            let e = Entry::sign(body, key);
            prevs[i] = e.hash();
            out.push(e);
        }
    }
    (LedgerConfig::single(v).unwrap(), out)
}

fn rate(n: usize, f: impl FnOnce()) -> f64 {
    let t = Instant::now();
    f();
    n as f64 / t.elapsed().as_secs_f64()
}

fn verify_rates() {
    let (config, entries) = make_entries(100, 200);
    let n = entries.len();
    let messages: Vec<Vec<u8>> = entries
        .iter()
        .map(|e| EntryBody::signing_message(&e.body.to_bytes()))
        .collect();
    let sigs: Vec<Signature> = entries
        .iter()
        .map(|e| Signature::from_slice(&e.signature).unwrap())
        .collect();
    let keys: Vec<NodeId> = entries
        .iter()
        .map(|e| e.body.author.node_id().unwrap())
        .collect();
    let bare = rate(n, || {
        for ((m, s), k) in messages
            .chunks(256)
            .zip(sigs.chunks(256))
            .zip(keys.chunks(256))
        {
            let m: Vec<&[u8]> = m.iter().map(Vec::as_slice).collect();
            verify_batch(&m, s, k).unwrap();
        }
    });
    let single = rate(n, || {
        let mut l = Ledger::new(config.clone());
        for e in entries.iter().cloned() {
            l.insert(e).unwrap();
        }
        assert_eq!(l.len(), n);
        let _ = l.state();
    });
    let batched = rate(n, || {
        let mut l = Ledger::new(config.clone());
        for chunk in entries.chunks(256) {
            for r in l.insert_batch(chunk.to_vec()) {
                r.unwrap();
            }
        }
        assert_eq!(l.len(), n);
        let _ = l.state();
    });
    println!("verify + merge, one core, {n} entries (batches of 256):");
    println!("| path | entries/s | vs bare batch verification |");
    println!("|---|---|---|");
    println!("| bare Ed25519 batch verification (ed25519-dalek), anchor | {bare:.0} | 1.00x |");
    println!(
        "| ledger, one by one (verify, insert, evaluate) | {single:.0} | {:.2}x |",
        single / bare
    );
    println!(
        "| ledger, batched (verify, insert, evaluate) | {batched:.0} | {:.2}x |",
        batched / bare
    );
}

/// Heads from `a`, entries and wants back from `b`, entries for the wants: total bytes.
fn sync_bytes(a: &mut Ledger, b: &mut Ledger) -> usize {
    let heads = a.generate_heads();
    let mut bytes = heads.to_bytes().len();
    let SyncMessage::Heads(heads) = heads else {
        unreachable!()
    };
    let (push, wants) = b.receive_heads(&heads);
    for m in chunk_entries(push.clone(), 1 << 20) {
        bytes += m.to_bytes().len();
    }
    bytes += SyncMessage::Wants(wants.clone()).to_bytes().len();
    a.receive_entries(push);
    let answer = a.receive_wants(&wants);
    for m in chunk_entries(answer.clone(), 1 << 20) {
        bytes += m.to_bytes().len();
    }
    b.receive_entries(answer);
    bytes
}

fn reconcile(accounts: usize, per_account: usize) {
    let t = Instant::now();
    let (config, entries) = make_entries(accounts, per_account);
    eprintln!(
        "made {} signed entries in {:.1} s",
        entries.len(),
        t.elapsed().as_secs_f64()
    );
    let n = entries.len();
    let missing_n = n / 100;
    let mut full = Ledger::new(config.clone());
    for e in &entries {
        full.insert_verified(e.clone()).unwrap();
    }
    println!("reconciling two replicas of {n} entries ({accounts} accounts) that differ by 1%:");
    println!("| the 1% missing | missing entries | their bytes | bytes sent | ratio |");
    println!("|---|---|---|---|---|");
    // The newest 1% (clock order = creation order): a node back from being offline.
    // Every 100th entry: scattered holes, as lost messages would leave.
    for (what, lacks) in [
        (
            "newest (back from offline)",
            Box::new(|i: usize| i >= n - missing_n) as Box<dyn Fn(usize) -> bool>,
        ),
        ("scattered holes", Box::new(|i: usize| i % 100 == 57)),
    ] {
        let mut behind = Ledger::new(config.clone());
        let mut missing_bytes = 0usize;
        let mut missing = 0usize;
        for (i, e) in entries.iter().enumerate() {
            if lacks(i) {
                missing_bytes += e.to_bytes().len();
                missing += 1;
            } else {
                behind.insert_verified(e.clone()).unwrap();
            }
        }
        let mut ahead = full.clone();
        let sent = sync_bytes(&mut behind, &mut ahead);
        assert_eq!(behind.len(), n, "sync must complete");
        println!(
            "| {what} | {missing} | {missing_bytes} | {sent} | {:.3}x |",
            sent as f64 / missing_bytes as f64
        );
    }
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let (accounts, per_account) = match args.as_slice() {
        [a, p, ..] => (*a, *p),
        _ => (1_000, 1_000),
    };
    verify_rates();
    reconcile(accounts, per_account);
}
