//! Collections: where each shard lives, and the tasks that run on it.
//!
//! ```text
//! owner --Create(signed spec)--> hub: R holders per shard, by rendezvous score
//!   hub --Hold(spec, shard)--> each holder;  hub --Created--> owner
//! owner --SubmitShard(vector_insert | shard_search, shard)--> hub --Offer--> the shard's holders
//!   (then the usual claim, sealed payload, sealed results, verdict; every live replica runs it)
//! holder --ShardState--> hub                    (after each insert: what the API shows)
//! holder gone for `handover_grace_ms`: hub --Hold(source)--> the next node by score,
//!   which pulls the shard's batches: --Fetch--> hub --> source --Chunk(sealed)--> hub --> it
//! ```
//!
//! The hub never sees a vector: only specs (signed by their owners), shard states (counts and a
//! digest), and sealed payloads, results and chunks. It keeps no collection on disk either:
//! holders keep each spec beside their shard and list what they hold in [`ClientMsg::Storage`]
//! when they connect, so a restarted relay learns its collections back from their holders.
//!
//! A holder is *ready* when its state equals the shard's (the state the ready holders agree on);
//! inserts and searches run on the ready holders that are online, all of them. A new holder
//! copies batches until it has the shard's state with no insert in flight: it is then ready, and
//! while it waits for the inserts in flight to end, new inserts are refused (EN-229) so that
//! it cannot fall behind again.
//!
//! [`ClientMsg::Storage`]: crate::message::CollectionUp::Storage

use std::collections::{BTreeMap, HashMap};

use edgenet_core::NodeId;
use edgenet_core::collection::{
    CollectionId, CollectionSpec, ShardState, SignedCollection, rendezvous,
};
use edgenet_core::task::TaskKind;
use serde::Serialize;

use crate::Millis;
use crate::error::{CollectionRefusal, ProtoError};
use crate::hub::Hub;
use crate::hub::routing::origin::{Origin, ShardTask};
use crate::hub::timers::Timer;
use crate::message::{
    CollectionDown, CollectionUp, Holding, NodeKey, RelayMsg, ShardTarget, TaskSpec,
};

/// Most collections a relay places.
pub const MAX_COLLECTIONS: usize = 4096;

/// One node's part in a shard.
#[derive(Debug, Clone)]
struct Holder {
    node: NodeId,
    state: ShardState,
    /// Holds the shard's state: runs its tasks.
    ready: bool,
    online: bool,
    /// A copying holder's source.
    source: Option<NodeId>,
    /// A copying holder that has the shard's state but for inserts in flight.
    waiting: bool,
}

/// A collection the hub places.
struct Placed {
    signed: SignedCollection,
    spec: CollectionSpec,
    /// Holders of each shard.
    shards: Vec<Vec<Holder>>,
}

impl Placed {
    fn holder_mut(&mut self, shard: u16, node: &NodeId) -> Option<&mut Holder> {
        self.shards
            .get_mut(usize::from(shard))?
            .iter_mut()
            .find(|h| h.node == *node)
    }

    /// The shard's state: the furthest state of its ready holders (they agree, or a liar is
    /// found by the searches that compare them).
    fn shard_state(&self, shard: u16) -> Option<ShardState> {
        self.shards
            .get(usize::from(shard))?
            .iter()
            .filter(|h| h.ready)
            .map(|h| h.state)
            .max_by_key(|s| s.batches)
    }
}

/// The hub's collections, and the storage each online node offers.
#[derive(Default)]
pub(in crate::hub) struct Collections {
    map: BTreeMap<CollectionId, Placed>,
    offered: HashMap<NodeId, u64>,
}

impl Collections {
    /// Bytes `node` offers (0 for a node that sent no storage report).
    pub(in crate::hub) fn offered_by(&self, node: &NodeId) -> u64 {
        self.offered.get(node).copied().unwrap_or(0)
    }

    /// Bytes `node` holds, by the states its shards last reported.
    fn used(&self, node: &NodeId) -> u64 {
        self.map
            .values()
            .flat_map(|p| {
                let per = p.spec.bytes_per_vector();
                p.shards
                    .iter()
                    .flatten()
                    .filter(move |h| h.node == *node)
                    .map(move |h| h.state.vectors.saturating_mul(per))
            })
            .sum()
    }

    fn room(&self, node: &NodeId) -> u64 {
        self.offered_by(node).saturating_sub(self.used(node))
    }
}

