//! The relay's replica of the credit ledger: reconciliation with each node (heads → wants →
//! entries) and durable storage before any acknowledgement.
//!
//! Storage is passed in as an [`EntryStore`] (the relay's embedded database; memory in tests), so
//! the hub stays free of IO: it calls `persist` and acknowledges only after it returns `Ok`.

use edgenet_core::ErrorCode;
use edgenet_core::NodeId;
use edgenet_core::ledger::sync::SyncMessage;
use edgenet_core::ledger::{
    Account, Entry, EntryKind, Inserted, Ledger, LedgerError, MintReason, Verified,
};

use crate::Millis;
use crate::error::ProtoError;
use crate::hub::timers::Timer;
use crate::hub::{EntryPage, Hub};
use crate::message::{RelayMsg, SYNC_PAGE};

/// Where the relay keeps ledger entries. `persist` returns only once the entries are durable.
pub trait EntryStore {
    /// Stores new entries durably (all or none).
    fn persist(&mut self, entries: &[Entry]) -> Result<(), String>;

    /// Stores entries that the relay `from` of the cluster accepted (`hub/cluster/replica.rs`): durable
    /// as [`EntryStore::persist`], but not to be published again, and remembered as `from`'s.
    fn persist_replicated(&mut self, from: &NodeId, entries: &[Entry]) -> Result<(), String> {
        let _ = from;
        self.persist(entries)
    }

    /// Keeps the relay's own entries that wait for attestations (`hub/cluster/attest.rs`), so that a
    /// restart asks for the same ones again; [`EntryStore::persist`] of an entry forgets it
    /// there. A store that keeps nothing loses them with the process.
    fn await_attestations(&mut self, entries: &[Entry]) -> Result<(), String> {
        let _ = entries;
        Ok(())
    }
}

/// Keeps nothing: for tests and for relays run without a data folder.
#[derive(Debug, Default, Clone, Copy)]
pub struct MemoryStore;

impl EntryStore for MemoryStore {
    fn persist(&mut self, _entries: &[Entry]) -> Result<(), String> {
        Ok(())
    }
}

impl Hub {
    /// Uses `store` from now on, after loading `entries` it returned at start-up. They are
    /// verified again (signatures and attestations, as a batch): a store is a file, and a file can
    /// be damaged or edited; any entry that fails is an error, so a damaged store never starts a
    /// ledger that differs from what the relay acknowledged.
    pub fn with_store(
        self,
        store: Box<dyn EntryStore + Send>,
        entries: Vec<Entry>,
    ) -> Result<Self, edgenet_core::ledger::LedgerError> {
        self.with_cluster_store(store, entries, &std::collections::HashMap::new())
    }

    /// The relay's ledger replica (reads for the HTTP API; validator entries the relay writes).
    pub fn ledger(&mut self) -> &mut Ledger {
        &mut self.ledger
    }

    /// Appends an entry the relay itself writes (as validator) and stores it durably; `None`
    /// when it waits for other relays' attestations first (`hub/cluster/attest.rs`).
    pub fn write_ledger(&mut self, kind: EntryKind) -> Result<Option<Entry>, ProtoError> {
        Ok(self.write_entries(vec![kind])?.pop())
    }

    /// Appends the relay's entries to its chain and stores them in one commit; nothing is to be
    /// announced unless this returns `Ok`. With a validator threshold above 1 they wait for
    /// attestations instead, and this returns none of them: they are stored, applied and sent to
    /// the accounts they name once attested.
    pub(in crate::hub) fn write_entries(
        &mut self,
        kinds: Vec<EntryKind>,
    ) -> Result<Vec<Entry>, ProtoError> {
        if self.needs_attestations() {
            self.write_awaiting(kinds)?;
            return Ok(Vec::new());
        }
        let mut entries = Vec::with_capacity(kinds.len());
        for kind in kinds {
            let entry = self
                .ledger
                .append(&self.key, kind)
                .map_err(|e| ProtoError::NotStored(e.to_string()))?;
            entries.push(entry);
        }
        let stored = self.store.persist(&entries);
        self.metrics.store_ok = stored.is_ok();
        stored.map_err(ProtoError::NotStored)?;
        self.note_written(&entries);
        Ok(entries)
    }

    pub(in crate::hub) fn handle_ledger(
        &mut self,
        node: NodeId,
        sync: SyncMessage,
        now: Millis,
    ) -> Result<(), ProtoError> {
        match sync {
            SyncMessage::Heads(heads) => {
                let (push, wants) = self.ledger.receive_heads_shared(&heads, SYNC_PAGE);
                self.charge_reply(node, push.len(), now)?;
                self.send_entries(&node, push);
                if !wants.is_empty() {
                    self.send_to(&node, &RelayMsg::Ledger(SyncMessage::Wants(wants)));
                }
            }
            SyncMessage::Wants(wants) => {
                let entries = self.ledger.receive_wants_shared(&wants, SYNC_PAGE);
                self.charge_reply(node, entries.len(), now)?;
                self.send_entries(&node, entries);
                let clock = self.ledger.max_clock();
                self.send_to(
                    &node,
                    &RelayMsg::LedgerAck {
                        held: 0,
                        rejected: 0,
                        code: None,
                        clock,
                    },
                );
            }
            SyncMessage::Entries(entries) => {
                let verified = self.decoder.verify_entries(entries);
                return self.handle_entries(node, verified, now);
            }
        }
        Ok(())
    }

