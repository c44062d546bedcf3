//! The economy: the relay's ledger replica and store, what a verdict pays, escrows, canaries, proofs of work, and paged ledger replies.

pub(in crate::hub) mod canary;
pub(in crate::hub) mod escrows;
pub(in crate::hub) mod ledger;
pub(in crate::hub) mod pages;
pub(in crate::hub) mod settle;
pub(in crate::hub) mod verdicts;
pub(in crate::hub) mod work;
