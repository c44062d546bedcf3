//! `edgenet-proto`: EdgeNet's wire format and (in later issues) its session state machines.
//!
//! No IO here: bytes in, bytes out, time passed in. So far this crate holds the outer frame, which
//! every message on the WebSocket uses: one version byte, then the body. The body's message enum,
//! the handshake and the task lifecycle arrive with the relay issue; the frame rules below already
//! fix how untrusted bytes are admitted.

pub mod frame;

pub use frame::{Frame, FrameError, MAX_FRAME_LEN, PROTOCOL_VERSION};
