//! A submitter's verdict with its evidence, for kinds whose results are compared with a
//! tolerance: the results it opened, one per worker. The relay checks each against the
//! worker's signed commitment (SHA-256 of the task id and the result) and runs the kind's own
//! comparison itself (`hub/economy/verdicts.rs`), so no worker is paid less or marked down on
//! the submitter's word.

use edgenet_core::task::TaskId;
use serde::{Deserialize, Serialize};

use super::{ClientMsg, MAX_ENVELOPE, NodeKey};
use crate::error::ProtoError;

/// Most results one reveal carries (a task's most workers, and some room).
pub const MAX_REVEALED: usize = 16;

/// The results a submitter opened for `task`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reveal {
    /// The task.
    pub task: TaskId,
    /// Each worker's result, as the submitter opened it.
    pub results: Vec<(NodeKey, Vec<u8>)>,
}

impl Reveal {
    /// Encodes, as the payload of a [`ClientMsg::Reveal`].
    pub fn to_msg(&self) -> ClientMsg {
        ClientMsg::Reveal(postcard::to_allocvec(self).unwrap_or_default())
    }

    /// Decodes untrusted bytes and checks every limit (EN-203, EN-204).
    pub fn decode(bytes: &[u8]) -> Result<Self, ProtoError> {
        if bytes.len() > MAX_ENVELOPE {
            return Err(ProtoError::LimitExceeded(format!(
                "reveal of {} bytes (max {MAX_ENVELOPE})",
                bytes.len()
            )));
        }
        let reveal: Self =
            postcard::from_bytes(bytes).map_err(|e| ProtoError::Malformed(e.to_string()))?;
        if reveal.results.len() > MAX_REVEALED {
            return Err(ProtoError::LimitExceeded(format!(
                "{} revealed results (max {MAX_REVEALED})",
                reveal.results.len()
            )));
        }
        Ok(reveal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use edgenet_core::ErrorCode;

    #[test]
    fn a_reveal_round_trips_and_its_bounds_hold() {
        let reveal = Reveal {
            task: TaskId([7; 16]),
            results: (0..3u8).map(|i| ([i; 32], vec![i; 100])).collect(),
        };
        let ClientMsg::Reveal(bytes) = reveal.to_msg() else {
            panic!("not a reveal")
        };
        assert_eq!(Reveal::decode(&bytes).ok(), Some(reveal));
        let many = Reveal {
            task: TaskId([7; 16]),
            results: (0..=MAX_REVEALED as u8)
                .map(|i| ([i; 32], vec![]))
                .collect(),
        };
        let ClientMsg::Reveal(bytes) = many.to_msg() else {
            panic!("not a reveal")
        };
        assert_eq!(Reveal::decode(&bytes).map_err(|e| e.code()), Err("EN-204"));
        assert_eq!(
            Reveal::decode(&[1, 2, 3]).map_err(|e| e.code()),
            Err("EN-203")
        );
    }
}
