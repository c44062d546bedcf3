//! The checks every decoded message passes before anything looks at it: lengths of strings,
//! lists, keys and signatures, and the postcard codec that refuses trailing bytes.

use edgenet_core::collection::SignedCollection;
use edgenet_core::ledger::sync::SyncMessage;
use serde::{Deserialize, Serialize};

use super::*;
use crate::error::ProtoError;
use crate::frame::Frame;

pub(super) fn check_len(what: &str, len: usize, max: usize) -> Result<(), ProtoError> {
    if len > max {
        Err(ProtoError::LimitExceeded(format!("{what}: {len} > {max}")))
    } else {
        Ok(())
    }
}

pub(super) fn check_exact(what: &str, len: usize, want: usize) -> Result<(), ProtoError> {
    if len != want {
        Err(ProtoError::LimitExceeded(format!(
            "{what}: {len} bytes, want {want}"
        )))
    } else {
        Ok(())
    }
}

pub(super) fn check_result(envelope: &[u8], signature: &[u8]) -> Result<(), ProtoError> {
    check_len("envelope", envelope.len(), MAX_ENVELOPE)?;
    check_exact("signature", signature.len(), 64)
}

pub(super) fn check_verdict(agreeing: &[NodeKey], outvoted: &[NodeKey]) -> Result<(), ProtoError> {
    check_len("agreeing", agreeing.len(), 255)?;
    check_len("outvoted", outvoted.len(), 255)
}

pub(super) fn check_caps(c: &Capabilities) -> Result<(), ProtoError> {
    check_len(
        "gpu name",
        c.gpu.as_ref().map_or(0, String::len),
        MAX_STRING,
    )?;
    check_len("kernels", c.kernels.len(), 16)?;
    check_len("backends", c.backends.len(), 16)?;
    c.backends
        .iter()
        .try_for_each(|b| check_len("backend name", b.len(), 32))
}

pub(super) fn check_peer(p: &PeerInfo) -> Result<(), ProtoError> {
    check_exact("exchange key", p.exchange_key.len(), 128)?;
    check_caps(&p.capabilities)
}

pub(super) fn check_signed(c: &SignedCollection) -> Result<(), ProtoError> {
    check_len(
        "collection spec",
        c.spec.len(),
        edgenet_core::collection::MAX_SPEC_LEN,
    )?;
    check_exact("signature", c.signature.len(), 64)
}

pub(super) fn check_sync(sync: &SyncMessage) -> Result<(), ProtoError> {
    // Re-encoding is cheap next to the signature checks the entries will get, and it reuses the
    // ledger's own limits (item counts, runs per head) in one place. Entries are judged one by
    // one on insert, so that a bad one is refused in the acknowledgement with its own code.
    SyncMessage::from_bytes(&sync.to_bytes())
        .map(|_| ())
        .map_err(|e| ProtoError::LimitExceeded(e.to_string()))
}

/// Cuts `s` to at most `max` bytes on a character boundary.
pub(crate) fn truncate(s: &mut String, max: usize) {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
}

pub(super) fn encode<T: Serialize>(msg: &T) -> Result<Vec<u8>, ProtoError> {
    // Serialized straight after the version byte: one buffer, no copy (this is the relay's hot path).
    let frame = postcard::to_extend(msg, vec![crate::PROTOCOL_VERSION])
        .map_err(|e| ProtoError::Malformed(e.to_string()))?;
    if frame.len() > crate::MAX_FRAME_LEN {
        return Err(ProtoError::Frame(crate::FrameError::TooLarge {
            len: frame.len(),
        }));
    }
    Ok(frame)
}

pub(super) fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, ProtoError> {
    let frame = Frame::decode(bytes)?;
    let (msg, rest) =
        postcard::take_from_bytes(frame.body).map_err(|e| ProtoError::Malformed(e.to_string()))?;
    if !rest.is_empty() {
        return Err(ProtoError::Malformed(format!(
            "{} trailing bytes",
            rest.len()
        )));
    }
    Ok(msg)
}
