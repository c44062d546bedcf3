//! `edgenet-sim`: EdgeNet's in-memory network, the one every protocol test and the hub's action
//! fuzzer run on, and the base the network simulation grows on.
//!
//! It drives the real state machines with nothing real around them: relays are
//! [`edgenet_proto::hub::Hub`]s, peers are whatever implements [`Peer`] (a test's client session
//! and worker, a page's [`Endpoint`](edgenet_proto::endpoint::Endpoint), an action fuzzer's raw
//! connection). Time is a virtual clock in milliseconds; randomness is one seeded ChaCha20
//! stream; every frame, close, forward and record travels as a [`Packet`] through an event queue
//! ordered by (delivery time, sequence), over a [`Link`] with its own latency, jitter and loss.
//! Every packet delivered feeds a [`Trace`] hash, so a test can prove that the same seed and
//! steps give the same run.
//!
//! Two ways to move time, because tests need both:
//! - [`Network::advance`]: every deadline and delivery in between happens at its own time (what
//!   a simulation wants);
//! - [`Network::jump`] and [`Network::drive`]: the clock leaps, and each relay handles one
//!   timeout at the new time (quinn's `Pair::drive`: what a test that steps deadline by
//!   deadline wants).
//!
//! Modules: [`network`] (the queue, the clock, relays and peers), [`cluster`] (what relays send
//! one another: forwards, task records, attestations, announcements), [`link`] (latency and
//! loss), [`packet`], [`peer`], [`rng`], [`trace`], and [`actions`] (the hub's action fuzzer).

pub mod actions;
pub mod cluster;
pub mod link;
pub mod network;
pub mod packet;
pub mod peer;
pub mod rng;
pub mod trace;

pub use link::Link;
pub use network::Network;
pub use packet::{Addr, Packet};
pub use peer::{Context, Peer};
pub use rng::SimRng;
pub use trace::Trace;
