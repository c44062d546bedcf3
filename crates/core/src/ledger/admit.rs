//! What a relay stores of the entries others write: only entries that have an effect.
//!
//! The set semantics ([`Ledger::insert`]) keep anything that verifies, and evaluation makes
//! entries without an effect harmless (void, pending, broken, frozen). Harmless is not free: an
//! account with nothing to spend could make a replica store entries without end. A replica that
//! takes writes from the network (the relay) therefore *admits* an entry only when it extends
//! its author's chain and has an effect at its turn, or when it is the proof of an equivocation:
//!
//! | entry | admitted? |
//! |---|---|
//! | the next of its author's chain (seq, prev and clock follow), ordering after everything applied, and not void | yes |
//! | the same, void (overdraft, no escrow, duplicate escrow, overflow) | no: EN-180 … EN-183 |
//! | past a gap, or with a `prev` or clock that does not follow | no: EN-179 |
//! | ordering before entries already applied (a clock too low) | no: EN-187, the writer signs again |
//! | a clock more than `MAX_CLOCK_LEAP` past the replica's (it would run every clock to its end) | no: EN-188 |
//! | a second, different entry at a seq held: an equivocation | yes, once: it is the proof, and freezes the account |
//! | anything more from a frozen account | no: EN-184 |
//!
//! So every stored entry of an account but one per equivocation did something, and each of
//! those moves at least one micro-credit the account had: stored entries are bounded by what the
//! rules can make valid, not by how fast a client can sign. Because admitted entries always order
//! after everything applied, admitting never re-evaluates the ledger: the check is the
//! application itself.

use super::state::order_key;
use super::{Inserted, Ledger, LedgerError, MAX_CLOCK_LEAP, Verified};

impl Ledger {
    /// Admits verified entries in order (module docs); one result per entry.
    pub fn admit_batch(
        &mut self,
        entries: Vec<Result<Verified, LedgerError>>,
    ) -> Vec<Result<Inserted, LedgerError>> {
        entries.into_iter().map(|v| self.admit(v?)).collect()
    }

    /// Admits one verified entry (module docs).
    pub fn admit(&mut self, verified: Verified) -> Result<Inserted, LedgerError> {
        // Admission applies in place, which needs an evaluated state (`account` evaluates).
        let state = self.account(&verified.entry().body.author);
        let entry = verified.entry();
        let (author, seq) = (entry.body.author, entry.body.seq);
        let hash = entry.hash();
        let held = self.chains.get(&author).and_then(|c| c.get(&seq));
        if let Some(slot) = held {
            if slot.iter().any(|s| s.hash == hash) {
                return Ok(Inserted::Duplicate);
            }
            // A different entry at a seq held: the proof of an equivocation, kept once.
            if state.frozen {
                return Err(LedgerError::Frozen);
            }
            return self.insert_verified(verified.into_entry());
        }
        if state.frozen {
            return Err(LedgerError::Frozen);
        }
        let next = state.chain_len;
        let prev = seq
            .checked_sub(1)
            .and_then(|p| self.chains.get(&author)?.get(&p)?.first());
        let follows = seq == next
            && match prev {
                None => seq == 0,
                Some(p) => p.hash == entry.body.prev && p.entry.body.clock < entry.body.clock,
            };
        if !follows {
            return Err(LedgerError::NotNext { seq, next });
        }
        if let Some(last) = self.state.last_key.filter(|last| order_key(entry) <= *last) {
            return Err(LedgerError::ClockBehind { clock: last.0 });
        }
        let max = self.max_clock;
        if entry.body.clock > max.saturating_add(MAX_CLOCK_LEAP) {
            return Err(LedgerError::ClockTooFar {
                clock: entry.body.clock,
                max,
            });
        }
        self.state
            .apply_effective(entry, hash)
            .map_err(|reason| reason.error())?;
        self.store_applied(verified.into_entry(), hash);
        Ok(Inserted::New)
    }
}
