//! A collection's shard tasks (`vector_insert`, `shard_search`): checked against the shard's
//! placement and accepted to run on its ready, online holders.

use edgenet_core::NodeId;
use edgenet_core::task::TaskKind;

use crate::Millis;
use crate::error::{CollectionRefusal, ProtoError};
use crate::hub::Hub;
use crate::hub::routing::origin::{Origin, ShardTask};
use crate::message::{RelayMsg, ShardTarget, TaskSpec};

impl Hub {
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
    pub(super) fn check_shard_task(
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
        self.check_shard_price(spec, &target, want)?;
        spec.redundancy = u8::try_from(want).unwrap_or(u8::MAX);
        Ok(live)
    }

    pub(super) fn accept_shard_task(
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
        if spec.kind == TaskKind::VECTOR_INSERT
            && let Some(Some(routed)) = self
                .collections
                .map
                .get_mut(&target.collection)
                .and_then(|p| p.routed.get_mut(usize::from(target.shard)))
        {
            routed.batches += 1;
            routed.vectors += u64::from(target.vectors);
        }
        let origin = Origin::Shard(Box::new(ShardTask { target, holders }));
        let task = self.accepted_task(spec, node, origin, now);
        self.tasks.insert(task, &mut self.timers);
        Ok(())
    }
}