/// What `GET /api/collections/{id}` shows: placement, sizes and replica health, no vectors.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CollectionView {
    /// The id (hex).
    pub id: String,
    /// The owner's node id.
    pub owner: String,
    /// Its name.
    pub name: String,
    /// Vector dimension.
    pub dim: u32,
    /// `dot`, `cosine` or `l2`.
    pub metric: &'static str,
    /// Replicas each shard should have.
    pub replicas: u8,
    /// Vectors in the collection (each shard's state, summed).
    pub vectors: u64,
    /// Each shard.
    pub shards: Vec<ShardView>,
}

/// One shard in a [`CollectionView`].
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShardView {
    /// Its number.
    pub shard: u16,
    /// Vectors in it.
    pub vectors: u64,
    /// Insert batches applied.
    pub batches: u64,
    /// Ready holders online: how many replicas answer now.
    pub live_replicas: usize,
    /// Its holders.
    pub holders: Vec<HolderView>,
}

/// One holder in a [`ShardView`].
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HolderView {
    /// Its node id.
    pub node: String,
    /// Whether it is connected.
    pub online: bool,
    /// Whether it holds the shard's state (else it is copying).
    pub ready: bool,
    /// Vectors it holds.
    pub vectors: u64,
    /// Batches it applied.
    pub batches: u64,
    /// Its state's digest (hex).
    pub digest: String,
}

fn metric_name(m: edgenet_core::kinds::vector_search::SearchMetric) -> &'static str {
    use edgenet_core::kinds::vector_search::SearchMetric;
    match m {
        SearchMetric::Dot => "dot",
        SearchMetric::Cosine => "cosine",
        SearchMetric::L2 => "l2",
    }
}

impl Hub {
    /// An owner's or a holder's message.
    pub(in crate::hub) fn on_collection_msg(
        &mut self,
        node: NodeId,
        bytes: &[u8],
    ) -> Result<(), ProtoError> {
        match CollectionUp::decode(bytes)? {
            CollectionUp::Create(signed) => self.on_create_collection(node, signed),
            CollectionUp::Storage { offered, holding } => self.on_storage(node, offered, holding),
            CollectionUp::ShardState {
                collection,
                shard,
                state,
            } => self.on_shard_state(node, collection, shard, state),
            CollectionUp::Fetch {
                collection,
                shard,
                from_batch,
            } => return self.on_fetch(node, collection, shard, from_batch),
            CollectionUp::Chunk {
                collection,
                shard,
                to,
                envelope,
                more,
            } => return self.on_chunk(node, collection, shard, to, envelope, more),
        }
        Ok(())
    }

    /// `node` asks to create a collection; always answered with `CollectionCreated`.
    pub(in crate::hub) fn on_create_collection(&mut self, node: NodeId, signed: SignedCollection) {
        let (id, answer) = match self.create_collection(node, signed) {
            Ok(id) => (id, None),
            Err((id, e)) => (id, Some(e)),
        };
        let msg = CollectionDown::Created {
            collection: id,
            code: answer
                .as_ref()
                .map(|e| edgenet_core::ErrorCode::code(e).into()),
            message: answer.map(|e| e.to_string()).unwrap_or_default(),
        };
        self.send_to(&node, &msg.to_msg());
    }

    fn create_collection(
        &mut self,
        node: NodeId,
        signed: SignedCollection,
    ) -> Result<CollectionId, (CollectionId, CollectionRefusal)> {
        let (id, spec) = signed
            .open()
            .map_err(|e| (CollectionId([0; 16]), CollectionRefusal::Spec(e)))?;
        if spec.owner != *node.as_bytes() {
            return Err((
                id,
                edgenet_core::collection::CollectionError::NotOwner.into(),
            ));
        }
        if let Some(existing) = self.collections.map.get(&id) {
            // Creating again what exists is a no-op: the CLI may not know it already did.
            return if existing.spec == spec {
                Ok(id)
            } else {
                Err((id, CollectionRefusal::Exists(id.to_string())))
            };
        }
        if self.collections.map.len() >= MAX_COLLECTIONS {
            return Err((id, CollectionRefusal::TooMany(MAX_COLLECTIONS)));
        }
        let need = usize::from(spec.replicas);
        let per = spec.bytes_per_vector();
        let candidates: Vec<NodeId> = self
            .storage_nodes()
            .into_iter()
            .filter(|n| *n != node && self.collections.room(n) >= per)
            .collect();
        if candidates.len() < need {
            return Err((
                id,
                CollectionRefusal::TooFewHolders {
                    need,
                    have: candidates.len(),
                },
            ));
        }
        let shards = (0..spec.shards)
            .map(|shard| {
                let mut ranked = candidates.clone();
                ranked.sort_by_key(|n| std::cmp::Reverse(rendezvous(&id, shard, n.as_bytes())));
                ranked
                    .into_iter()
                    .take(need)
                    .map(|node| Holder {
                        node,
                        state: ShardState::default(),
                        ready: true,
                        online: true,
                        source: None,
                        waiting: false,
                    })
                    .collect()
            })
            .collect();
        let placed = Placed {
            signed: signed.clone(),
            spec,
            shards,
        };
        let holds: Vec<(NodeId, u16)> = placed
            .shards
            .iter()
            .enumerate()
            .flat_map(|(s, hs)| hs.iter().map(move |h| (h.node, s as u16)))
            .collect();
        self.collections.map.insert(id, placed);
        for (holder, shard) in holds {
            let hold = CollectionDown::Hold {
                collection: signed.clone(),
                shard,
                source: None,
            };
            self.send_to(&holder, &hold.to_msg());
        }
        Ok(id)
    }

