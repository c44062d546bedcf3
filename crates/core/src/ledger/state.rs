//! Deterministic evaluation: from a set of verified entries to balances, stakes, escrows,
//! reputations and frozen accounts. The result depends only on the set, never on arrival order
//! (the rules are written down in `docs/ledger.md`):
//!
//! 1. Per account, the chain is the run of entries from seq 0 in which each entry's `prev` is the
//!    hash of the one before and its clock is greater. The chain stops at a gap (an entry not yet
//!    received: later ones are *pending*) or a broken link (later ones are *broken*).
//! 2. Two different entries of one account at one seq are an equivocation: the account is frozen,
//!    and none of its entries from that seq on has any effect.
//! 3. The chains' entries apply in the order (clock, author, seq). An entry whose rule fails at
//!    its turn (overdraft, no such escrow, too little stake) is *void*: no effect, chain goes on.

use std::collections::{BTreeMap, HashMap};

use super::LedgerError;
use super::account::Account;
use super::entry::{Entry, EntryHash, EntryKind};
use crate::task::TaskId;

/// What one entry did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryStatus {
    /// Its effect is in the balances.
    Applied,
    /// In the chain, but its rule failed at its turn; the error says which rule.
    Void(VoidReason),
    /// Waiting for an earlier entry of its chain.
    Pending,
    /// Its chain is broken before or at it (`prev` or clock does not follow).
    Broken,
    /// Its author equivocated at or before its seq.
    Frozen,
}

/// Why an entry in a chain had no effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VoidReason {
    /// The author's balance (or stake) was lower than the amount at the entry's turn.
    Overdraft,
    /// No open escrow of that payer for that task, or it holds less than the payment.
    NoEscrow,
    /// An escrow for this task is already open.
    DuplicateEscrow,
    /// A sum would pass `u64::MAX` micro-credits.
    Overflow,
}

impl VoidReason {
    /// The matching error, for messages and codes.
    pub fn error(self) -> LedgerError {
        match self {
            Self::Overdraft => LedgerError::Overdraft,
            Self::NoEscrow => LedgerError::NoEscrow,
            Self::DuplicateEscrow => LedgerError::DuplicateEscrow,
            Self::Overflow => LedgerError::Overflow,
        }
    }
}

/// One account's figures, in micro-credits. Also the JSON of `GET /api/ledger/{account}` (with
/// the account's id), which `edgenet-node earnings` reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountState {
    /// Spendable.
    pub balance: u64,
    /// Staked (slashable).
    pub stake: u64,
    /// Locked in open escrows of its tasks.
    pub escrowed: u64,
    /// Received from payments for its work and from mints.
    pub earned: u64,
    /// Paid out of its escrows to workers.
    pub spent: u64,
    /// Reputation in basis points, if a validator has set one.
    pub reputation: Option<u16>,
    /// It equivocated: none of its entries from the equivocation on has an effect.
    pub frozen: bool,
    /// Entries of its chain that are in the set and linked (the next seq it will write).
    pub chain_len: u64,
}

/// The evaluated ledger.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LedgerState {
    pub(crate) accounts: BTreeMap<Account, AccountState>,
    pub(crate) escrows: BTreeMap<(Account, TaskId), u64>,
    pub(crate) status: HashMap<EntryHash, EntryStatus>,
    /// Credits minted, ever.
    pub minted: u64,
    /// Credits burned by slashes, ever.
    pub burned: u64,
    /// The greatest order key applied (for appending without re-evaluating).
    pub(crate) last_key: Option<OrderKey>,
}

/// The global order of effects.
pub(crate) type OrderKey = (u64, Account, u64);

pub(crate) fn order_key(entry: &Entry) -> OrderKey {
    (entry.body.clock, entry.body.author, entry.body.seq)
}

impl LedgerState {
    /// One account's figures (zero for an account never seen).
    pub fn account(&self, account: &Account) -> AccountState {
        self.accounts.get(account).copied().unwrap_or_default()
    }

    /// Every account with any figure or entry, in key order.
    pub fn accounts(&self) -> impl Iterator<Item = (&Account, &AccountState)> {
        self.accounts.iter()
    }

    /// What is left in `payer`'s escrow for `task`, if open.
    pub fn escrow(&self, payer: &Account, task: &TaskId) -> Option<u64> {
        self.escrows.get(&(*payer, *task)).copied()
    }

