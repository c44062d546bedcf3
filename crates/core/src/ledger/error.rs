//! The ledger's one error type, with its stable codes.

use thiserror::Error;

use super::*;
use crate::ErrorCode;

/// Ledger errors (`EN-170`…`EN-189`).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LedgerError {
    /// Bytes do not decode as an entry, or break a rule of shape.
    #[error("malformed ledger entry: {0}")]
    Malformed(String),
    /// An encoded entry is larger than the limit.
    #[error("ledger entry of {len} bytes exceeds {max}", max = entry::MAX_ENTRY_LEN)]
    TooLarge {
        /// The length found.
        len: usize,
    },
    /// A signature does not verify (forged, or the entry was altered).
    #[error("ledger entry signature does not verify")]
    BadSignature,
    /// An account's bytes are not a valid Ed25519 key.
    #[error("not a valid account key")]
    BadAccount,
    /// A validator kind was written or attested by a key outside the validator set.
    #[error("only validators may write or attest this entry")]
    NotValidator,
    /// A validator entry lacks attestations.
    #[error("validator entry has {have} of the {need} signatures it needs")]
    TooFewAttestations {
        /// Valid distinct attestations it carries.
        have: usize,
        /// Attestations the validator set requires.
        need: usize,
    },
    /// A slash's evidence does not prove what it claims.
    #[error("slash evidence is invalid: {0}")]
    BadEvidence(String),
    /// An amount of zero.
    #[error("amount must be positive")]
    ZeroAmount,
    /// The entry is too far past the account's last stored entry.
    #[error("entry seq {seq} is more than {MAX_AHEAD} past the account's last stored entry")]
    TooFarAhead {
        /// Its sequence number.
        seq: u64,
    },
    /// Not the next entry of its author's chain: a gap before it, a `prev` that is not the hash
    /// of the entry before, or a clock not past that entry's. A replica that admits only entries
    /// with an effect does not store it (it could have none).
    #[error("entry seq {seq} does not extend its account's chain, which has {next} entries")]
    NotNext {
        /// Its sequence number.
        seq: u64,
        /// The account's next sequence number.
        next: u64,
    },
    /// The entry orders before entries the replica has applied already: it would change their
    /// effects after the fact. Signed again with a clock past `clock` (the writer's next try) it
    /// is taken.
    #[error("entry clock is not past {clock}, the latest the relay applied; sign it again")]
    ClockBehind {
        /// The clock to pass.
        clock: u64,
    },
    /// The entry's clock is further past the replica's greatest than a writer ever needs (one
    /// past what it has seen): taken, it would bring every replica's clock near its end, after
    /// which no entry could be written.
    #[error("entry clock {clock} is more than {MAX_CLOCK_LEAP} past the replica's {max}")]
    ClockTooFar {
        /// The entry's clock.
        clock: u64,
        /// The replica's greatest clock.
        max: u64,
    },
    /// Spending more than the balance (or stake) at the entry's turn.
    #[error("not enough credits")]
    Overdraft,
    /// No open escrow with enough left for the payment.
    #[error("no open escrow for this payer and task with enough left")]
    NoEscrow,
    /// A second escrow for one task.
    #[error("an escrow for this task is already open")]
    DuplicateEscrow,
    /// A sum would pass u64::MAX micro-credits.
    #[error("amount overflow")]
    Overflow,
    /// The account equivocated and is frozen.
    #[error("account is frozen: it signed two different entries with one sequence number")]
    Frozen,
    /// The validator configuration is unusable.
    #[error("bad ledger configuration: {0}")]
    BadConfig(String),
    /// A sync message does not decode or breaks a limit.
    #[error("malformed ledger sync message: {0}")]
    BadSync(String),
}

impl ErrorCode for LedgerError {
    fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "EN-170",
            Self::TooLarge { .. } => "EN-171",
            Self::BadSignature => "EN-172",
            Self::BadAccount => "EN-173",
            Self::NotValidator => "EN-174",
            Self::TooFewAttestations { .. } => "EN-175",
            Self::BadEvidence(_) => "EN-176",
            Self::ZeroAmount => "EN-177",
            Self::TooFarAhead { .. } => "EN-178",
            Self::NotNext { .. } => "EN-179",
            Self::Overdraft => "EN-180",
            Self::NoEscrow => "EN-181",
            Self::DuplicateEscrow => "EN-182",
            Self::Overflow => "EN-183",
            Self::Frozen => "EN-184",
            Self::BadConfig(_) => "EN-185",
            Self::BadSync(_) => "EN-186",
            Self::ClockBehind { .. } => "EN-187",
            Self::ClockTooFar { .. } => "EN-188",
        }
    }
}
