//! The relay's embedded store: ledger entries in a redb file, durable when `persist` returns
//! (redb's default durability fsyncs on every commit).
//!
//! What it loads it checks: a file that exists but is empty (truncated), a row whose key is not
//! its entry's hash or whose entry does not decode, and a file redb cannot read (redb may panic on
//! garbage; that is caught) are all refused, so the relay stops with EN-302 instead of starting
//! with a ledger that silently differs from what it acknowledged. Signatures are checked when the
//! hub takes the entries in (`Hub::with_store`).
//!
//! In a cluster (`cluster.rs`) the same file also holds what the ledger log needs to survive a
//! kill: the entries this relay accepted but has not yet seen the log acknowledge (the outbox,
//! written in the same commit as the entries), which entries came from other relays, and how far
//! into the log this relay has read.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use edgenet_core::NodeId;
use edgenet_core::ledger::{Entry, EntryHash};
use edgenet_proto::hub::{EntryStore, Histogram};
use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};

/// Entry hash → encoded entry.
const ENTRIES: TableDefinition<'_, &[u8; 32], &[u8]> = TableDefinition::new("ledger_entries");
/// Outbox position (in the order accepted) → encoded entry, until the log acknowledges it.
const OUTBOX: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("ledger_outbox");
/// Hashes of the entries that came from other relays through the log → the relay (NodeId bytes)
/// each came through.
const REPLICATED: TableDefinition<'_, &[u8; 32], &[u8; 32]> =
    TableDefinition::new("ledger_replicated");
/// Small counters: [`LOG_POSITION`].
const META: TableDefinition<'_, &str, u64> = TableDefinition::new("meta");
/// This relay's entries signed and waiting for other relays' attestations (`hub/cluster/attest.rs`), by
/// hash: reloaded at start, so a restart asks for the same entries again instead of signing
/// others at their places. A row goes in the same commit as its entry, once attested.
const AWAITING: TableDefinition<'_, &[u8; 32], &[u8]> = TableDefinition::new("ledger_awaiting");
/// The last log sequence number whose entries are stored.
const LOG_POSITION: &str = "log_position";

/// Upper bounds (µs) of the commit-time histogram: an fsync takes from tens of microseconds (a
/// fast SSD) to tens of milliseconds (a network disk).
pub const COMMIT_BUCKETS_US: [u64; 10] = [
    100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 100_000, 1_000_000,
];

/// How long commits took (µs), shared with `/metrics`.
pub type CommitTimes = Arc<Mutex<Histogram>>;

/// The ledger's tables in one database file. Clones share the file: the hub holds one, the
/// cluster's log tasks another.
#[derive(Clone)]
pub struct LedgerStore {
    db: Arc<Database>,
    commits: CommitTimes,
    /// Whether entries this relay accepts also go to the outbox (in a cluster), and whom to wake.
    outbox: Option<Arc<tokio::sync::Notify>>,
}

impl LedgerStore {
    /// Opens (or creates) the store at `path`; refuses a file that exists but is empty.
    pub fn open(path: &Path) -> Result<Self, String> {
        let where_ = path.display();
        // redb writes its header when it creates a file: an empty one was cut short.
        if std::fs::metadata(path).is_ok_and(|m| m.len() == 0) {
            return Err(format!(
                "{where_}: the file is empty (truncated); move it aside to start a new ledger"
            ));
        }
        let opened = catch_unwind(AssertUnwindSafe(|| -> Result<Database, String> {
            let db = Database::create(path).map_err(|e| e.to_string())?;
            // Create the table up front so that reads of an empty store succeed.
            let txn = db.begin_write().map_err(|e| e.to_string())?;
            txn.open_table(ENTRIES).map_err(|e| e.to_string())?;
            txn.open_table(OUTBOX).map_err(|e| e.to_string())?;
            txn.open_table(REPLICATED).map_err(|e| e.to_string())?;
            txn.open_table(META).map_err(|e| e.to_string())?;
            txn.open_table(AWAITING).map_err(|e| e.to_string())?;
            txn.commit().map_err(|e| e.to_string())?;
            Ok(db)
        }));
        let db = opened
            .map_err(|_| format!("{where_}: the database is damaged (redb could not read it)"))?
            .map_err(|e| format!("{where_}: {e}"))?;
        Ok(Self {
            db: Arc::new(db),
            commits: Arc::new(Mutex::new(Histogram::new(&COMMIT_BUCKETS_US))),
            outbox: None,
        })
    }

