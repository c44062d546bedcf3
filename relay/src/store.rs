//! The relay's embedded store: ledger entries in a redb file, durable when `persist` returns
//! (redb's default durability fsyncs on every commit).

use std::path::Path;

use edgenet_core::ledger::Entry;
use edgenet_proto::hub::EntryStore;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

/// Entry hash → encoded entry.
const ENTRIES: TableDefinition<'_, &[u8; 32], &[u8]> = TableDefinition::new("ledger_entries");

/// The ledger's table in one database file.
pub struct LedgerStore {
    db: Database,
}

impl LedgerStore {
    /// Opens (or creates) the store at `path`.
    pub fn open(path: &Path) -> Result<Self, String> {
        let db = Database::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
        // Create the table up front so that reads of an empty store succeed.
        let txn = db.begin_write().map_err(|e| e.to_string())?;
        txn.open_table(ENTRIES).map_err(|e| e.to_string())?;
        txn.commit().map_err(|e| e.to_string())?;
        Ok(Self { db })
    }

    /// Every stored entry. An entry that no longer decodes (a format from a future version) is
    /// skipped and counted, never fatal.
    pub fn load(&self) -> Result<(Vec<Entry>, usize), String> {
        let txn = self.db.begin_read().map_err(|e| e.to_string())?;
        let table = txn.open_table(ENTRIES).map_err(|e| e.to_string())?;
        let mut entries = Vec::new();
        let mut skipped = 0;
        for row in table.iter().map_err(|e| e.to_string())? {
            let (_, value) = row.map_err(|e| e.to_string())?;
            match Entry::from_bytes(value.value()) {
                Ok(entry) => entries.push(entry),
                Err(_) => skipped += 1,
            }
        }
        Ok((entries, skipped))
    }
}

impl EntryStore for LedgerStore {
    fn persist(&mut self, entries: &[Entry]) -> Result<(), String> {
        let txn = self.db.begin_write().map_err(|e| e.to_string())?;
        {
            let mut table = txn.open_table(ENTRIES).map_err(|e| e.to_string())?;
            for entry in entries {
                table
                    .insert(&entry.hash().0, entry.to_bytes().as_slice())
                    .map_err(|e| e.to_string())?;
            }
        }
        txn.commit().map_err(|e| e.to_string())
    }
}
