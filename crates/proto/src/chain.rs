//! A node's own ledger chain: the entries it signs itself (the escrow of each paid submission),
//! written one at a time against what the relay holds, so a node never signs two entries with one
//! sequence number (an equivocation freezes its account for good).
//!
//! One write, as messages:
//!
//! ```text
//! Wants(me, from: last held)  ──▶  relay
//!                             ◀──  Entries(my chain from there) … LedgerAck { clock }
//! Entries([new entry])        ──▶  relay     (sign: seq and prev after the longest chain seen,
//!                                             clock past the relay's)
//!                             ◀──  LedgerAck { held: 1, rejected: 0 }  ⇒ Written
//! ```
//!
//! The relay answers every `Wants` and `Entries` with exactly one `LedgerAck`, in order, which is
//! how acks are matched to steps. Asking for the chain again before each write (not trusting a
//! cached head) is what makes two writers of one identity safe when they take turns, such as two
//! tabs under one Web Lock: each sees the other's entries before signing. The entries this node
//! already holds (given with [`ChainWriter::know`]) are asked for from the last one on; if the
//! relay lacks that one, the whole held chain goes out again with the new entry (the relay keeps
//! duplicates as held), so a relay that lost entries gets them back instead of a fork.
//!
//! An entry counts as written only once the relay acknowledged it: one signed but never
//! acknowledged is dropped, and the next write takes its sequence number again. That is not an
//! equivocation, because nobody else holds the dropped one — and had the relay kept it after
//! all, the next write's `Wants` returns it first.

use std::collections::VecDeque;

use edgenet_core::ledger::sync::{SyncMessage, Want, chunk_entries};
use edgenet_core::ledger::{Account, Entry, EntryKind, Ledger, LedgerError};
use edgenet_core::{ErrorCode, SecretKey};

use crate::error::ProtoError;
use crate::message::{ClientMsg, MAX_ENVELOPE, RelayMsg, SYNC_PAGE};

/// Names one write, to match its event.
pub type WriteId = u64;

/// How a write came out.
#[derive(Debug, Clone, PartialEq)]
pub enum ChainEvent {
    /// The relay holds the new entry (durably: it acknowledges only after storing).
    Written {
        /// The write.
        id: WriteId,
        /// The entry written (boxed: an entry is large beside an error).
        entry: Box<Entry>,
    },
    /// The write did not happen; nothing was locked.
    Refused {
        /// The write.
        id: WriteId,
        /// Why (the relay's code, or this node's ledger error).
        error: ProtoError,
    },
}

enum Step {
    Idle,
    /// `Wants` sent; collecting the chain until its ack.
    Fetching {
        id: WriteId,
        kind: EntryKind,
        /// Whether the relay showed it holds this node's last held entry.
        relay_has_last: bool,
        /// Entries of this page so far: a full page ([`SYNC_PAGE`]) means more may follow.
        page: usize,
    },
    /// The entry (and possibly the chain before it) sent in `acks_left` messages.
    Storing {
        id: WriteId,
        entry: Entry,
        sent: u32,
        acks_left: usize,
        held: u32,
        rejected: u32,
        code: Option<String>,
    },
}

/// Writes this node's own ledger entries through one relay connection (module docs).
pub struct ChainWriter {
    key: SecretKey,
    me: Account,
    /// This node's chain as far as known (a replica holding only its own account).
    own: Ledger,
    queue: VecDeque<(WriteId, EntryKind)>,
    next_id: WriteId,
    step: Step,
    outgoing: VecDeque<ClientMsg>,
    events: VecDeque<ChainEvent>,
    /// Tries of the current write refused as signed too early (EN-187).
    retries: u32,
}

/// How often one write is signed again after the relay applied a later entry first.
const MAX_RETRIES: u32 = 4;

