//! The node's errors. Protocol errors keep their own codes; these add the node's own (`EN-15x`).

use edgenet_core::ErrorCode;
use edgenet_proto::ProtoError;
use thiserror::Error;

/// Errors of the native node.
#[derive(Debug, Error)]
pub enum NodeError {
    /// The relay could not be reached.
    #[error("cannot connect to {url}: {reason}")]
    Connect { url: String, reason: String },
    /// The connection dropped.
    #[error("connection to the relay lost: {0}")]
    ConnectionLost(String),
    /// The relay did not complete the handshake in time.
    #[error("the relay did not answer the handshake within {0} s")]
    HandshakeTimeout(u64),
    /// Input given on the command line is unusable.
    #[error("bad input: {0}")]
    Input(String),
    /// The relay's HTTP answer is not what was asked for.
    #[error("unexpected answer from the relay: {0}")]
    BadAnswer(String),
    /// TLS could not be set up or the relay's certificate was refused (`wss://`, `--ca-cert`).
    #[error("TLS: {0}")]
    Tls(String),
    /// The embedding model could not be loaded (its own EN-41x code).
    #[error(transparent)]
    Model(#[from] edgenet_embed::EmbedError),
    /// `--text-backend gpu` was asked for and cannot be had (no adapter, or its vectors
    /// disagree with the CPU's).
    #[error("text tasks cannot run on the GPU: {0}")]
    TextGpu(String),
    /// A protocol error.
    #[error(transparent)]
    Proto(#[from] ProtoError),
}

impl NodeError {
    /// Whether connecting again may help (proto decides for protocol errors: only a version
    /// mismatch is final).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Proto(e) => e.is_retryable(),
            Self::Model(_) | Self::TextGpu(_) => false,
            _ => true,
        }
    }
}

impl ErrorCode for NodeError {
    fn code(&self) -> &'static str {
        match self {
            Self::Connect { .. } => "EN-150",
            Self::ConnectionLost(_) => "EN-151",
            Self::HandshakeTimeout(_) => "EN-152",
            Self::Input(_) => "EN-153",
            Self::BadAnswer(_) => "EN-156",
            Self::Tls(_) => "EN-157",
            Self::Model(e) => e.code(),
            Self::TextGpu(_) => "EN-158",
            Self::Proto(e) => e.code(),
        }
    }
}
