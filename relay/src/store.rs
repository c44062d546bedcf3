//! The relay's embedded store: ledger entries in a redb file, durable when `persist` returns
//! (redb's default durability fsyncs on every commit).
//!
//! What it loads it checks: a file that exists but is empty (truncated), a row whose key is not
//! its entry's hash or whose entry does not decode, and a file redb cannot read (redb may panic on
//! garbage; that is caught) are all refused, so the relay stops with EN-302 instead of starting
//! with a ledger that silently differs from what it acknowledged. Signatures are checked when the
//! hub takes the entries in (`Hub::with_store`).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use edgenet_core::ledger::Entry;
use edgenet_proto::hub::{EntryStore, Histogram};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

/// Entry hash → encoded entry.
const ENTRIES: TableDefinition<'_, &[u8; 32], &[u8]> = TableDefinition::new("ledger_entries");

/// Upper bounds (µs) of the commit-time histogram: an fsync takes from tens of microseconds (a
/// fast SSD) to tens of milliseconds (a network disk).
pub const COMMIT_BUCKETS_US: [u64; 10] = [
    100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 100_000, 1_000_000,
];

/// How long commits took (µs), shared with `/metrics`.
pub type CommitTimes = Arc<Mutex<Histogram>>;

/// The ledger's table in one database file.
pub struct LedgerStore {
    db: Database,
    commits: CommitTimes,
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
            txn.commit().map_err(|e| e.to_string())?;
            Ok(db)
        }));
        let db = opened
            .map_err(|_| format!("{where_}: the database is damaged (redb could not read it)"))?
            .map_err(|e| format!("{where_}: {e}"))?;
        Ok(Self {
            db,
            commits: Arc::new(Mutex::new(Histogram::new(&COMMIT_BUCKETS_US))),
        })
    }

    /// The commit times, which keep filling after the store is handed to the hub.
    pub fn commit_times(&self) -> CommitTimes {
        self.commits.clone()
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
        let start = Instant::now();
        let txn = self.db.begin_write().map_err(|e| e.to_string())?;
        {
            let mut table = txn.open_table(ENTRIES).map_err(|e| e.to_string())?;
            for entry in entries {
                table
                    .insert(&entry.hash().0, entry.to_bytes().as_slice())
                    .map_err(|e| e.to_string())?;
            }
        }
        txn.commit().map_err(|e| e.to_string())?;
        let us = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.commits
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .observe(us);
        Ok(())
    }
}
