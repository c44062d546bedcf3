//! `edgenet-node` as a library: what the CLI in `main.rs` runs, usable from tests.
//!
//! - [`check`]: profiling this machine (`edgenet-node check`).
//! - [`collection`]: creating, filling and searching shared vector collections (`edgenet-node collection`).
//! - [`connection`]: one authenticated WebSocket connection to a relay.
//! - [`run`]: the worker loop with reconnection and backoff.
//! - [`proof`]: the relay's proofs of work, one cancellable search per connection.
//! - [`shards`]: the collection shards a node holds on disk (`run --data-dir --storage`).
//! - [`relays`]: the relays it rotates through (given, and learned from a cluster's directory).
//! - [`submit`]: submitting a task and waiting for its verified outcome, across relays.
//! - [`job`]: what `submit` sends, kind by kind, and the report of its verified result.
//! - [`earnings`]: this node's credits from the relay's ledger (`edgenet-node earnings`).
//! - [`status`]: the connection state machine's states and the status file.
//! - [`transport`]: sockets to a relay, plain or TLS (rustls, web roots and `--ca-cert`).
//! - [`error`]: the node's errors and codes.

pub mod check;
pub mod collection;
pub mod connection;
pub mod earnings;
pub mod error;
pub mod http;
pub mod job;
pub mod proof;
pub mod relays;
pub mod run;
pub mod shards;
pub mod status;
pub mod submit;
pub mod text;
pub mod transport;
pub mod wasm_job;