    /// From now on, every entry [`EntryStore::persist`] stores also goes to the outbox, and
    /// `wake` is notified.
    pub fn with_outbox(mut self, wake: Arc<tokio::sync::Notify>) -> Self {
        self.outbox = Some(wake);
        self
    }

    /// The stored entries that came from other relays, and the relay each came through.
    pub fn replicated(&self) -> Result<HashMap<EntryHash, NodeId>, String> {
        let txn = self.db.begin_read().map_err(|e| e.to_string())?;
        let table = txn.open_table(REPLICATED).map_err(|e| e.to_string())?;
        let mut out = HashMap::new();
        for row in table.iter().map_err(|e| e.to_string())? {
            let (key, from) = row.map_err(|e| e.to_string())?;
            let from = NodeId::from_bytes(from.value())
                .map_err(|e| format!("damaged ledger store: a replicated entry's relay: {e}"))?;
            out.insert(EntryHash(*key.value()), from);
        }
        Ok(out)
    }

    /// Up to `limit` outbox rows, oldest first: (position, encoded entry).
    pub fn outbox_page(&self, limit: usize) -> Result<Vec<(u64, Vec<u8>)>, String> {
        let txn = self.db.begin_read().map_err(|e| e.to_string())?;
        let table = txn.open_table(OUTBOX).map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        for row in table.iter().map_err(|e| e.to_string())?.take(limit) {
            let (key, value) = row.map_err(|e| e.to_string())?;
            out.push((key.value(), value.value().to_vec()));
        }
        Ok(out)
    }

    /// Outbox rows waiting for the log.
    pub fn outbox_len(&self) -> Result<u64, String> {
        let txn = self.db.begin_read().map_err(|e| e.to_string())?;
        let table = txn.open_table(OUTBOX).map_err(|e| e.to_string())?;
        table.len().map_err(|e| e.to_string())
    }

    /// The log acknowledged every outbox row up to `position`. Not synced to disk on its own
    /// (the next entry's commit syncs it): losing it to a crash only publishes those rows again,
    /// which the log's duplicate window drops and merging ignores.
    pub fn published(&self, position: u64) -> Result<(), String> {
        let txn = Self::lazy_write(&self.db)?;
        {
            let mut table = txn.open_table(OUTBOX).map_err(|e| e.to_string())?;
            table
                .retain_in(..=position, |_, _| false)
                .map_err(|e| e.to_string())?;
        }
        txn.commit().map_err(|e| e.to_string())
    }

    /// The last log sequence number whose entries are stored (0: none).
    pub fn log_position(&self) -> Result<u64, String> {
        let txn = self.db.begin_read().map_err(|e| e.to_string())?;
        let table = txn.open_table(META).map_err(|e| e.to_string())?;
        Ok(table
            .get(LOG_POSITION)
            .map_err(|e| e.to_string())?
            .map_or(0, |v| v.value()))
    }

    /// Records that the log's entries up to `position` are stored. Not synced on its own, as
    /// [`LedgerStore::published`]: a crash only makes the relay read a few entries again.
    pub fn set_log_position(&self, position: u64) -> Result<(), String> {
        let txn = Self::lazy_write(&self.db)?;
        {
            let mut table = txn.open_table(META).map_err(|e| e.to_string())?;
            table
                .insert(LOG_POSITION, position)
                .map_err(|e| e.to_string())?;
        }
        txn.commit().map_err(|e| e.to_string())
    }

    /// A write whose commit is not synced by itself (no fsync): for bookkeeping that is safe to
    /// lose and redo.
    fn lazy_write(db: &Database) -> Result<redb::WriteTransaction, String> {
        let mut txn = db.begin_write().map_err(|e| e.to_string())?;
        txn.set_durability(redb::Durability::None)
            .map_err(|e| e.to_string())?;
        Ok(txn)
    }

