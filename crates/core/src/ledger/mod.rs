//! The credit ledger: a grow-only set of signed entries, one hash-linked chain per account, and a
//! deterministic evaluation of that set into balances (a state-based CRDT: merge is set union).
//!
//! - [`entry`]: what an account signs, its encoding, hash and checks in isolation.
//! - [`config`]: the validator set and its threshold.
//! - [`sigcheck`]: the signature rule (cofactored), one by one and in batches.
//! - [`state`]: the evaluation rules and their result.
//! - [`curve`]: the early-adopter multiplier in fixed point.
//! - [`sync`]: set reconciliation between two replicas (heads → wants → entries).
//! - [`verified`]: the checks that need no other entry, done before (and outside) a replica.
//! - `admit`: what a relay stores of what others write (only entries that have an effect).
//!
//! The rules are written down for people in `docs/ledger.md`.

pub mod account;
mod admit;
pub mod config;
pub mod curve;
pub mod entry;
mod error;
pub mod sigcheck;
pub mod state;
pub mod sync;
pub mod verified;

use std::collections::BTreeMap;

pub use account::Account;
pub use config::LedgerConfig;
pub use entry::{Attestation, Entry, EntryBody, EntryHash, EntryKind, Evidence, MintReason};
pub use error::LedgerError;
pub use state::{AccountState, EntryStatus, LedgerState, VoidReason};
pub use verified::{Verified, Verifier};

use state::order_key;

/// How far past the last stored entry of an account a new entry may be (entries beyond a gap wait
/// unapplied; this bounds what a hostile author can make a replica hold).
pub const MAX_AHEAD: u64 = 4096;

/// How far past the greatest clock it holds a replica that admits entries (`admit`) takes a new
/// one: an honest writer signs one past the clock it was told, and a writer that raced others may
/// be a little further.
pub const MAX_CLOCK_LEAP: u64 = 1 << 20;

/// What [`Ledger::insert`] did with a verified entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// It is new to this replica.
    New,
    /// This replica already had it (a replay): nothing changes.
    Duplicate,
    /// The account already has two different entries at this seq (frozen); a third adds nothing.
    Redundant,
}

/// A stored entry and its hash.
#[derive(Debug, Clone)]
struct Stored {
    /// Shared, so that a sync reply can hand entries to the connections that send them without
    /// copying them while the replica is borrowed ([`Ledger::chain_shared`]).
    entry: std::sync::Arc<Entry>,
    hash: EntryHash,
}

/// One replica of the ledger.
#[derive(Debug, Clone)]
pub struct Ledger {
    config: LedgerConfig,
    /// Per account, per seq: one entry, or two for an equivocation (sorted by hash).
    chains: BTreeMap<Account, BTreeMap<u64, Vec<Stored>>>,
    len: usize,
    max_clock: u64,
    state: LedgerState,
    dirty: bool,
    keys: sigcheck::KeyCache,
}

impl Ledger {
    /// An empty replica for a network with this validator set.
    pub fn new(config: LedgerConfig) -> Self {
        Self {
            config,
            chains: BTreeMap::new(),
            len: 0,
            max_clock: 0,
            state: LedgerState::default(),
            dirty: false,
            keys: sigcheck::KeyCache::default(),
        }
    }

    /// A replica whose one validator (1 of 1) is `key`: a single relay's, and a node's replica of
    /// its own chain (which holds no validator entries).
    pub fn single_validator(key: &crate::SecretKey) -> Self {
        // A key's own account is always a valid validator set of one.
        let config = LedgerConfig::single(Account::of(&key.node_id()))
            .unwrap_or_else(|_| unreachable!("a NodeId is a valid account"));
        Self::new(config)
    }