    /// Online native nodes that offer storage, in a fixed order.
    fn storage_nodes(&self) -> Vec<NodeId> {
        let mut nodes: Vec<NodeId> = self
            .collections
            .offered
            .iter()
            .filter(|(n, bytes)| **bytes > 0 && self.peers.get(n).is_some_and(|p| p.is_local()))
            .map(|(n, _)| *n)
            .collect();
        nodes.sort_by_key(|n| *n.as_bytes());
        nodes
    }

    /// A node offers storage and lists what it holds. A shard of a collection the hub does not
    /// know teaches it the collection (a restarted relay); a holder it knows is online again.
    pub(in crate::hub) fn on_storage(&mut self, node: NodeId, offered: u64, holding: Vec<Holding>) {
        self.collections.offered.insert(node, offered);
        for h in holding {
            let Ok((id, spec)) = h.collection.open() else {
                continue;
            };
            if h.shard >= spec.shards {
                continue;
            }
            if !self.collections.map.contains_key(&id) {
                if self.collections.map.len() >= MAX_COLLECTIONS {
                    continue;
                }
                let shards = vec![Vec::new(); usize::from(spec.shards)];
                self.collections.map.insert(
                    id,
                    Placed {
                        signed: h.collection.clone(),
                        spec,
                        shards,
                    },
                );
            }
            let Some(placed) = self.collections.map.get_mut(&id) else {
                continue;
            };
            let replicas = usize::from(placed.spec.replicas);
            let holders = &mut placed.shards[usize::from(h.shard)];
            match holders.iter().position(|x| x.node == node) {
                Some(at) => {
                    holders[at].online = true;
                    holders[at].state = h.state;
                }
                // A node the hub did not place (it learns the collection now, or the node was
                // replaced while away): it holds data, so it is a holder while there is room.
                None if holders.len() < replicas => holders.push(Holder {
                    node,
                    state: h.state,
                    ready: true,
                    online: true,
                    source: None,
                    waiting: false,
                }),
                None => continue,
            }
            self.timers
                .cancel(&Timer::Handover(id, h.shard, *node.as_bytes()));
            self.settle_shard(id, h.shard);
        }
    }

    /// Holders that do not have the shard's state copy it from one that does.
    fn settle_shard(&mut self, id: CollectionId, shard: u16) {
        let Some(placed) = self.collections.map.get_mut(&id) else {
            return;
        };
        let Some(state) = placed.shard_state(shard) else {
            return;
        };
        let holders = &mut placed.shards[usize::from(shard)];
        let source = holders
            .iter()
            .find(|h| h.ready && h.online && h.state == state)
            .map(|h| h.node);
        let mut copy = Vec::new();
        for h in holders.iter_mut() {
            if h.state != state && h.ready {
                h.ready = false;
            }
            if !h.ready && h.online && h.source.is_none() {
                h.source = source;
                if let Some(s) = source {
                    copy.push((h.node, s));
                }
            }
        }
        let signed = placed.signed.clone();
        for (node, source) in copy {
            self.send_hold(&signed, shard, node, Some(source));
        }
    }

    fn send_hold(
        &mut self,
        signed: &SignedCollection,
        shard: u16,
        node: NodeId,
        source: Option<NodeId>,
    ) {
        let source = source.and_then(|s| self.peers.get(&s).map(|p| p.info.clone()));
        let hold = CollectionDown::Hold {
            collection: signed.clone(),
            shard,
            source,
        };
        self.send_to(&node, &hold.to_msg());
    }