    /// A sync reply counts against the asker's rate window by the entries it carries, as the
    /// entries a client sends do: one small `Wants` must not buy a page of the relay's time and
    /// bandwidth for the price of one message. Past the window the reply is not sent (EN-207).
    fn charge_reply(
        &mut self,
        node: NodeId,
        entries: usize,
        now: Millis,
    ) -> Result<(), ProtoError> {
        let limit = self.config.max_messages_per_minute;
        let cost = u64::try_from(entries).unwrap_or(u64::MAX);
        let elsewhere = self.remote.messages_elsewhere(&node);
        self.rates
            .count(node, cost, elsewhere, now, limit, &mut self.timers)
    }

    /// Entries from `node`, verified (outside the hub, by a [`crate::hub::Decoder`]): admitted as
    /// `Ledger::admit` rules (only entries with an effect are stored), stored durably, then
    /// acknowledged with how many are held and the first refusal's code.
    pub(in crate::hub) fn handle_entries(
        &mut self,
        node: NodeId,
        entries: Vec<Result<Verified, LedgerError>>,
        now: Millis,
    ) -> Result<(), ProtoError> {
        let (mut held, mut rejected, mut code) = (0u32, 0u32, None);
        let mut fresh = Vec::new();
        for verified in entries {
            let entry = verified.as_ref().ok().map(|v| v.entry().clone());
            match verified.and_then(|v| self.ledger.admit(v)) {
                Ok(Inserted::New) => {
                    fresh.extend(entry);
                    held += 1;
                }
                Ok(Inserted::Duplicate | Inserted::Redundant) => held += 1,
                Err(e) => {
                    rejected += 1;
                    code.get_or_insert_with(|| e.code().to_owned());
                }
            }
        }
        // Durable before acknowledged: a relay killed after this ack still has them.
        if !fresh.is_empty() {
            self.store.persist(&fresh).map_err(ProtoError::NotStored)?;
        }
        self.watch_escrows(&fresh, now);
        let clock = self.ledger.max_clock();
        self.send_to(
            &node,
            &RelayMsg::LedgerAck {
                held,
                rejected,
                code,
                clock,
            },
        );
        Ok(())
    }

    /// The uptime bonus: every worker (a peer that offers task kinds) online for a whole period in
    /// one connection gets `uptime_bonus` per period, and the early-adopter bonus on it, minted
    /// by the relay and sent to it, if it proved the period's work (`hub/economy/work.rs`). Partial
    /// periods are not paid: a reconnect starts a new one.
    pub(in crate::hub) fn pay_uptime(&mut self, node: &[u8; 32], now: Millis) {
        let period = self.config.uptime_period_ms;
        let Some(id) = NodeId::from_bytes(node).ok() else {
            return;
        };
        let Some(unpaid_since) = self
            .peers
            .get(&id)
            .filter(|p| p.is_worker())
            .map(|p| p.unpaid_since)
        else {
            return;
        };
        let periods = now.saturating_sub(unpaid_since) / period.max(1);
        // Each period paid spends a proof of work; periods without one pass unpaid.
        let proven = periods.min(self.banked_work(&id));
        let amount = proven
            .checked_mul(self.config.uptime_bonus)
            .map(|a| self.with_bonus(a));
        let mut next = unpaid_since + period;
        if let Some(amount) = amount.filter(|_| proven > 0) {
            let seconds = u32::try_from(proven * period / 1000).unwrap_or(u32::MAX);
            let kind = EntryKind::Mint {
                to: Account::of(&id),
                amount,
                reason: MintReason::Uptime { seconds },
            };
            // Not stored, not paid: the period stays unpaid and is tried again next time.
            if let Ok(written) = self.write_ledger(kind) {
                self.network_work_s = self.network_work_s.saturating_add(u64::from(seconds));
                for _ in 0..proven {
                    self.spend_work(&id);
                }
                if let Some(entry) = written {
                    self.send_to(&id, &RelayMsg::Ledger(SyncMessage::Entries(vec![entry])));
                }
            } else {
                self.timers.set(Timer::Uptime(*node), next);
                return;
            }
        }
        if let Some(p) = self.peers.get_mut(&id) {
            p.unpaid_since += periods * period;
            next = p.unpaid_since + period;
        }
        self.timers.set(Timer::Uptime(*node), next);
    }

    /// A sync reply: shared handles, encoded by whoever carries the output out ([`EntryPage`]).
    fn send_entries(&mut self, node: &NodeId, entries: Vec<std::sync::Arc<Entry>>) {
        if entries.is_empty() {
            return;
        }
        if let Some(conn) = self.peers.conn(node) {
            self.stats.frames_out += 1;
            let page = EntryPage::new(entries);
            match self.remote.borrowed_on(conn) {
                Some((relay, worker)) => {
                    for frame in page.frames() {
                        self.forward_to_worker(relay, worker, frame);
                    }
                }
                None => self
                    .out
                    .push_back(crate::hub::Output::SendEntries(conn, page)),
            }
        }
    }
}
