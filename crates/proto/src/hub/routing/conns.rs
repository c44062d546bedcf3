//! Connections as the hub sees them: waiting for their hello, or authenticated as a node, each
//! with its message-rate window.

use std::collections::HashMap;

use edgenet_core::NodeId;

use crate::Millis;
use crate::error::ProtoError;
use crate::hub::ConnId;
use crate::hub::routing::net_group::NetGroup;

/// Where a connection's handshake stands.
pub(in crate::hub) enum ConnState {
    /// Challenged with `nonce` (its deadline is a [`Timer::Handshake`](crate::hub::timers::Timer)).
    AwaitHello { nonce: [u8; 32] },
    /// Authenticated as `node`.
    Ready { node: NodeId },
}

/// One connection.
pub(in crate::hub) struct Conn {
    pub(in crate::hub) state: ConnState,
    /// The address block it comes from, when the relay can tell (`routing/net_group.rs`).
    pub(in crate::hub) network: Option<NetGroup>,
    window_start: Millis,
    window_count: u32,
}

/// Length of the rate window.
const RATE_WINDOW_MS: Millis = 60_000;

impl Conn {
    /// A new connection, challenged with `nonce`.
    pub(in crate::hub) fn challenged(
        nonce: [u8; 32],
        network: Option<NetGroup>,
        now: Millis,
    ) -> Self {
        Self {
            state: ConnState::AwaitHello { nonce },
            network,
            window_start: now,
            window_count: 0,
        }
    }

    /// The virtual connection of a worker another relay lends (`hub/cluster/remote.rs`): authenticated
    /// by that relay, which did the handshake.
    pub(in crate::hub) fn borrowed(node: NodeId, now: Millis) -> Self {
        Self {
            state: ConnState::Ready { node },
            network: None,
            window_start: now,
            window_count: 0,
        }
    }

    /// Counts one message against the window; refuses the one past `limit` per minute.
    pub(in crate::hub) fn count_message(
        &mut self,
        now: Millis,
        limit: u32,
    ) -> Result<(), ProtoError> {
        if now.saturating_sub(self.window_start) >= RATE_WINDOW_MS {
            self.window_start = now;
            self.window_count = 0;
        }
        self.window_count += 1;
        if self.window_count > limit {
            return Err(ProtoError::RateLimited { limit });
        }
        Ok(())
    }

    /// The node, once authenticated.
    pub(in crate::hub) fn node(&self) -> Option<NodeId> {
        match self.state {
            ConnState::Ready { node } => Some(node),
            ConnState::AwaitHello { .. } => None,
        }
    }
}

/// Every open connection.
#[derive(Default)]
pub(in crate::hub) struct Conns {
    map: HashMap<ConnId, Conn>,
}

impl Conns {
    pub(in crate::hub) fn insert(&mut self, id: ConnId, conn: Conn) {
        self.map.insert(id, conn);
    }

    pub(in crate::hub) fn remove(&mut self, id: ConnId) -> Option<Conn> {
        self.map.remove(&id)
    }

    pub(in crate::hub) fn get_mut(&mut self, id: ConnId) -> Option<&mut Conn> {
        self.map.get_mut(&id)
    }

    /// Whether `id` is still waiting for its hello.
    pub(in crate::hub) fn awaits_hello(&self, id: ConnId) -> bool {
        self.map
            .get(&id)
            .is_some_and(|c| matches!(c.state, ConnState::AwaitHello { .. }))
    }

    /// The hello arrived and verified: `id` is `node` from now on.
    pub(in crate::hub) fn authenticate(&mut self, id: ConnId, node: NodeId) {
        if let Some(c) = self.map.get_mut(&id) {
            c.state = ConnState::Ready { node };
        }
    }

    /// The address block `id` comes from, if known.
    pub(in crate::hub) fn network(&self, id: ConnId) -> Option<NetGroup> {
        self.map.get(&id).and_then(|c| c.network)
    }

    pub(in crate::hub) fn len(&self) -> usize {
        self.map.len()
    }

    #[cfg(any(test, feature = "fuzzing"))]
    pub(in crate::hub) fn iter(&self) -> impl Iterator<Item = (&ConnId, &Conn)> {
        self.map.iter()
    }
}
