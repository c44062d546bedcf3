//! Storage: shared collections, their shards' placement on storage nodes and handover.

pub(in crate::hub) mod collections;
mod deposits;
mod handover;
mod shard_tasks;
mod table;
pub(in crate::hub) mod views;