    /// A holder's shard changed.
    pub(in crate::hub) fn on_shard_state(
        &mut self,
        node: NodeId,
        id: CollectionId,
        shard: u16,
        state: ShardState,
    ) {
        let open_insert = self.open_insert(id, shard);
        let Some(placed) = self.collections.map.get_mut(&id) else {
            return;
        };
        let target = placed.shard_state(shard);
        let signed = placed.signed.clone();
        let Some(holder) = placed.holder_mut(shard, &node) else {
            return;
        };
        holder.state = state;
        if holder.ready {
            return;
        }
        // A copying holder: ready once it has the shard's state and no insert is in flight.
        let caught_up = target.is_none_or(|t| t == state);
        if caught_up && !open_insert {
            holder.ready = true;
            holder.waiting = false;
            holder.source = None;
        } else if caught_up {
            holder.waiting = true;
        } else {
            // Behind (inserts came while it copied): it fetches the rest.
            holder.waiting = false;
            let source = holder.source;
            self.send_hold(&signed, shard, node, source);
        }
    }

    /// Whether an insert into the shard is open.
    fn open_insert(&self, id: CollectionId, shard: u16) -> bool {
        self.tasks.open().any(|(_, t)| {
            matches!(&t.origin, Origin::Shard(s) if s.target.collection == id
                && s.target.shard == shard && t.spec.kind == TaskKind::VECTOR_INSERT)
        })
    }

    /// A shard task ended: a copying holder that waited for it fetches the last batches.
    pub(in crate::hub) fn shard_task_ended(&mut self, target: ShardTarget) {
        if self.open_insert(target.collection, target.shard) {
            return;
        }
        let Some(placed) = self.collections.map.get_mut(&target.collection) else {
            return;
        };
        let signed = placed.signed.clone();
        let waiting: Vec<(NodeId, Option<NodeId>)> = placed
            .shards
            .get_mut(usize::from(target.shard))
            .into_iter()
            .flatten()
            .filter(|h| h.waiting)
            .map(|h| {
                h.waiting = false;
                (h.node, h.source)
            })
            .collect();
        for (node, source) in waiting {
            self.send_hold(&signed, target.shard, node, source);
        }
    }

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

    /// A task on a shard: checked, then offered to the shard's ready holders online.
    pub(in crate::hub) fn on_submit_shard(
        &mut self,
        node: NodeId,
        mut spec: TaskSpec,
        target: ShardTarget,
        now: Millis,
    ) {
        let task = spec.id;
        match self.check_shard_task(node, &mut spec, target) {
            Ok(holders) => {
                let redundancy = spec.redundancy;
                let accepted = self.accept_shard_task(node, spec, target, holders, now);
                match accepted {
                    Ok(()) => {
                        self.send_to(&node, &RelayMsg::ShardAccepted { task, redundancy });
                        self.escrow_claimed(&node, &task);
                        self.offer(task, now);
                    }
                    Err(e) => self.refuse_task(node, task, &e),
                }
            }
            Err(e) => self.refuse_task(node, task, &e),
        }
    }

    /// The holders a shard task runs on; sets its redundancy to their number when it asks for 0.
    fn check_shard_task(
        &self,
        node: NodeId,
        spec: &mut TaskSpec,
        target: ShardTarget,
    ) -> Result<Vec<NodeId>, ProtoError> {
        if !spec.kind.needs_shard() {
            return Err(ProtoError::InvalidTask(format!(
                "{} does not run on a shard",
                spec.kind.name()
            )));
        }
        let placed = self
            .collections
            .map
            .get(&target.collection)
            .ok_or_else(|| CollectionRefusal::Unknown(target.collection.to_string()))?;
        let holders = placed
            .shards
            .get(usize::from(target.shard))
            .ok_or_else(|| {
                CollectionRefusal::Spec(edgenet_core::collection::CollectionError::Invalid(
                    format!("shard {} of {}", target.shard, placed.spec.shards),
                ))
            })?;
        let insert = spec.kind == TaskKind::VECTOR_INSERT;
        if insert && placed.spec.owner != *node.as_bytes() {
            return Err(CollectionRefusal::Spec(
                edgenet_core::collection::CollectionError::NotOwner,
            )
            .into());
        }
        if insert && holders.iter().any(|h| h.waiting) {
            return Err(CollectionRefusal::Busy(target.shard).into());
        }
        let live: Vec<NodeId> = holders
            .iter()
            .filter(|h| h.ready && h.online && h.node != node)
            .map(|h| h.node)
            .collect();
        if live.is_empty() {
            return Err(CollectionRefusal::NoReplica(target.shard).into());
        }
        if insert {
            let per = placed.spec.bytes_per_vector();
            let batch = u64::from(target.vectors).saturating_mul(per);
            for h in &live {
                let offered = self.collections.offered_by(h);
                let needed = self.collections.used(h).saturating_add(batch);
                if needed > offered {
                    return Err(CollectionRefusal::StorageFull {
                        shard: target.shard,
                        offered,
                        needed,
                    }
                    .into());
                }
            }
        }
        // An insert goes to every live replica, so none misses it; a search asks them all too,
        // so that one liar among three is outvoted.
        let want = if spec.redundancy == 0 {
            live.len()
        } else {
            usize::from(spec.redundancy)
        };
        if want > live.len() || (insert && want != live.len()) {
            return Err(ProtoError::InvalidTask(format!(
                "redundancy {want}: shard {} has {} live replicas (0 asks for all)",
                target.shard,
                live.len()
            )));
        }
        spec.redundancy = u8::try_from(want).unwrap_or(u8::MAX);
        Ok(live)
    }