    /// Stores `entries` in one commit; `replicated` marks them as that relay's, otherwise (in a
    /// cluster) they go to the outbox too.
    fn write(&self, entries: &[Entry], replicated: Option<&NodeId>) -> Result<(), String> {
        let start = Instant::now();
        let txn = self.db.begin_write().map_err(|e| e.to_string())?;
        {
            let mut table = txn.open_table(ENTRIES).map_err(|e| e.to_string())?;
            for entry in entries {
                table
                    .insert(&entry.hash().0, entry.to_bytes().as_slice())
                    .map_err(|e| e.to_string())?;
            }
            let mut awaiting = txn.open_table(AWAITING).map_err(|e| e.to_string())?;
            if !awaiting.is_empty().map_err(|e| e.to_string())? {
                for entry in entries {
                    awaiting
                        .remove(&entry.hash().0)
                        .map_err(|e| e.to_string())?;
                }
            }
            if let Some(from) = replicated {
                let mut theirs = txn.open_table(REPLICATED).map_err(|e| e.to_string())?;
                for entry in entries {
                    theirs
                        .insert(&entry.hash().0, from.as_bytes())
                        .map_err(|e| e.to_string())?;
                }
            } else if self.outbox.is_some() {
                let mut outbox = txn.open_table(OUTBOX).map_err(|e| e.to_string())?;
                let first = outbox
                    .last()
                    .map_err(|e| e.to_string())?
                    .map_or(1, |(k, _)| k.value() + 1);
                for (position, entry) in (first..).zip(entries) {
                    outbox
                        .insert(position, entry.to_bytes().as_slice())
                        .map_err(|e| e.to_string())?;
                }
            }
        }
        txn.commit().map_err(|e| e.to_string())?;
        let us = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.commits
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .observe(us);
        if let Some(wake) = self.outbox.as_ref().filter(|_| replicated.is_none()) {
            wake.notify_one();
        }
        Ok(())
    }

    /// The commit times, which keep filling after the store is handed to the hub.
    pub fn commit_times(&self) -> CommitTimes {
        self.commits.clone()
    }

    /// This relay's entries that wait for attestations, in chain order (the hub checks them
    /// again as it takes them back).
    pub fn awaiting(&self) -> Result<Vec<Entry>, String> {
        let txn = self.db.begin_read().map_err(|e| e.to_string())?;
        let table = txn.open_table(AWAITING).map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        for row in table.iter().map_err(|e| e.to_string())? {
            let (_, value) = row.map_err(|e| e.to_string())?;
            let entry = Entry::from_bytes(value.value())
                .map_err(|e| format!("damaged ledger store: an awaiting entry: {e}"))?;
            out.push(entry);
        }
        out.sort_by_key(|e| e.body.seq);
        Ok(out)
    }

    /// Every stored entry, each checked against the hash it is stored under; the first row that
    /// does not decode or does not match is an error naming it.
    pub fn load(&self) -> Result<Vec<Entry>, String> {
        let read = catch_unwind(AssertUnwindSafe(|| -> Result<Vec<Entry>, String> {
            let txn = self.db.begin_read().map_err(|e| e.to_string())?;
            let table = txn.open_table(ENTRIES).map_err(|e| e.to_string())?;
            let mut entries = Vec::new();
            for row in table.iter().map_err(|e| e.to_string())? {
                let (key, value) = row.map_err(|e| e.to_string())?;
                let key = *key.value();
                let hex = |k: &[u8; 32]| k.iter().map(|b| format!("{b:02x}")).collect::<String>();
                let entry = Entry::from_bytes(value.value())
                    .map_err(|e| format!("entry {} does not decode: {e}", hex(&key)))?;
                if entry.hash().0 != key {
                    return Err(format!("entry {} does not match its hash", hex(&key)));
                }
                entries.push(entry);
            }
            Ok(entries)
        }));
        read.map_err(|_| "the database is damaged (redb could not read it)".to_owned())?
            .map_err(|e| format!("damaged ledger store: {e}"))
    }
}

impl EntryStore for LedgerStore {
    fn persist(&mut self, entries: &[Entry]) -> Result<(), String> {
        self.write(entries, None)
    }

    fn persist_replicated(&mut self, from: &NodeId, entries: &[Entry]) -> Result<(), String> {
        self.write(entries, Some(from))
    }

    fn await_attestations(&mut self, entries: &[Entry]) -> Result<(), String> {
        let txn = self.db.begin_write().map_err(|e| e.to_string())?;
        {
            let mut table = txn.open_table(AWAITING).map_err(|e| e.to_string())?;
            for entry in entries {
                table
                    .insert(&entry.hash().0, entry.to_bytes().as_slice())
                    .map_err(|e| e.to_string())?;
            }
        }
        txn.commit().map_err(|e| e.to_string())
    }
}
