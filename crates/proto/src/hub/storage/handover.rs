//! Handover: a holder away past the grace is replaced by the next node by rendezvous score,
//! which copies the shard's batches from a live holder through the hub (fetch, sealed chunks).

use std::collections::HashMap;

use edgenet_core::NodeId;
use edgenet_core::collection::{CollectionId, ShardState, rendezvous};

use crate::Millis;
use crate::error::{CollectionRefusal, ProtoError};
use crate::hub::Hub;
use crate::hub::timers::Timer;

use super::collections::{Holder, MAX_SHARDS_PER_HOLDER};
use crate::message::{CollectionDown, NodeKey, ShardTarget};

impl Hub {
    /// A copying holder asks its source for batches.
    pub(in crate::hub) fn on_fetch(
        &mut self,
        node: NodeId,
        id: CollectionId,
        shard: u16,
        from_batch: u64,
    ) -> Result<(), ProtoError> {
        let placed = self
            .collections
            .map
            .get_mut(&id)
            .ok_or_else(|| CollectionRefusal::Unknown(id.to_string()))?;
        let state = placed.shard_state(shard);
        let sources: Vec<NodeId> = placed
            .shards
            .get(usize::from(shard))
            .into_iter()
            .flatten()
            .filter(|h| h.ready && h.online && Some(h.state) == state && h.node != node)
            .map(|h| h.node)
            .collect();
        let holder = placed
            .holder_mut(shard, &node)
            .filter(|h| !h.ready)
            .ok_or_else(|| ProtoError::NotAllowed("a fetch from a node not copying".into()))?;
        // Its source, or another ready one if that one left.
        let source = holder
            .source
            .filter(|s| sources.contains(s))
            .or_else(|| sources.first().copied())
            .ok_or(CollectionRefusal::NoReplica(shard))?;
        holder.source = Some(source);
        let to = self
            .peers
            .get(&node)
            .map(|p| p.info.clone())
            .ok_or_else(|| ProtoError::Unexpected("fetch from a peer not online".into()))?;
        let fetch = CollectionDown::Fetch {
            collection: id,
            shard,
            from_batch,
            to,
        };
        self.send_to(&source, &fetch.to_msg());
        Ok(())
    }

    /// A source's chunk for a copying holder.
    pub(in crate::hub) fn on_chunk(
        &mut self,
        node: NodeId,
        id: CollectionId,
        shard: u16,
        to: NodeKey,
        envelope: Vec<u8>,
        more: bool,
    ) -> Result<(), ProtoError> {
        let placed = self
            .collections
            .map
            .get(&id)
            .ok_or_else(|| CollectionRefusal::Unknown(id.to_string()))?;
        let copying = placed
            .shards
            .get(usize::from(shard))
            .into_iter()
            .flatten()
            .find(|h| h.node.as_bytes() == &to && !h.ready && h.source == Some(node));
        let Some(receiver) = copying.map(|h| h.node) else {
            return Err(ProtoError::NotAllowed(
                "a chunk for a node that is not copying from this one".into(),
            ));
        };
        let from = self
            .peers
            .get(&node)
            .map(|p| p.info.clone())
            .ok_or_else(|| ProtoError::Unexpected("chunk from a peer not online".into()))?;
        let chunk = CollectionDown::Chunk {
            collection: id,
            shard,
            from,
            envelope,
            more,
        };
        self.send_to(&receiver, &chunk.to_msg());
        Ok(())
    }

    /// A node left: its shards wait `handover_grace_ms` for it before a new holder copies them.
    pub(in crate::hub) fn storage_node_left(&mut self, node: &NodeId, now: Millis) {
        self.collections.forget_replies(node);
        if self.collections.offered.remove(node).is_none() {
            return;
        }
        let at = now + self.config.handover_grace_ms;
        // Only the shards it holds: a copy's source is a holder of the same shard.
        let held = self.collections.held_by(node);
        for &(id, shard) in &held {
            let Some(holders) = self
                .collections
                .map
                .get_mut(&id)
                .and_then(|p| p.shards.get_mut(usize::from(shard)))
            else {
                continue;
            };
            for h in holders.iter_mut().filter(|h| h.node == *node) {
                h.online = false;
            }
            // Whoever copied from it asks another source.
            for h in holders.iter_mut().filter(|h| h.source == Some(*node)) {
                h.source = None;
            }
            self.timers
                .set(Timer::Handover(id, shard, *node.as_bytes()), at);
        }
        for (id, shard) in held {
            self.settle_shard(id, shard);
        }
    }

