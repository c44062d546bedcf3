//! Set reconciliation between two replicas: heads → wants → entries.
//!
//! Chains make this cheap: what a replica holds of an account is summed up by how many contiguous
//! entries it has and a digest of them (the XOR of their hashes' first 8 bytes; two entries at one
//! seq, an equivocation, both count). One side sends its [`Head`]s; the other, if its own entries
//! below that length have the same digest, answers with the entries past it, and [`Want`]s what
//! it lacks itself; the first answers the wants. Only missing entries cross, plus about 45 bytes
//! per account with entries. When the digests differ (an equivocation in the middle of a chain),
//! both sides send that account's chain whole: rare, and it carries the proof.
//!
//! One pass in each direction makes two replicas equal.
//!
//! Sans-IO, automerge style: [`Ledger::generate_heads`], [`Ledger::receive_heads`],
//! [`Ledger::receive_wants`], and [`Ledger::receive_entries`]; the caller moves the messages.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::account::Account;
use super::entry::{Entry, EntryHash};
use super::{Inserted, Ledger, LedgerError};

/// Most items in one sync message.
pub const MAX_SYNC_ITEMS: usize = 1 << 20;
/// Hash bytes a head carries: enough to tell two different heads apart.
const HEAD_PREFIX: usize = 8;
/// Most runs past a gap one head describes (beyond them, the other side sends everything).
pub const MAX_RUNS: usize = 64;

/// What a replica holds of one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    /// The account.
    pub account: Account,
    /// Contiguous entries held from seq 0.
    pub len: u64,
    /// XOR of the first bytes of the hashes of every entry held with seq below `len`.
    pub digest: [u8; HEAD_PREFIX],
    /// Entries held past a gap, as runs (first seq, count): the other side skips them.
    pub runs: Vec<(u64, u64)>,
}

/// A request for an account's entries from a seq on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Want {
    /// The account.
    pub account: Account,
    /// The first seq wanted.
    pub from: u64,
}

/// One reconciliation message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SyncMessage {
    /// What the sender holds.
    Heads(Vec<Head>),
    /// What the sender lacks.
    Wants(Vec<Want>),
    /// Entries the receiver lacks.
    Entries(Vec<Entry>),
}

impl SyncMessage {
    /// Encodes (postcard).
    pub fn to_bytes(&self) -> Vec<u8> {
        postcard::to_allocvec(self).unwrap_or_default()
    }

    /// Decodes untrusted bytes and checks the item limits (each entry is checked on insert).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, LedgerError> {
        let (msg, rest) = postcard::take_from_bytes::<Self>(bytes)
            .map_err(|e| LedgerError::BadSync(e.to_string()))?;
        if !rest.is_empty() {
            return Err(LedgerError::BadSync(format!(
                "{} trailing bytes",
                rest.len()
            )));
        }
        let items = match &msg {
            Self::Heads(h) => {
                if h.iter().any(|h| h.runs.len() > MAX_RUNS) {
                    return Err(LedgerError::BadSync(format!("more than {MAX_RUNS} runs")));
                }
                h.len()
            }
            Self::Wants(w) => w.len(),
            // Entries that decode are counted, not judged: each one's shape, size and signature
            // are checked on insert, so a bad entry is refused with its own code in the
            // acknowledgement and the good ones beside it are kept.
            Self::Entries(e) => e.len(),
        };
        if items > MAX_SYNC_ITEMS {
            return Err(LedgerError::BadSync(format!(
                "{items} items > {MAX_SYNC_ITEMS}"
            )));
        }
        Ok(msg)
    }
}

/// What receiving entries did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Received {
    /// New to this replica.
    pub new: usize,
    /// Already held.
    pub duplicate: usize,
    /// Refused, with the first reason.
    pub rejected: usize,
    /// The first refusal, for the log.
    pub first_error: Option<LedgerError>,
}

fn prefix(hash: &EntryHash) -> [u8; HEAD_PREFIX] {
    // Infallible: HEAD_PREFIX < 32.
    let mut p = [0; HEAD_PREFIX];
    p.copy_from_slice(&hash.0[..HEAD_PREFIX]);
    p
}

impl Ledger {
    /// XOR of the hash prefixes of `account`'s entries with seq below `below`.
    fn digest_below(&self, account: &Account, below: u64) -> [u8; HEAD_PREFIX] {
        let mut d = [0u8; HEAD_PREFIX];
        for e in self.stored_below(account, below) {
            for (x, y) in d.iter_mut().zip(prefix(e)) {
                *x ^= y;
            }
        }
        d
    }

    /// Runs of seqs held past `len` (first, count), at most [`MAX_RUNS`] (none if more: then the
    /// other side sends all it has past `len`).
    fn runs_after(&self, account: &Account, len: u64) -> Vec<(u64, u64)> {
        let mut runs: Vec<(u64, u64)> = Vec::new();
        for seq in self.seqs_from(account, len) {
            match runs.last_mut() {
                Some((start, n)) if *start + *n == seq => *n += 1,
                _ => {
                    if runs.len() == MAX_RUNS {
                        return Vec::new();
                    }
                    runs.push((seq, 1));
                }
            }
        }
        runs
    }

    /// Step 1: this replica's heads.
    pub fn generate_heads(&self) -> SyncMessage {
        SyncMessage::Heads(
            self.heads()
                .map(|(account, len)| Head {
                    account,
                    len,
                    digest: self.digest_below(&account, len),
                    runs: self.runs_after(&account, len),
                })
                .collect(),
        )
    }

