//! The relay's HTTP API: one file per group of handlers, and `openapi.rs`, the route table that
//! serves each handler with its description (`/api/openapi.json`).

pub mod collections;
pub mod leaderboard;
pub mod ledger;
pub(crate) mod openapi;
pub(crate) mod relay;
