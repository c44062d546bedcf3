//! `edgenet-proto`: EdgeNet's wire protocol, without IO.
//!
//! Bytes in, bytes out, time passed in (milliseconds on any monotonic clock), in the manner of
//! quinn-proto: the relay and the nodes feed received frames to `handle_frame`, expire timers with
//! `handle_timeout(now)`, and send what `poll_transmit`/`poll_outgoing` return.
//!
//! - [`frame`]: the outer frame (version byte + body) and its size limit.
//! - [`message`]: the message enums and their limits; decoding untrusted bytes never panics.
//! - [`error`]: protocol errors and their stable codes (`EN-2xx`).
//! - [`client`]: a node's session: handshake, then relay messages as events.
//! - [`hub`]: the relay's state machine: authentication, peers, task queue, assignment, limits.
//! - [`submit`]: a submitter's tracker for one task: seals payloads, opens results, votes.
//! - [`worker`]: a worker's step: open a payload, run it, seal and sign the result.
//! - [`chain`]: a node's own ledger chain: escrows it signs, written in turn against the relay's copy.
//! - [`endpoint`]: one connection's whole protocol (handshake, worker, submissions) with events out;
//!   what the browser's coordinator drives.

pub mod chain;
pub mod client;
pub mod endpoint;
pub mod error;
pub mod frame;
#[doc(hidden)]
pub mod fuzz_targets;
pub mod handshake;
pub mod hub;
pub mod message;
pub mod reconnect;
pub mod submit;
pub mod worker;

pub use error::ProtoError;
pub use frame::{Frame, FrameError, MAX_FRAME_LEN, PROTOCOL_VERSION};
pub use message::{ClientMsg, RelayMsg};

/// Milliseconds on the caller's monotonic clock.
pub type Millis = u64;