    /// The validator set.
    pub fn config(&self) -> &LedgerConfig {
        &self.config
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether this replica holds `entry` (the same bytes, not only its author and seq).
    pub fn holds(&self, entry: &Entry) -> bool {
        let hash = entry.hash();
        self.chains
            .get(&entry.body.author)
            .and_then(|chain| chain.get(&entry.body.seq))
            .is_some_and(|slot| slot.iter().any(|s| s.hash == hash))
    }

    /// Whether this replica holds another entry at `entry`'s place in its author's chain (the
    /// same author and seq, a different body): with `entry`, an equivocation.
    pub fn conflicts(&self, entry: &Entry) -> bool {
        let hash = entry.hash();
        self.chains
            .get(&entry.body.author)
            .and_then(|chain| chain.get(&entry.body.seq))
            .is_some_and(|slot| slot.iter().any(|s| s.hash != hash))
    }

    /// The greatest clock of any entry held.
    pub fn max_clock(&self) -> u64 {
        self.max_clock
    }

    /// Raises the clock this replica writes after to `clock` (another replica's, e.g. the
    /// relay's): the next entry then orders after everything that replica held.
    pub fn observe_clock(&mut self, clock: u64) {
        self.max_clock = self.max_clock.max(clock);
    }

    /// Verifies `entry` (shape, signatures, attestations, evidence) and adds it to the set.
    pub fn insert(&mut self, entry: Entry) -> Result<Inserted, LedgerError> {
        entry.verify_with(&self.config, &mut self.keys)?;
        self.insert_verified(entry)
    }

    /// Verifies and inserts many entries, checking their authors' signatures as one batch
    /// ([`sigcheck::verify_batch`]: the same answers as one by one, about twice as fast). Entries
    /// with attestations or evidence are checked one by one. One result per entry, in order.
    pub fn insert_batch(&mut self, entries: Vec<Entry>) -> Vec<Result<Inserted, LedgerError>> {
        verified::verify_batch(&self.config, &mut self.keys, entries)
            .into_iter()
            .map(|v| self.insert_verified(v?.into_entry()))
            .collect()
    }

    /// Adds an entry that [`Entry::verify`] already accepted (a store reloading what it wrote).
    pub fn insert_verified(&mut self, entry: Entry) -> Result<Inserted, LedgerError> {
        let hash = entry.hash();
        let author = entry.body.author;
        let seq = entry.body.seq;
        let chain = self.chains.entry(author).or_default();
        let last = chain.keys().next_back().copied();
        if seq > last.unwrap_or(0).saturating_add(MAX_AHEAD) {
            return Err(LedgerError::TooFarAhead { seq });
        }
        let slot = chain.entry(seq).or_default();
        if slot.iter().any(|s| s.hash == hash) {
            return Ok(Inserted::Duplicate);
        }
        if slot.len() >= 2 {
            return Ok(Inserted::Redundant);
        }
        // The next entry of a chain with nothing stored past it: maybe appendable in place.
        let appended = slot.is_empty() && last.map_or(seq == 0, |l| l + 1 == seq);
        let stored = Stored {
            entry: std::sync::Arc::new(entry),
            hash,
        };
        let slot = self
            .chains
            .get_mut(&author)
            .and_then(|c| c.get_mut(&seq))
            .ok_or_else(|| LedgerError::Malformed("slot vanished".into()))?;
        slot.push(stored);
        slot.sort_by_key(|s| s.hash);
        self.len += 1;
        let clock = slot.iter().map(|s| s.entry.body.clock).max().unwrap_or(0);
        self.max_clock = self.max_clock.max(clock);
        if !(appended && self.try_append(author, seq)) {
            self.dirty = true;
        }
        Ok(Inserted::New)
    }

    /// Stores an entry whose effect is already in the state (admitted: see `admit`).
    fn store_applied(&mut self, entry: Entry, hash: EntryHash) {
        let clock = entry.body.clock;
        let (author, seq) = (entry.body.author, entry.body.seq);
        let slot = self
            .chains
            .entry(author)
            .or_default()
            .entry(seq)
            .or_default();
        slot.push(Stored {
            entry: std::sync::Arc::new(entry),
            hash,
        });
        self.len += 1;
        self.max_clock = self.max_clock.max(clock);
    }

    /// Applies a new last entry of `author`'s chain without re-evaluating, when nothing in the
    /// set can order before it: the common case of a live replica. Returns false if it cannot.
    fn try_append(&mut self, author: Account, seq: u64) -> bool {
        if self.dirty {
            return false;
        }
        let Some(chain) = self.chains.get(&author) else {
            return false;
        };
        let Some(new) = chain.get(&seq).and_then(|s| s.first()) else {
            return false;
        };
        let account = self.state.account(&author);
        if account.frozen || account.chain_len != seq {
            return false;
        }
        let linked = if seq == 0 {
            true
        } else {
            match chain.get(&(seq - 1)).map(Vec::as_slice) {
                Some([prev]) => {
                    prev.hash == new.entry.body.prev && prev.entry.body.clock < new.entry.body.clock
                }
                _ => false,
            }
        };
        let key = order_key(&new.entry);
        if !linked || self.state.last_key.is_some_and(|last| key <= last) {
            return false;
        }
        let (entry, hash) = (std::sync::Arc::clone(&new.entry), new.hash);
        self.state.apply(&entry, hash);
        true
    }

    /// The evaluated state (re-evaluated from the set if anything arrived out of order).
    pub fn state(&mut self) -> &LedgerState {
        if self.dirty {
            self.state = self.evaluate();
            self.dirty = false;
        }
        &self.state
    }

    /// One account's figures.
    pub fn account(&mut self, account: &Account) -> AccountState {
        self.state().account(account)
    }

    /// Every entry held, by account and seq.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.chains
            .values()
            .flat_map(|c| c.values().flatten().map(|s| &*s.entry))
    }

    /// The entries of one account from `from_seq` on.
    pub fn chain_from(&self, account: &Account, from_seq: u64) -> impl Iterator<Item = &Entry> {
        self.chains.get(account).into_iter().flat_map(move |c| {
            c.range(from_seq..)
                .flat_map(|(_, s)| s.iter().map(|s| &*s.entry))
        })
    }

