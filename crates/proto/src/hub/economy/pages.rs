//! Ledger sync replies that leave the hub unencoded: a page is up to 4,096 entries, and copying
//! and encoding one takes milliseconds, so the hub hands out shared handles to the stored
//! entries ([`Output::SendEntries`]) and whoever carries the output out encodes them — the relay
//! in each connection's writer, after the lock around the hub is released.
//!
//! [`Output::SendEntries`]: crate::hub::Output::SendEntries

use std::sync::Arc;

use edgenet_core::ledger::Entry;
use edgenet_core::ledger::sync::{SyncMessage, chunk_entries};

use crate::message::{MAX_ENVELOPE, RelayMsg};

/// Entries for one connection, in `RelayMsg::Ledger(Entries)` messages once encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryPage {
    entries: Vec<Arc<Entry>>,
    encoded_len: usize,
}

impl EntryPage {
    pub(in crate::hub) fn new(entries: Vec<Arc<Entry>>) -> Self {
        // Sizes without encoding: what a byte budget counts before the page is written.
        let encoded_len = entries
            .iter()
            .map(|e| postcard::experimental::serialized_size(&**e).unwrap_or(0))
            .sum();
        Self {
            entries,
            encoded_len,
        }
    }

    /// Entries in the page.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries' encoded bytes (the frames add a few bytes each).
    pub fn encoded_len(&self) -> usize {
        self.encoded_len
    }

    /// The page as frames, each within the protocol's envelope limit.
    pub fn frames(&self) -> Vec<Vec<u8>> {
        let owned: Vec<Entry> = self.entries.iter().map(|e| Entry::clone(e)).collect();
        chunk_entries(owned, MAX_ENVELOPE)
            .into_iter()
            .filter_map(|m: SyncMessage| RelayMsg::Ledger(m).encode().ok())
            .collect()
    }
}