    /// Step 2: the other side's heads in; out: the entries it lacks, and wants for what this
    /// replica lacks.
    pub fn receive_heads(&self, heads: &[Head]) -> (Vec<Entry>, Vec<Want>) {
        self.receive_heads_bounded(heads, usize::MAX)
    }

    /// [`Ledger::receive_heads`] pushing at most `limit` entries, for a peer that may be hostile
    /// (an empty heads list would otherwise ask for the whole ledger); it syncs the rest in later
    /// rounds.
    pub fn receive_heads_bounded(&self, heads: &[Head], limit: usize) -> (Vec<Entry>, Vec<Want>) {
        let (push, wants) = self.receive_heads_shared(heads, limit);
        (push.iter().map(|e| Entry::clone(e)).collect(), wants)
    }

    /// [`Ledger::receive_heads_bounded`] answering with shared handles to the stored entries:
    /// nothing is copied while the replica is borrowed, so a relay can encode the reply after it
    /// lets go of its replica.
    pub fn receive_heads_shared(
        &self,
        heads: &[Head],
        limit: usize,
    ) -> (Vec<Arc<Entry>>, Vec<Want>) {
        let mut push: Vec<Arc<Entry>> = Vec::new();
        let mut wants = Vec::new();
        let mut theirs = heads.iter().peekable();
        let mut full = false;
        for (account, len) in self.heads() {
            let room = limit.saturating_sub(push.len());
            if room == 0 {
                full = true;
                break;
            }
            // Accounts they have that we lack entirely: want them all.
            while let Some(h) = theirs.next_if(|h| h.account < account) {
                wants.push(Want {
                    account: h.account,
                    from: 0,
                });
            }
            let Some(h) = theirs.next_if(|h| h.account == account) else {
                push.extend(self.chain_shared(&account, 0).take(room).cloned());
                continue;
            };
            if h.len <= len && self.digest_below(&account, h.len) != h.digest {
                // Same length, different entries: an equivocation somewhere below. Both whole.
                push.extend(self.chain_shared(&account, 0).take(room).cloned());
                wants.push(Want { account, from: 0 });
                continue;
            }
            if len >= h.len {
                // Ours past their length, pending ones included, except what they hold past
                // their gaps.
                let held = |seq: u64| h.runs.iter().any(|&(s, n)| seq >= s && seq - s < n);
                push.extend(
                    self.chain_shared(&account, h.len)
                        .filter(|e| !held(e.body.seq))
                        .take(room)
                        .cloned(),
                );
            }
            if h.len > len {
                // Their prefix is checked when they receive our heads (the other direction).
                wants.push(Want { account, from: len });
            }
        }
        // Full: the accounts not compared wait for the next round rather than being wanted whole.
        if !full {
            wants.extend(theirs.map(|h| Want {
                account: h.account,
                from: 0,
            }));
        }
        (push, wants)
    }

    /// Step 3: the other side's wants in; out: the entries asked for.
    pub fn receive_wants(&self, wants: &[Want]) -> Vec<Entry> {
        self.receive_wants_bounded(wants, usize::MAX)
    }

    /// [`Ledger::receive_wants`] for a peer that may be hostile: each account once (from the
    /// lowest seq asked), and at most `limit` entries; the rest is the next page, asked for from
    /// where this one ends.
    pub fn receive_wants_bounded(&self, wants: &[Want], limit: usize) -> Vec<Entry> {
        let shared = self.receive_wants_shared(wants, limit);
        shared.iter().map(|e| Entry::clone(e)).collect()
    }

    /// [`Ledger::receive_wants_bounded`] answering with shared handles (as
    /// [`Ledger::receive_heads_shared`]).
    pub fn receive_wants_shared(&self, wants: &[Want], limit: usize) -> Vec<Arc<Entry>> {
        let mut wants: Vec<&Want> = wants.iter().collect();
        wants.sort_by_key(|w| (w.account, w.from));
        wants.dedup_by_key(|w| w.account);
        wants
            .into_iter()
            .flat_map(|w| self.chain_shared(&w.account, w.from).cloned())
            .take(limit)
            .collect()
    }

    /// Entries in (from step 2 or 3): verified as a batch and inserted.
    pub fn receive_entries(&mut self, entries: Vec<Entry>) -> Received {
        let mut out = Received::default();
        for result in self.insert_batch(entries) {
            match result {
                Ok(Inserted::New) => out.new += 1,
                Ok(Inserted::Duplicate | Inserted::Redundant) => out.duplicate += 1,
                Err(e) => {
                    out.rejected += 1;
                    out.first_error.get_or_insert(e);
                }
            }
        }
        out
    }
}

/// Splits entries into messages of at most `budget` encoded bytes each (at least one entry per
/// message), for transports with a frame limit.
pub fn chunk_entries(entries: Vec<Entry>, budget: usize) -> Vec<SyncMessage> {
    let mut out = Vec::new();
    let mut current = Vec::new();
    let mut size = 0usize;
    for e in entries {
        let len = e.to_bytes().len();
        if !current.is_empty() && size + len > budget {
            out.push(SyncMessage::Entries(std::mem::take(&mut current)));
            size = 0;
        }
        size += len;
        current.push(e);
    }
    if !current.is_empty() {
        out.push(SyncMessage::Entries(current));
    }
    out
}
