//! Message rates per identity, across its connections: a node that reconnects keeps its window,
//! and a message that carries many items (ledger entries, heads, wants) counts each of them. A
//! window lasts its own length, whether its identity is still connected or not: a
//! [`Timer::RateWindow`] drops it then, so identities that come and go leave nothing behind.
//!
//! In a cluster an identity's messages are counted at the relay it is connected to, and each
//! relay adds what the others announce of theirs (`hub/cluster/remote.rs`): one bound across the
//! cluster, late by at most an announcement interval.

use std::collections::HashMap;

use edgenet_core::NodeId;

use crate::Millis;
use crate::error::ProtoError;
use crate::hub::timers::{Timer, TimerTable};

/// Length of a rate window.
pub(in crate::hub) const WINDOW_MS: Millis = 60_000;

struct Window {
    start: Millis,
    count: u64,
}

/// Each identity's current window.
#[derive(Default)]
pub(in crate::hub) struct Rates {
    windows: HashMap<NodeId, Window>,
}

impl Rates {
    /// Counts `msg` against `node`'s window; refuses what goes past `limit` per minute, with
    /// `elsewhere` messages of its counted at the cluster's other relays.
    pub(in crate::hub) fn count(
        &mut self,
        node: NodeId,
        cost: u64,
        elsewhere: u64,
        now: Millis,
        limit: u32,
        timers: &mut TimerTable,
    ) -> Result<(), ProtoError> {
        let window = self.windows.entry(node).or_insert(Window {
            start: now,
            count: 0,
        });
        if now.saturating_sub(window.start) >= WINDOW_MS {
            *window = Window {
                start: now,
                count: 0,
            };
        }
        if window.count == 0 {
            timers.set(
                Timer::RateWindow(*node.as_bytes()),
                window.start + WINDOW_MS,
            );
        }
        window.count = window.count.saturating_add(cost);
        if window.count.saturating_add(elsewhere) > u64::from(limit) {
            return Err(ProtoError::RateLimited { limit });
        }
        Ok(())
    }

    /// The `n` identities with the most messages in their windows, and how many: what this
    /// relay announces to the others.
    pub(in crate::hub) fn busiest(&self, n: usize) -> Vec<(crate::message::NodeKey, u32)> {
        let mut all: Vec<(crate::message::NodeKey, u32)> = self
            .windows
            .iter()
            .map(|(node, w)| (*node.as_bytes(), u32::try_from(w.count).unwrap_or(u32::MAX)))
            .collect();
        all.sort_unstable_by_key(|&(key, count)| (std::cmp::Reverse(count), key));
        all.truncate(n);
        all
    }

    /// `node`'s window ended: it is dropped (its next message opens a new one).
    pub(in crate::hub) fn expire(&mut self, node: &NodeId) {
        self.windows.remove(node);
    }

    #[cfg(any(test, feature = "fuzzing"))]
    pub(in crate::hub) fn contains(&self, node: &NodeId) -> bool {
        self.windows.contains_key(node)
    }

    #[cfg(any(test, feature = "fuzzing"))]
    pub(in crate::hub) fn len(&self) -> usize {
        self.windows.len()
    }
}

impl crate::hub::Hub {
    /// Charges `node`'s rate window `cost` messages for something it did besides sending them (a
    /// payload it withheld, a verdict overruled); the error when that puts it over.
    pub(in crate::hub) fn charge(
        &mut self,
        node: NodeId,
        cost: u64,
        now: Millis,
    ) -> Result<(), ProtoError> {
        let elsewhere = self.remote.messages_elsewhere(&node);
        let limit = self.config.max_messages_per_minute;
        self.rates
            .count(node, cost, elsewhere, now, limit, &mut self.timers)
    }
}