impl ChainWriter {
    /// A writer for `key`'s account, knowing nothing of its chain yet.
    pub fn new(key: SecretKey) -> Self {
        // Only this node's own entries go in, and those need no validator: the set is a formality.
        let own = edgenet_core::ledger::Ledger::single_validator(&key);
        Self {
            me: Account::of(&key.node_id()),
            key,
            own,
            queue: VecDeque::new(),
            next_id: 0,
            step: Step::Idle,
            outgoing: VecDeque::new(),
            events: VecDeque::new(),
            retries: 0,
        }
    }

    /// Adds entries this node kept from earlier (its store); others' entries and entries that do
    /// not verify are skipped.
    pub fn know(&mut self, entries: impl IntoIterator<Item = Entry>) {
        for entry in entries {
            if entry.body.author == self.me {
                let _ = self.own.insert(entry);
            }
        }
    }

    /// Entries of this node's chain known here.
    fn chain_len(&mut self) -> u64 {
        self.own.account(&self.me).chain_len
    }

    /// Queues the next entry of this node's chain; its [`ChainEvent`] carries the returned id.
    pub fn write(&mut self, kind: EntryKind) -> WriteId {
        let id = self.next_id;
        self.next_id += 1;
        self.queue.push_back((id, kind));
        self.start_next();
        id
    }

    /// Handles a relay message (every one may be passed; those not about ledger writes are
    /// ignored). Entries of this node's chain are taken in whenever they come.
    pub fn handle(&mut self, msg: &RelayMsg) {
        match msg {
            RelayMsg::Ledger(SyncMessage::Entries(entries)) => self.take_entries(entries),
            RelayMsg::LedgerAck {
                held,
                rejected,
                code,
                clock,
            } => self.handle_ack(*held, *rejected, code.clone(), *clock),
            // The relay answers a store that failed with this instead of an ack.
            RelayMsg::Error { code, message }
                if code == ProtoError::NotStored(String::new()).code() =>
            {
                if let Step::Storing { id, .. } = self.step {
                    self.step = Step::Idle;
                    self.events.push_back(ChainEvent::Refused {
                        id,
                        error: ProtoError::Remote {
                            code: code.clone(),
                            message: message.clone(),
                        },
                    });
                    self.start_next();
                }
            }
            _ => {}
        }
    }

    /// The connection is gone: the write in progress and the queued ones are dropped (their ids
    /// are returned; no events). What was acknowledged stays known.
    pub fn handle_disconnect(&mut self) -> Vec<WriteId> {
        let mut dropped: Vec<WriteId> = self.queue.drain(..).map(|(id, _)| id).collect();
        match std::mem::replace(&mut self.step, Step::Idle) {
            Step::Idle => {}
            Step::Fetching { id, .. } | Step::Storing { id, .. } => dropped.insert(0, id),
        }
        self.outgoing.clear();
        dropped
    }

    /// The next message to send to the relay.
    pub fn poll_outgoing(&mut self) -> Option<ClientMsg> {
        self.outgoing.pop_front()
    }

    /// The next finished write.
    pub fn poll_event(&mut self) -> Option<ChainEvent> {
        self.events.pop_front()
    }

    fn start_next(&mut self) {
        if !matches!(self.step, Step::Idle) {
            return;
        }
        let Some((id, kind)) = self.queue.pop_front() else {
            return;
        };
        let len = self.chain_len();
        self.outgoing
            .push_back(ClientMsg::Ledger(SyncMessage::Wants(vec![Want {
                account: self.me,
                from: len.saturating_sub(1),
            }])));
        self.step = Step::Fetching {
            id,
            kind,
            relay_has_last: len == 0,
            page: 0,
        };
    }

