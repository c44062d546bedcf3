//! Bodies of the cargo-fuzz targets in `fuzz/`, here so that kept crash cases run through exactly
//! the same code as plain tests (`tests/fuzz_regressions.rs`). Each must return normally on any
//! input: an error is fine, a panic is a bug.

use edgenet_core::SecretKey;

use crate::hub::{Hub, HubConfig, Input};
use crate::message::{ClientMsg, RelayMsg};

/// Decodes untrusted bytes as either direction's message; a message that decodes must re-encode to
/// bytes that decode to the same message.
pub fn decode_messages(data: &[u8]) {
    if let Ok(msg) = ClientMsg::decode(data) {
        let again = msg.encode().ok().and_then(|b| ClientMsg::decode(&b).ok());
        assert_eq!(
            again.as_ref(),
            Some(&msg),
            "client message does not round-trip"
        );
    }
    if let Ok(msg) = RelayMsg::decode(data) {
        let again = msg.encode().ok().and_then(|b| RelayMsg::decode(&b).ok());
        assert_eq!(
            again.as_ref(),
            Some(&msg),
            "relay message does not round-trip"
        );
    }
}

/// Feeds a stream of frames (each prefixed by its length, u16 little-endian) from two connections
/// into a hub, with the clock moving, as a hostile client could.
pub fn hub_frames(data: &[u8]) {
    let mut hub = Hub::new(SecretKey::from_seed(&[1; 32]), HubConfig::default());
    let _ = hub.handle(
        0,
        Input::Connect {
            conn: 1,
            nonce: [2; 32],
            network: None,
        },
    );
    let _ = hub.handle(
        0,
        Input::Connect {
            conn: 2,
            nonce: [3; 32],
            network: None,
        },
    );
    let mut rest = data;
    let mut i = 0u64;
    while rest.len() >= 2 {
        let len = usize::from(u16::from_le_bytes([rest[0], rest[1]])).min(rest.len() - 2);
        let frame = &rest[2..2 + len];
        rest = &rest[2 + len..];
        let now = i * 1_000;
        let _ = hub.handle(
            now,
            Input::Frame {
                conn: 1 + i % 2,
                bytes: frame,
            },
        );
        let _ = hub.handle(now, Input::Timeout);
        while hub.poll_output().is_some() {}
        i += 1;
    }
}

/// Encodes frames the way [`hub_frames`] reads them (for seeds).
pub fn hub_input(frames: &[&[u8]]) -> Vec<u8> {
    frames
        .iter()
        .flat_map(|f| {
            (f.len().min(usize::from(u16::MAX)) as u16)
                .to_le_bytes()
                .into_iter()
                .chain(f.iter().copied())
        })
        .collect()
}

#[cfg(feature = "fuzzing")]
mod cluster_frames;
#[cfg(feature = "fuzzing")]
pub use cluster_frames::cluster_frames;
