//! `edgenet-proto`: EdgeNet's wire protocol, without IO.
//!
//! Bytes in, bytes out, time passed in (milliseconds on any monotonic clock), in the manner of
//! quinn-proto: the relay feeds everything that happens to [`hub::Hub::handle`] as one
//! [`hub::Input`] and carries out what [`hub::Hub::poll_output`] returns; a node feeds frames to
//! [`endpoint::Endpoint::handle_frame`] and sends what [`endpoint::Endpoint::poll_outgoing`]
//! returns; both expire their deadlines at `poll_timeout()` (`Input::Timeout`,
//! `Endpoint::handle_timeout(now)`).
//!
//! A relay and two nodes in memory: one node runs an encryption task the other submits.
//!
//! ```
//! use edgenet_core::SecretKey;
//! use edgenet_core::task::{TaskId, TaskKind};
//! use edgenet_core::kinds::encryption::Encryption;
//! use edgenet_proto::endpoint::{Endpoint, Event};
//! use edgenet_proto::hub::{Hub, HubConfig, Input, Output};
//! use edgenet_proto::message::{Capabilities, Role, TaskSpec};
//! use rand_core::SeedableRng;
//!
//! let mut rng = rand_chacha::ChaCha20Rng::from_seed([7; 32]);
//! let config = HubConfig { canary_reward: 0, ..HubConfig::default() };
//! let mut hub = Hub::new(SecretKey::from_seed(&[1; 32]), config);
//! let caps = |kernels| Capabilities { cores: 1, memory_mib: 64, gpu: None, kernels, backends: vec![] };
//! let worker = Endpoint::new(SecretKey::from_seed(&[2; 32]), Role::Native, caps(vec![TaskKind::ENCRYPTION]), 1, true, 0);
//! let submitter = Endpoint::new(SecretKey::from_seed(&[3; 32]), Role::Browser, caps(vec![]), 0, false, 0);
//! let mut nodes = [worker, submitter]; // on connections 0 and 1
//! for conn in 0..2 {
//!     hub.handle(0, Input::Connect { conn, nonce: [conn as u8; 32], network: None })?; // the relay's fresh nonce
//! }
//!
//! let job = Encryption { key: [4; 32], nonce: [5; 12], aad: vec![], plaintext: b"hello".to_vec() };
//! let mut submitted = None;
//! let mut verified = None;
//! while verified.is_none() {
//!     // Relay to nodes.
//!     while let Some(out) = hub.poll_output() {
//!         if let Output::Send(conn, frame) = out {
//!             nodes[conn as usize].handle_frame(&frame, &mut rng)?;
//!         }
//!     }
//!     // Nodes' events: the worker runs what it is given, the submitter submits once ready.
//!     for conn in 0..2 {
//!         while let Some(event) = nodes[conn].poll_event() {
//!             match event {
//!                 Event::Execute { task, payload, .. } => {
//!                     let result = Encryption::decode(&payload)?.run();
//!                     nodes[conn].finish(&task, &result, &mut rng)?;
//!                 }
//!                 Event::Connected { .. } if conn == 1 => {
//!                     let spec = TaskSpec { id: TaskId([9; 16]), kind: TaskKind::ENCRYPTION,
//!                         redundancy: 1, max_credits: 0, priority: 0, timeout_ms: 10_000 };
//!                     submitted = Some(nodes[1].submit(spec, job.encode()?, 0)?);
//!                 }
//!                 Event::Done { outcome, .. } => verified = Some(outcome),
//!                 _ => {}
//!             }
//!         }
//!         // Nodes to relay.
//!         while let Some(frame) = nodes[conn].poll_outgoing() {
//!             hub.handle(0, Input::Frame { conn: conn as u64, bytes: &frame })?;
//!         }
//!     }
//! }
//! let outcome = verified.ok_or("no verdict")?;
//! assert_eq!(outcome.result, job.run()); // the ciphertext, opened by the submitter only
//! assert_eq!(outcome.agreeing, vec![SecretKey::from_seed(&[2; 32]).node_id()]);
//! assert_eq!(submitted, Some(TaskId([9; 16])));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! - [`frame`]: the outer frame (version byte + body) and its size limit.
//! - [`message`]: the message enums and their limits; decoding untrusted bytes never panics.
//! - [`error`]: protocol errors and their stable codes (`EN-2xx`).
//! - [`handshake`]: the challenge and the signed hello, for both sides.
//! - [`client`]: a node's session: handshake, then relay messages as events.
//! - [`hub`]: the relay's state machine: authentication, peers, task queue, assignment, limits.
//! - [`submit`]: a submitter's tracker for one task: seals payloads, opens results, votes.
//! - [`worker`]: a worker's step: open a payload, run it, seal and sign the result.
//! - [`chain`]: a node's own ledger chain: escrows it signs, written in turn against the relay's copy.
//! - [`endpoint`]: one connection's whole protocol (handshake, worker, submissions, deadlines) with
//!   events out; what the browser's coordinator and the native node drive.
//! - [`reconnect`]: the backoff between a client's connection attempts.

#![warn(missing_docs)]

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
pub mod rewards;
pub mod submit;
pub mod worker;

pub use error::ProtoError;
pub use frame::{Frame, FrameError, MAX_FRAME_LEN, PROTOCOL_VERSION};
pub use message::{ClientMsg, RelayMsg};

/// Milliseconds on the caller's monotonic clock.
pub type Millis = u64;