    fn take_entries(&mut self, entries: &[Entry]) {
        let last = self.chain_len().checked_sub(1);
        if let Step::Fetching { page, .. } = &mut self.step {
            *page += entries.len();
        }
        for entry in entries.iter().filter(|e| e.body.author == self.me) {
            if let Step::Fetching { relay_has_last, .. } = &mut self.step {
                let same_as_mine = Some(entry.body.seq) == last
                    && self
                        .own
                        .chain_from(&self.me, entry.body.seq)
                        .next()
                        .is_some_and(|mine| mine.hash() == entry.hash());
                *relay_has_last |= same_as_mine;
            }
            // A copy that differs from this node's own at one seq is an equivocation the ledger
            // records (and the next write is refused as frozen), never a silent overwrite.
            let _ = self.own.insert(entry.clone());
        }
    }

    fn handle_ack(&mut self, held: u32, rejected: u32, code: Option<String>, clock: u64) {
        match std::mem::replace(&mut self.step, Step::Idle) {
            Step::Idle => {}
            Step::Fetching {
                id,
                kind,
                relay_has_last,
                page,
            } => {
                self.own.observe_clock(clock);
                if page >= SYNC_PAGE {
                    // A full page: the chain may go on. Ask for the rest before signing, or the
                    // next seq would collide with one the relay already holds.
                    let from = self.chain_len();
                    self.outgoing
                        .push_back(ClientMsg::Ledger(SyncMessage::Wants(vec![Want {
                            account: self.me,
                            from,
                        }])));
                    self.step = Step::Fetching {
                        id,
                        kind,
                        relay_has_last,
                        page: 0,
                    };
                    return;
                }
                match self.sign(kind) {
                    Ok(entry) => {
                        let mut send: Vec<Entry> = if relay_has_last {
                            Vec::new()
                        } else {
                            self.own.chain_from(&self.me, 0).cloned().collect()
                        };
                        send.push(entry.clone());
                        let sent = u32::try_from(send.len()).unwrap_or(u32::MAX);
                        let messages = chunk_entries(send, MAX_ENVELOPE);
                        let acks_left = messages.len();
                        self.outgoing
                            .extend(messages.into_iter().map(ClientMsg::Ledger));
                        self.step = Step::Storing {
                            id,
                            entry,
                            sent,
                            acks_left,
                            held: 0,
                            rejected: 0,
                            code: None,
                        };
                        return;
                    }
                    Err(error) => self.events.push_back(ChainEvent::Refused { id, error }),
                }
            }
            Step::Storing {
                id,
                entry,
                sent,
                acks_left,
                held: held_so_far,
                rejected: rejected_so_far,
                code: first_code,
            } => {
                let held = held_so_far + held;
                let rejected = rejected_so_far + rejected;
                let code = first_code.or(code);
                if acks_left > 1 {
                    self.step = Step::Storing {
                        id,
                        entry,
                        sent,
                        acks_left: acks_left - 1,
                        held,
                        rejected,
                        code,
                    };
                    return;
                }
                let behind = ProtoError::from(LedgerError::ClockBehind { clock: 0 });
                if rejected > 0
                    && code.as_deref() == Some(behind.code())
                    && self.retries < MAX_RETRIES
                {
                    // Another writer's entry got in first with a later clock: ask again, sign
                    // again with a clock past it. Nothing was stored, so the seq is free.
                    self.retries += 1;
                    self.queue.push_front((id, entry.body.kind));
                    self.start_next();
                    return;
                }
                self.retries = 0;
                if rejected == 0 && held == sent {
                    let _ = self.own.insert(entry.clone());
                    self.events.push_back(ChainEvent::Written {
                        id,
                        entry: Box::new(entry),
                    });
                } else {
                    self.events.push_back(ChainEvent::Refused {
                        id,
                        error: ProtoError::Remote {
                            code: code.unwrap_or_else(|| "EN-219".into()),
                            message: format!(
                                "the relay kept {held} of {sent} entries of this node's chain"
                            ),
                        },
                    });
                }
            }
        }
        self.start_next();
    }

    fn sign(&mut self, kind: EntryKind) -> Result<Entry, ProtoError> {
        let body = self.own.next_body(self.me, kind)?;
        Ok(Entry::sign(body, &self.key))
    }
}
