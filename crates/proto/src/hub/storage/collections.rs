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

use edgenet_core::NodeId;
use edgenet_core::collection::{
    CollectionError, CollectionId, ShardState, SignedCollection, head_holds, rendezvous,
};
use edgenet_core::task::TaskKind;

use crate::error::{CollectionRefusal, ProtoError};
use crate::hub::Hub;
use crate::hub::routing::origin::Origin;
use crate::hub::timers::Timer;
use crate::message::{CollectionDown, CollectionUp, Holding, ShardTarget};

pub(in crate::hub) use super::table::Collections;
pub(super) use super::table::{Holder, Placed, Routed};
pub use super::table::{MAX_COLLECTIONS, MAX_COLLECTIONS_PER_OWNER, MAX_SHARDS_PER_HOLDER};

impl Hub {
    /// An owner's or a holder's message.
    pub(in crate::hub) fn on_collection_msg(
        &mut self,
        node: NodeId,
        bytes: &[u8],
        now: crate::Millis,
    ) -> Result<(), ProtoError> {
        match CollectionUp::decode(bytes)? {
            CollectionUp::Create(signed) => self.on_create_collection(node, signed, now),
            CollectionUp::Storage { offered, holding } => self.on_storage(node, offered, holding),
            CollectionUp::ShardState {
                collection,
                shard,
                state,
                proof,
            } => return self.on_shard_state(node, collection, shard, state, &proof),
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
    pub(in crate::hub) fn on_create_collection(
        &mut self,
        node: NodeId,
        signed: SignedCollection,
        now: crate::Millis,
    ) {
        let (id, answer) = match self.create_collection(node, signed, now) {
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

    pub(super) fn create_collection(
        &mut self,
        node: NodeId,
        signed: SignedCollection,
        now: crate::Millis,
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
        if self.collections.created >= MAX_COLLECTIONS {
            return Err((id, CollectionRefusal::TooMany(MAX_COLLECTIONS)));
        }
        let owned = self.collections.by_owner.get(&spec.owner).copied();
        if owned.unwrap_or(0) >= MAX_COLLECTIONS_PER_OWNER {
            return Err((
                id,
                CollectionRefusal::OwnerHasMany(MAX_COLLECTIONS_PER_OWNER),
            ));
        }
        self.check_deposit(&node, id, &spec).map_err(|e| (id, e))?;
        let need = usize::from(spec.replicas);
        let per = spec.bytes_per_vector();
        let candidates: Vec<NodeId> = self
            .storage_nodes()
            .into_iter()
            .filter(|n| {
                *n != node
                    && self.collections.room(n) >= per
                    && self.collections.shard_count(n) + usize::from(spec.shards)
                        <= MAX_SHARDS_PER_HOLDER
            })
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
                        dropped: false,
                    })
                    .collect()
            })
            .collect();
        let placed = Placed {
            signed: signed.clone(),
            routed: vec![Some(Routed::default()); usize::from(spec.shards)],
            spec,
            shards,
        };
        let holds: Vec<(NodeId, u16)> = placed
            .shards
            .iter()
            .enumerate()
            .flat_map(|(s, hs)| hs.iter().map(move |h| (h.node, s as u16)))
            .collect();
        self.collections.insert_created(id, placed);
        self.deposit_taken(&node, id, now);
        for (holder, shard) in &holds {
            self.collections.link(*holder, id, *shard);
        }
        for (holder, shard) in holds {
            self.send_hold(&signed, shard, holder, None);
        }
        Ok(id)
    }

    /// Online native nodes that offer storage, in a fixed order.
    pub(super) fn storage_nodes(&self) -> Vec<NodeId> {
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
            // A state its owner did not sign teaches the relay nothing (not even the collection).
            if h.shard >= spec.shards || !head_holds(&spec.owner, id, h.shard, &h.state, &h.proof) {
                continue;
            }
            if !self.collections.map.contains_key(&id) {
                if self.collections.learned >= MAX_COLLECTIONS {
                    continue;
                }
                let shards = vec![Vec::new(); usize::from(spec.shards)];
                self.collections.insert_learned(
                    id,
                    Placed {
                        signed: h.collection.clone(),
                        routed: vec![None; usize::from(spec.shards)],
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
                // Dropped for a lie: its listing does not bring it back.
                Some(at) if holders[at].dropped => continue,
                Some(at) => {
                    holders[at].online = true;
                    holders[at].state = h.state;
                }
                // A node the hub did not place (it learns the collection now, or the node was
                // replaced while away): it holds data, so it is a holder while there is room.
                None if holders.len() < replicas => {
                    holders.push(Holder {
                        node,
                        state: h.state,
                        ready: true,
                        online: true,
                        source: None,
                        waiting: false,
                        dropped: false,
                    });
                    self.collections.link(node, id, h.shard);
                }
                None => continue,
            }
            self.timers
                .cancel(&Timer::Handover(id, h.shard, *node.as_bytes()));
            self.settle_shard(id, h.shard);
        }
    }

    /// Holders that do not have the shard's state copy it from one that does.
    pub(super) fn settle_shard(&mut self, id: CollectionId, shard: u16) {
        let Some(placed) = self.collections.map.get_mut(&id) else {
            return;
        };
        placed.demote_overclaims(shard);
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

    pub(super) fn send_hold(
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
        self.collections.expect_reply(node);
        self.send_to(&node, &hold.to_msg());
    }

    /// A holder's shard changed. A state without its owner's signed head is refused (EN-196)
    /// and changes nothing: no holder is believed, or demoted, on its own word.
    pub(in crate::hub) fn on_shard_state(
        &mut self,
        node: NodeId,
        id: CollectionId,
        shard: u16,
        state: ShardState,
        proof: &[u8],
    ) -> Result<(), ProtoError> {
        let open_insert = self.open_insert(id, shard);
        let Some(placed) = self.collections.map.get_mut(&id) else {
            return Ok(());
        };
        if !head_holds(&placed.spec.owner, id, shard, &state, proof) {
            return Err(CollectionRefusal::Spec(CollectionError::Unproven(state.batches)).into());
        }
        let target = placed.shard_state(shard);
        let signed = placed.signed.clone();
        let Some(holder) = placed.holder_mut(shard, &node).filter(|h| !h.dropped) else {
            return Ok(());
        };
        holder.state = state;
        if holder.ready {
            if placed.demote_overclaims(shard) {
                self.settle_shard(id, shard);
            }
            return Ok(());
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
        Ok(())
    }

    /// Whether an insert into the shard is open.
    pub(super) fn open_insert(&self, id: CollectionId, shard: u16) -> bool {
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
}
