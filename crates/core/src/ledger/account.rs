//! Accounts: the ledger's name for a node. An [`Account`] is a [`NodeId`]'s 32 bytes, kept as
//! bytes so that entries decode (and sort) without validating a curve point; [`Account::node_id`]
//! validates them where a key is needed. Its own module, so that the config, the entries and the
//! signature check can all name it without importing one another.

use serde::{Deserialize, Serialize};

use super::LedgerError;
use crate::identity::NodeId;

/// An account: the 32 bytes of an Ed25519 public key (a [`NodeId`]'s bytes).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Account(pub [u8; 32]);

impl Account {
    /// The account of a node.
    pub fn of(node: &NodeId) -> Self {
        Self(*node.as_bytes())
    }

    /// The key, if the bytes are a valid (non-weak) Ed25519 public key.
    pub fn node_id(&self) -> Result<NodeId, LedgerError> {
        NodeId::from_bytes(&self.0).map_err(|_| LedgerError::BadAccount)
    }
}

impl core::fmt::Display for Account {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match NodeId::from_bytes(&self.0) {
            Ok(id) => write!(f, "{id}"),
            Err(_) => write!(f, "invalid:{}", crate::radix::hex(&self.0)),
        }
    }
}

impl core::fmt::Debug for Account {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let text = self.to_string();
        write!(f, "Account({})", &text[..text.len().min(10)])
    }
}