    /// Every open escrow: (payer, task) and what is left in it.
    pub fn escrows(&self) -> impl Iterator<Item = (Account, TaskId, u64)> + '_ {
        self.escrows
            .iter()
            .map(|(&(payer, task), &left)| (payer, task, left))
    }

    /// What an entry did, if it is in the set.
    pub fn status(&self, hash: &EntryHash) -> Option<EntryStatus> {
        self.status.get(hash).copied()
    }

    fn acct(&mut self, account: Account) -> &mut AccountState {
        self.accounts.entry(account).or_default()
    }

    /// Applies one linked, unfrozen entry at its turn and records its status.
    pub(crate) fn apply(&mut self, entry: &Entry, hash: EntryHash) {
        let key = order_key(entry);
        let status = match self.effect(entry) {
            Ok(()) => EntryStatus::Applied,
            Err(reason) => EntryStatus::Void(reason),
        };
        let author = entry.body.author;
        let a = self.acct(author);
        a.chain_len = a.chain_len.max(entry.body.seq + 1);
        self.status.insert(hash, status);
        self.last_key = Some(key);
    }

    /// Applies a linked, unfrozen entry at its turn only if it has an effect: a void one leaves
    /// the state exactly as it was and is not recorded (a replica that admits only effective
    /// entries does not store it).
    pub(crate) fn apply_effective(
        &mut self,
        entry: &Entry,
        hash: EntryHash,
    ) -> Result<(), VoidReason> {
        let author = entry.body.author;
        let known = self.accounts.contains_key(&author);
        if let Err(reason) = self.effect(entry) {
            // `effect` changes nothing when it fails, except that it may have made an empty
            // record for the author, which a fresh evaluation would not have.
            if !known {
                self.accounts.remove(&author);
            }
            return Err(reason);
        }
        let a = self.acct(author);
        a.chain_len = a.chain_len.max(entry.body.seq + 1);
        self.status.insert(hash, EntryStatus::Applied);
        self.last_key = Some(order_key(entry));
        Ok(())
    }

    fn effect(&mut self, entry: &Entry) -> Result<(), VoidReason> {
        let author = entry.body.author;
        match &entry.body.kind {
            EntryKind::Transfer { to, amount } => {
                self.check_credit(to, *amount)?;
                self.debit(author, *amount)?;
                self.credit(*to, *amount, false);
            }
            EntryKind::Escrow { task, amount } => {
                if self.escrows.contains_key(&(author, *task)) {
                    return Err(VoidReason::DuplicateEscrow);
                }
                self.debit(author, *amount)?;
                self.escrows.insert((author, *task), *amount);
                self.acct(author).escrowed += amount;
            }
            EntryKind::Payment {
                payer,
                task,
                to,
                amount,
            } => {
                let left = self.escrows.get(&(*payer, *task)).copied();
                let left = left.filter(|l| l >= amount).ok_or(VoidReason::NoEscrow)?;
                self.check_credit(to, *amount)?;
                self.escrows.insert((*payer, *task), left - amount);
                let p = self.acct(*payer);
                p.escrowed -= amount;
                p.spent += amount;
                self.credit(*to, *amount, true);
            }
            EntryKind::Refund { payer, task } => {
                let left = self
                    .escrows
                    .remove(&(*payer, *task))
                    .ok_or(VoidReason::NoEscrow)?;
                let p = self.acct(*payer);
                p.escrowed -= left;
                p.balance += left; // it came from this balance: no overflow
            }
            EntryKind::Stake { amount } => {
                let a = self.acct(author);
                a.stake.checked_add(*amount).ok_or(VoidReason::Overflow)?;
                self.debit(author, *amount)?;
                self.acct(author).stake += amount;
            }
            EntryKind::Unstake { amount } => {
                let a = self.acct(author);
                if a.stake < *amount {
                    return Err(VoidReason::Overdraft);
                }
                a.stake -= amount;
                a.balance += amount; // it came from this balance: no overflow
            }
            EntryKind::Mint { to, amount, .. } => {
                self.check_credit(to, *amount)?;
                self.minted = self
                    .minted
                    .checked_add(*amount)
                    .ok_or(VoidReason::Overflow)?;
                self.credit(*to, *amount, true);
            }
            EntryKind::Slash {
                subject, amount, ..
            } => {
                let s = self.acct(*subject);
                let burn = s.stake.min(*amount);
                s.stake -= burn;
                self.burned = self.burned.saturating_add(burn);
            }
            EntryKind::Reputation { subject, score } => {
                // Effects apply in key order, so the register's last write is simply the latest.
                self.acct(*subject).reputation = Some(*score);
            }
        }
        Ok(())
    }

    fn debit(&mut self, account: Account, amount: u64) -> Result<(), VoidReason> {
        let a = self.acct(account);
        if a.balance < amount {
            return Err(VoidReason::Overdraft);
        }
        a.balance -= amount;
        Ok(())
    }

    fn check_credit(&self, to: &Account, amount: u64) -> Result<(), VoidReason> {
        let a = self.account(to);
        a.balance.checked_add(amount).ok_or(VoidReason::Overflow)?;
        a.earned.checked_add(amount).ok_or(VoidReason::Overflow)?;
        Ok(())
    }

    /// After [`Self::check_credit`].
    fn credit(&mut self, to: Account, amount: u64, earned: bool) {
        let a = self.acct(to);
        a.balance = a.balance.saturating_add(amount);
        if earned {
            a.earned = a.earned.saturating_add(amount);
        }
    }

    /// Marks an entry that is in the set but outside its chain's applied part.
    pub(crate) fn mark(&mut self, hash: EntryHash, status: EntryStatus) {
        self.status.insert(hash, status);
    }

    pub(crate) fn freeze(&mut self, account: Account) {
        self.acct(account).frozen = true;
    }
}