    /// [`Self::chain_from`], as shared handles: what a sync reply holds while it is encoded
    /// elsewhere (a relay encodes pages outside the lock around its replica).
    pub fn chain_shared(
        &self,
        account: &Account,
        from_seq: u64,
    ) -> impl Iterator<Item = &std::sync::Arc<Entry>> {
        self.chains.get(account).into_iter().flat_map(move |c| {
            c.range(from_seq..)
                .flat_map(|(_, s)| s.iter().map(|s| &s.entry))
        })
    }

    /// Accounts with entries, and per account the number of contiguous seqs held from 0 (what
    /// [`sync`] compares).
    pub(crate) fn heads(&self) -> impl Iterator<Item = (Account, u64)> + '_ {
        self.chains.iter().filter_map(|(account, chain)| {
            if chain.is_empty() {
                return None;
            }
            let len = chain
                .keys()
                .zip(0u64..)
                .take_while(|(seq, i)| **seq == *i)
                .count() as u64;
            Some((*account, len))
        })
    }

    /// The seqs held for `account` from `from` on.
    pub(crate) fn seqs_from(&self, account: &Account, from: u64) -> impl Iterator<Item = u64> + '_ {
        self.chains
            .get(account)
            .into_iter()
            .flat_map(move |c| c.range(from..).map(|(seq, _)| *seq))
    }

    /// Hashes of `account`'s entries with seq below `below`.
    pub(crate) fn stored_below(
        &self,
        account: &Account,
        below: u64,
    ) -> impl Iterator<Item = &EntryHash> {
        self.chains.get(account).into_iter().flat_map(move |c| {
            c.range(..below)
                .flat_map(|(_, s)| s.iter().map(|s| &s.hash))
        })
    }

    /// The body of `author`'s next entry: seq and prev after its linked chain, and a clock past
    /// everything this replica holds. Sign it with [`Entry::sign`] (validators may attest it) and
    /// [`Self::insert`] it.
    pub fn next_body(
        &mut self,
        author: Account,
        kind: EntryKind,
    ) -> Result<EntryBody, LedgerError> {
        let max_clock = self.max_clock;
        let seq = self.account(&author).chain_len;
        if self.state.account(&author).frozen {
            return Err(LedgerError::Frozen);
        }
        let prev = if seq == 0 {
            EntryHash::GENESIS
        } else {
            self.chains
                .get(&author)
                .and_then(|c| c.get(&(seq - 1)))
                .and_then(|s| s.first())
                .map(|s| s.hash)
                .ok_or_else(|| LedgerError::Malformed("chain head missing".into()))?
        };
        Ok(EntryBody {
            author,
            seq,
            prev,
            clock: max_clock.checked_add(1).ok_or(LedgerError::Overflow)?,
            kind,
        })
    }

    /// Writes, signs and inserts the next entry of `key`'s own account.
    pub fn append(
        &mut self,
        key: &crate::SecretKey,
        kind: EntryKind,
    ) -> Result<Entry, LedgerError> {
        let body = self.next_body(Account::of(&key.node_id()), kind)?;
        let entry = Entry::sign(body, key);
        self.insert(entry.clone())?;
        Ok(entry)
    }

    /// The full evaluation (module docs of [`state`]).
    fn evaluate(&self) -> LedgerState {
        let mut st = LedgerState::default();
        let mut linked: Vec<&Stored> = Vec::new();
        for (account, chain) in &self.chains {
            let freeze_at = chain.iter().find(|(_, s)| s.len() > 1).map(|(seq, _)| *seq);
            if freeze_at.is_some() {
                st.freeze(*account);
            }
            let (mut next, mut prev, mut prev_clock) = (0u64, EntryHash::GENESIS, None);
            let mut stop: Option<EntryStatus> = None;
            for (seq, slot) in chain {
                for s in slot {
                    let status = if freeze_at.is_some_and(|f| *seq >= f) {
                        EntryStatus::Frozen
                    } else if let Some(stopped) = stop {
                        stopped
                    } else if *seq != next {
                        stop = Some(EntryStatus::Pending);
                        EntryStatus::Pending
                    } else if s.entry.body.prev != prev
                        || prev_clock.is_some_and(|c| s.entry.body.clock <= c)
                    {
                        stop = Some(EntryStatus::Broken);
                        EntryStatus::Broken
                    } else {
                        linked.push(s);
                        next += 1;
                        prev = s.hash;
                        prev_clock = Some(s.entry.body.clock);
                        continue;
                    };
                    st.mark(s.hash, status);
                }
            }
        }
        linked.sort_unstable_by_key(|s| order_key(&s.entry));
        for s in linked {
            st.apply(&s.entry, s.hash);
        }
        st
    }
}
