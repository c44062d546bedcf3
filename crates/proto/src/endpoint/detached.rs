//! A submission carried from a lost connection to the next.

use edgenet_core::task::TaskId;

use crate::Millis;
use crate::error::ProtoError;
use crate::message::TaskSpec;

/// A submission carried from a lost connection to the next: its task, its payload (plaintext,
/// held by this node only), and the time left before its backstop. [`Endpoint::detach`] takes
/// them from the old endpoint and [`Endpoint::resume`] submits them again through the new one;
/// a relay of the cluster that knows the task picks it up (`hub/cluster/records.rs`). Serializable, for
/// drivers that keep it outside Rust between the two (the page's coordinator).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Detached {
    pub(super) spec: TaskSpec,
    pub(super) payload: Vec<u8>,
    pub(super) left_ms: Millis,
}

impl Detached {
    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.spec.id
    }

    /// Several, as bytes (postcard), for a driver that keeps them outside Rust.
    pub fn encode_all(list: &[Detached]) -> Vec<u8> {
        postcard::to_allocvec(list).unwrap_or_default()
    }

    /// What [`Detached::encode_all`] wrote.
    pub fn decode_all(bytes: &[u8]) -> Result<Vec<Detached>, ProtoError> {
        postcard::from_bytes(bytes)
            .map_err(|e| ProtoError::Malformed(format!("detached submissions: {e}")))
    }
}
