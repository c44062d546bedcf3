//! The cluster: workers lent and borrowed between relays, other relays' ledger entries, attestations for k of n validators, and the task records that let a task outlive its relay.

pub(in crate::hub) mod announcement;
pub(in crate::hub) mod attest;
pub(in crate::hub) mod records;
pub(in crate::hub) mod remote;
pub(in crate::hub) mod replica;
