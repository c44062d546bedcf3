//! Entries whose every check that needs no other entry has passed: shape and size, the author's
//! signature, validator attestations, slash evidence. Checking them needs only the validator set,
//! not the ledger, so a relay does it outside the lock that guards its replica (one
//! [`Verifier`] per connection) and hands the replica [`Verified`] entries.

use super::LedgerError;
use super::config::LedgerConfig;
use super::entry::{Entry, EntryBody, EntryKind};
use super::sigcheck::{self, KeyCache};

/// An entry [`verify_batch`] accepted. Only that function makes one, so a replica that takes a
/// `Verified` knows its signatures were checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified(Entry);

impl Verified {
    /// The entry.
    pub fn entry(&self) -> &Entry {
        &self.0
    }

    /// The entry, for storing.
    pub fn into_entry(self) -> Entry {
        self.0
    }
}

/// Checks many entries, the authors' signatures as one batch ([`sigcheck::verify_batch_with`]:
/// the same answers as one by one, about twice as fast); entries with attestations or evidence
/// are checked one by one. One result per entry, in order.
pub fn verify_batch(
    config: &LedgerConfig,
    keys: &mut KeyCache,
    entries: Vec<Entry>,
) -> Vec<Result<Verified, LedgerError>> {
    let simple =
        |e: &Entry| e.attestations.is_empty() && !matches!(e.body.kind, EntryKind::Slash { .. });
    let messages: Vec<Result<Vec<u8>, LedgerError>> = entries
        .iter()
        .map(|e| {
            e.check_shape()?;
            Ok(EntryBody::signing_message(&e.body.to_bytes()))
        })
        .collect();
    let batch_ok = {
        let items: Vec<sigcheck::Item<'_>> = entries
            .iter()
            .zip(&messages)
            .filter(|(e, m)| m.is_ok() && simple(e))
            .filter_map(|(e, m)| {
                Some(sigcheck::Item {
                    signer: &e.body.author,
                    message: m.as_ref().ok()?,
                    signature: &e.signature,
                })
            })
            .collect();
        sigcheck::verify_batch_with(&items, keys).is_ok()
    };
    entries
        .into_iter()
        .zip(messages)
        .map(|(e, message)| {
            let message = message?;
            if batch_ok && simple(&e) {
                e.verify_authority(config, &message, keys)?;
            } else {
                e.verify_with(config, keys)?;
            }
            Ok(Verified(e))
        })
        .collect()
}

/// Verifies entries for one replica without borrowing it: the validator set and a key cache of
/// its own (bounded, as a connection's should be).
#[derive(Debug, Clone)]
pub struct Verifier {
    config: LedgerConfig,
    keys: KeyCache,
}

impl Verifier {
    /// Keys a verifier caches: about the accounts one connection speaks for.
    pub const KEYS: usize = 4096;

    /// A verifier for a network with this validator set.
    pub fn new(config: LedgerConfig) -> Self {
        Self {
            config,
            keys: KeyCache::with_capacity(Self::KEYS),
        }
    }

    /// [`verify_batch`] with this verifier's set and cache.
    pub fn verify(&mut self, entries: Vec<Entry>) -> Vec<Result<Verified, LedgerError>> {
        verify_batch(&self.config, &mut self.keys, entries)
    }
}