    /// A holder stayed away past the grace: the next node by score takes its place and copies
    /// the shard from a ready replica.
    pub(in crate::hub) fn handover(
        &mut self,
        id: CollectionId,
        shard: u16,
        gone: NodeKey,
        now: Millis,
    ) {
        let candidates = self.storage_nodes();
        let room: HashMap<NodeId, u64> = candidates
            .iter()
            .filter(|n| self.collections.shard_count(n) < MAX_SHARDS_PER_HOLDER)
            .map(|n| (*n, self.collections.room(n)))
            .collect();
        let Some(placed) = self.collections.map.get_mut(&id) else {
            return;
        };
        let Some(holders) = placed.shards.get_mut(usize::from(shard)) else {
            return;
        };
        let Some(at) = holders
            .iter()
            .position(|h| h.node.as_bytes() == &gone && !h.online)
        else {
            return;
        };
        let state = placed
            .shards
            .get(usize::from(shard))
            .and_then(|hs| {
                hs.iter()
                    .filter(|h| h.ready)
                    .map(|h| h.state)
                    .max_by_key(|s| s.batches)
            })
            .unwrap_or_default();
        let need = state
            .vectors
            .saturating_mul(placed.spec.bytes_per_vector())
            .max(placed.spec.bytes_per_vector());
        let holders = &mut placed.shards[usize::from(shard)];
        let source = holders
            .iter()
            .find(|h| h.ready && h.online && h.state == state)
            .map(|h| h.node);
        let mut ranked: Vec<NodeId> = candidates
            .into_iter()
            .filter(|n| {
                n.as_bytes() != &placed.spec.owner
                    && !holders.iter().any(|h| h.node == *n)
                    && room.get(n).copied().unwrap_or(0) >= need
            })
            .collect();
        ranked.sort_by_key(|n| std::cmp::Reverse(rendezvous(&id, shard, n.as_bytes())));
        let (Some(next), Some(source)) = (ranked.first().copied(), source) else {
            // No one to take it, or nothing to copy from: look again after another grace.
            self.timers.set(
                Timer::Handover(id, shard, gone),
                now + self.config.handover_grace_ms,
            );
            return;
        };
        let replaced = holders[at].node;
        holders[at] = Holder {
            node: next,
            state: ShardState::default(),
            ready: false,
            online: true,
            source: Some(source),
            waiting: false,
            dropped: false,
        };
        let signed = placed.signed.clone();
        self.collections.unlink(&replaced, id, shard);
        self.collections.link(next, id, shard);
        self.stats.handovers += 1;
        self.send_hold(&signed, shard, next, Some(source));
    }

    /// Replicas outvoted on a shard task by evidence (exact results: the commitments decide)
    /// hold something else than the majority under the same signed state: an index or answers
    /// that lie. Each is dropped from the shard at once (as a holder away past its grace), and
    /// the next node by score copies the shard from a ready replica in its place; the dropped
    /// node's own reports do not bring it back.
    pub(in crate::hub) fn drop_holders(&mut self, target: ShardTarget, outvoted: &[NodeId]) {
        let (id, shard) = (target.collection, target.shard);
        for node in outvoted {
            let Some(holder) = self
                .collections
                .map
                .get_mut(&id)
                .and_then(|p| p.holder_mut(shard, node))
            else {
                continue;
            };
            holder.online = false;
            holder.ready = false;
            holder.source = None;
            holder.dropped = true;
            // Due at once: the hub's clock starts at zero.
            self.timers
                .set(Timer::Handover(id, shard, *node.as_bytes()), 0);
        }
    }

    /// Whether `node` holds the shard and is away (what a handover timer watches).
    #[cfg(any(test, feature = "fuzzing"))]
    pub(in crate::hub) fn holder_away(
        &self,
        id: &CollectionId,
        shard: u16,
        node: &NodeKey,
    ) -> bool {
        self.collections
            .map
            .get(id)
            .and_then(|p| p.shards.get(usize::from(shard)))
            .is_some_and(|hs| hs.iter().any(|h| h.node.as_bytes() == node && !h.online))
    }
}