    fn accept_shard_task(
        &mut self,
        node: NodeId,
        spec: TaskSpec,
        target: ShardTarget,
        holders: Vec<NodeId>,
        now: Millis,
    ) -> Result<(), ProtoError> {
        self.check_timeout(&spec)?;
        if self.tasks.contains(&spec.id) {
            return Err(ProtoError::DuplicateTask(spec.id.to_string()));
        }
        self.check_escrow(&node, &spec)?;
        self.check_open(&node)?;
        self.metrics.kind_mut(spec.kind).submitted += 1;
        let origin = Origin::Shard(Box::new(ShardTask { target, holders }));
        let task = self.accepted_task(spec, node, origin, now);
        self.tasks.insert(task, &mut self.timers);
        Ok(())
    }

    /// A node left: its shards wait `handover_grace_ms` for it before a new holder copies them.
    pub(in crate::hub) fn storage_node_left(&mut self, node: &NodeId, now: Millis) {
        if self.collections.offered.remove(node).is_none() {
            return;
        }
        let at = now + self.config.handover_grace_ms;
        let mut timers = Vec::new();
        for (id, placed) in &mut self.collections.map {
            for (shard, holders) in placed.shards.iter_mut().enumerate() {
                for h in holders.iter_mut().filter(|h| h.node == *node) {
                    h.online = false;
                    timers.push(Timer::Handover(*id, shard as u16, *node.as_bytes()));
                }
                // Whoever copied from it asks another source.
                for h in holders.iter_mut().filter(|h| h.source == Some(*node)) {
                    h.source = None;
                }
            }
        }
        for t in timers {
            self.timers.set(t, at);
        }
        let ids: Vec<(CollectionId, u16)> = self
            .collections
            .map
            .iter()
            .flat_map(|(id, p)| (0..p.spec.shards).map(move |s| (*id, s)))
            .collect();
        for (id, shard) in ids {
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
        holders[at] = Holder {
            node: next,
            state: ShardState::default(),
            ready: false,
            online: true,
            source: Some(source),
            waiting: false,
        };
        self.stats.handovers += 1;
        let signed = placed.signed.clone();
        self.send_hold(&signed, shard, next, Some(source));
    }

    /// A collection's placement and health, for the HTTP API.
    pub fn collection_view(&self, id: &CollectionId) -> Option<CollectionView> {
        let placed = self.collections.map.get(id)?;
        let shards: Vec<ShardView> = placed
            .shards
            .iter()
            .enumerate()
            .map(|(i, holders)| {
                let state = placed.shard_state(i as u16).unwrap_or_default();
                ShardView {
                    shard: i as u16,
                    vectors: state.vectors,
                    batches: state.batches,
                    live_replicas: holders.iter().filter(|h| h.ready && h.online).count(),
                    holders: holders
                        .iter()
                        .map(|h| HolderView {
                            node: h.node.to_string(),
                            online: h.online,
                            ready: h.ready,
                            vectors: h.state.vectors,
                            batches: h.state.batches,
                            digest: data_encoding::HEXLOWER.encode(&h.state.digest),
                        })
                        .collect(),
                }
            })
            .collect();
        Some(CollectionView {
            id: id.to_string(),
            owner: NodeId::from_bytes(&placed.spec.owner)
                .map(|n| n.to_string())
                .unwrap_or_default(),
            name: placed.spec.name.clone(),
            dim: placed.spec.dim,
            metric: metric_name(placed.spec.metric),
            replicas: placed.spec.replicas,
            vectors: shards.iter().map(|s| s.vectors).sum(),
            shards,
        })
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

    /// Collections placed here.
    pub fn collection_count(&self) -> usize {
        self.collections.map.len()
    }
}
