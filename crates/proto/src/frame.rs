//! The outer frame: `version (1 byte) || body`. One WebSocket binary message carries one frame.
//!
//! The version comes first so a peer can refuse a frame from a newer protocol with a clear error
//! (EN-202) before trying to decode a body it cannot understand. Frames above [`MAX_FRAME_LEN`]
//! are refused before anything else is looked at.

use edgenet_core::ErrorCode;
use thiserror::Error;

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u8 = 2;
/// Largest frame accepted, in bytes (1 MiB: a 64 KiB sealed payload fits many times over).
pub const MAX_FRAME_LEN: usize = 1 << 20;

/// Errors from reading a frame.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FrameError {
    /// The frame has no bytes at all.
    #[error("empty frame")]
    Empty,
    /// The frame is larger than [`MAX_FRAME_LEN`].
    #[error("frame of {len} bytes exceeds the {MAX_FRAME_LEN}-byte limit")]
    TooLarge {
        /// The length found.
        len: usize,
    },
    /// The peer speaks a protocol version this build does not.
    #[error(
        "protocol version {got} is not supported (this build speaks {PROTOCOL_VERSION}); upgrade the older side"
    )]
    UnsupportedVersion {
        /// The version byte the frame carries.
        got: u8,
    },
}

impl ErrorCode for FrameError {
    fn code(&self) -> &'static str {
        match self {
            Self::Empty => "EN-200",
            Self::TooLarge { .. } => "EN-201",
            Self::UnsupportedVersion { .. } => "EN-202",
        }
    }
}

/// A frame read from untrusted bytes: its version was checked, its body not yet decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The body after the version byte.
    pub body: &'a [u8],
}

impl<'a> Frame<'a> {
    /// Checks the size and version of `bytes` and returns the body.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, FrameError> {
        if bytes.len() > MAX_FRAME_LEN {
            return Err(FrameError::TooLarge { len: bytes.len() });
        }
        let (&version, body) = bytes.split_first().ok_or(FrameError::Empty)?;
        if version != PROTOCOL_VERSION {
            return Err(FrameError::UnsupportedVersion { got: version });
        }
        Ok(Self { body })
    }

    /// Encodes `body` as a frame of the current version, refusing bodies that would exceed the limit.
    pub fn encode(body: &[u8]) -> Result<Vec<u8>, FrameError> {
        let len = body.len() + 1;
        if len > MAX_FRAME_LEN {
            return Err(FrameError::TooLarge { len });
        }
        let mut out = Vec::with_capacity(len);
        out.push(PROTOCOL_VERSION);
        out.extend_from_slice(body);
        Ok(out)
    }
}
