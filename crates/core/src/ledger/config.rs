//! Who may mint, pay out, refund, slash and rate: the validator set and its threshold.

use super::LedgerError;
use super::account::Account;

/// The validator keys (the relays' keys) and how many of them must sign a validator entry.
/// Every replica of one network uses the same configuration; a single relay is 1 of 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerConfig {
    validators: Vec<Account>,
    threshold: u8,
}

impl LedgerConfig {
    /// `threshold` of `validators` (distinct) must sign each validator entry.
    pub fn new(mut validators: Vec<Account>, threshold: u8) -> Result<Self, LedgerError> {
        validators.sort();
        validators.dedup();
        if threshold == 0 || usize::from(threshold) > validators.len() {
            return Err(LedgerError::BadConfig(format!(
                "threshold {threshold} of {} validators",
                validators.len()
            )));
        }
        for v in &validators {
            v.node_id()?;
        }
        Ok(Self {
            validators,
            threshold,
        })
    }

    /// One validator that signs alone: the single-relay network.
    pub fn single(validator: Account) -> Result<Self, LedgerError> {
        Self::new(vec![validator], 1)
    }

    /// Whether `account` is a validator.
    pub fn is_validator(&self, account: &Account) -> bool {
        self.validators.binary_search(account).is_ok()
    }

    /// Signatures needed on a validator entry (the author's included).
    pub fn threshold(&self) -> u8 {
        self.threshold
    }

    /// The validators, sorted.
    pub fn validators(&self) -> &[Account] {
        &self.validators
    }
}
