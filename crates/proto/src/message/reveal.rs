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
        let parts = self.results.iter().map(|(k, r)| (k, r.as_slice()));
        ClientMsg::Reveal(Self::encode_parts(&self.task, parts))
    }

    /// The encoding of a reveal of `results` for `task`, written out in postcard's layout (a
    /// test holds it equal to postcard's): a page's submission builds it from the results it
    /// holds, with no copy and no serde code in its module.
    pub fn encode_parts<'a>(
        task: &TaskId,
        results: impl Iterator<Item = (&'a NodeKey, &'a [u8])>,
    ) -> Vec<u8> {
        let mut out = task.0.to_vec();
        // The count's one byte, set at the end: a reveal holds fewer than 128 results.
        out.push(0);
        let mut n: u8 = 0;
        for (key, result) in results.take(MAX_REVEALED) {
            out.extend_from_slice(key);
            varint(&mut out, result.len());
            out.extend_from_slice(result);
            n += 1;
        }
        out[16] = n;
        out
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

/// postcard's unsigned varint: seven bits a byte, low first.
fn varint(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push((n & 0x7f) as u8 | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
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
        assert_eq!(Reveal::decode(&bytes).ok(), Some(reveal.clone()));
        assert_eq!(postcard::to_allocvec(&reveal).ok(), Some(bytes));
        // Lengths past one varint byte.
        let big = Reveal {
            task: TaskId([1; 16]),
            results: vec![([9; 32], vec![5; 70_000])],
        };
        let ClientMsg::Reveal(bytes) = big.to_msg() else {
            panic!("not a reveal")
        };
        assert_eq!(postcard::to_allocvec(&big).ok(), Some(bytes));
        let many = Reveal {
            task: TaskId([7; 16]),
            results: (0..=MAX_REVEALED as u8)
                .map(|i| ([i; 32], vec![]))
                .collect(),
        };
        // The encoder writes at most the bound; a sender that writes more is refused.
        let ClientMsg::Reveal(bytes) = many.to_msg() else {
            panic!("not a reveal")
        };
        assert_eq!(
            Reveal::decode(&bytes).map(|r| r.results.len()),
            Ok(MAX_REVEALED)
        );
        let bytes = postcard::to_allocvec(&many).unwrap_or_default();
        assert_eq!(Reveal::decode(&bytes).map_err(|e| e.code()), Err("EN-204"));
        assert_eq!(
            Reveal::decode(&[1, 2, 3]).map_err(|e| e.code()),
            Err("EN-203")
        );
    }
}
