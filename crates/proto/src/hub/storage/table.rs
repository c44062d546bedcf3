//! The hub's table of collections: each placement (its spec, its shards' holders, what was routed
//! to each shard), the bounds on how many there are, and the indexes that keep a node's room and
//! its departure from scanning every collection. The messages that change it are handled in
//! `collections.rs`, `handover.rs`, `shard_tasks.rs` and `deposits.rs`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use edgenet_core::NodeId;
use edgenet_core::collection::{CollectionId, CollectionSpec, ShardState, SignedCollection};

/// Most collections a relay places for owners that create them here, and, apart from those,
/// most it learns back from holders' storage reports (after a restart): a holder listing
/// self-signed collections fills only the second pool, and never refuses an owner's create.
pub const MAX_COLLECTIONS: usize = 4096;

/// Most shards the relay places on one holder: each is an open index and log on the node, and
/// each hold is answered with a `ShardState` that counts against the holder's message rate
/// (120 collections of 64 shards × 3 replicas left nodes with 7,550 open files, kicked for
/// their rate). Placement and handover pass over a holder at the bound.
pub const MAX_SHARDS_PER_HOLDER: usize = 256;

/// Most collections one owner creates at a relay (EN-237).
pub const MAX_COLLECTIONS_PER_OWNER: usize = 32;

/// One node's part in a shard.
#[derive(Debug, Clone)]
pub(super) struct Holder {
    pub(super) node: NodeId,
    pub(super) state: ShardState,
    /// Holds the shard's state: runs its tasks.
    pub(super) ready: bool,
    pub(super) online: bool,
    /// A copying holder's source.
    pub(super) source: Option<NodeId>,
    /// A copying holder that has the shard's state but for inserts in flight.
    pub(super) waiting: bool,
    /// Outvoted on evidence and dropped from the shard (`handover.rs`): away for good, until
    /// another node takes its place.
    pub(super) dropped: bool,
}

/// A collection the hub places.
pub(super) struct Placed {
    pub(super) signed: SignedCollection,
    pub(super) spec: CollectionSpec,
    /// Holders of each shard.
    pub(super) shards: Vec<Vec<Holder>>,
    /// Inserts this relay routed to each shard: no honest holder has applied more batches
    /// (`None` for a collection learned back from reports, whose past inserts it never saw).
    pub(super) routed: Vec<Option<Routed>>,
}

/// What this relay routed to a shard: the most an honest holder of it has applied.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Routed {
    /// Insert batches.
    pub(super) batches: u64,
    /// Vectors, as the inserts declared them (and were priced by): a holder that holds more was
    /// sent batches bigger than declared, and an owner that understates its batches so gets a
    /// shard with no ready replica, not cheaper inserts.
    pub(super) vectors: u64,
}

impl Placed {
    pub(super) fn holder_mut(&mut self, shard: u16, node: &NodeId) -> Option<&mut Holder> {
        self.shards
            .get_mut(usize::from(shard))?
            .iter_mut()
            .find(|h| h.node == *node)
    }

    /// Holders of `shard` that claim more batches (or vectors) than this relay ever routed to it are not
    /// ready: a claim is not evidence, and a holder that overstates its shard must not become
    /// its only replica (the others demoted as behind). They copy the shard like any holder
    /// behind it. Returns whether any was.
    pub(super) fn demote_overclaims(&mut self, shard: u16) -> bool {
        let Some(Some(ceiling)) = self.routed.get(usize::from(shard)).copied() else {
            return false;
        };
        let mut any = false;
        for h in self
            .shards
            .get_mut(usize::from(shard))
            .into_iter()
            .flatten()
        {
            if h.ready && (h.state.batches > ceiling.batches || h.state.vectors > ceiling.vectors) {
                h.ready = false;
                h.source = None;
                any = true;
            }
        }
        any
    }

    /// The shard's state: the furthest state of its ready holders (they agree, or a liar is
    /// found by the searches that compare them; one that claims more than was routed to the
    /// shard is not ready: [`Placed::demote_overclaims`]).
    pub(super) fn shard_state(&self, shard: u16) -> Option<ShardState> {
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
    pub(super) map: BTreeMap<CollectionId, Placed>,
    pub(super) offered: HashMap<NodeId, u64>,
    /// Collections owners created here, in all and by owner.
    pub(super) created: usize,
    pub(super) by_owner: HashMap<[u8; 32], usize>,
    /// Collections learned from holders' reports.
    pub(super) learned: usize,
    /// Holds sent to each node and not yet answered: that many `ShardState` replies are free of
    /// its message rate (the relay asked for them).
    awaiting: HashMap<NodeId, usize>,
    /// The shards each node holds: what a node's room and its departure read, instead of every
    /// collection. Changed only with the holder lists, through [`Collections::link`] and
    /// [`Collections::unlink`].
    by_node: BTreeMap<NodeId, BTreeSet<(CollectionId, u16)>>,
    /// Creation deposits this relay holds, by their escrow's task id (`deposits.rs`).
    pub(super) deposits: BTreeMap<edgenet_core::task::TaskId, CollectionId>,
}

impl Collections {
    /// Adds a collection its owner created here.
    pub(super) fn insert_created(&mut self, id: CollectionId, placed: Placed) {
        self.created += 1;
        *self.by_owner.entry(placed.spec.owner).or_default() += 1;
        self.map.insert(id, placed);
    }

    /// Adds a collection a holder's report taught the hub.
    pub(super) fn insert_learned(&mut self, id: CollectionId, placed: Placed) {
        self.learned += 1;
        self.map.insert(id, placed);
    }

    /// Bytes `node` offers (0 for a node that sent no storage report).
    pub(in crate::hub) fn offered_by(&self, node: &NodeId) -> u64 {
        self.offered.get(node).copied().unwrap_or(0)
    }

    /// Bytes `node` holds, by the states its shards last reported.
    pub(super) fn used(&self, node: &NodeId) -> u64 {
        self.held_by(node)
            .into_iter()
            .filter_map(|(id, shard)| {
                let placed = self.map.get(&id)?;
                let holder = placed
                    .shards
                    .get(usize::from(shard))?
                    .iter()
                    .find(|h| h.node == *node)?;
                Some(
                    holder
                        .state
                        .vectors
                        .saturating_mul(placed.spec.bytes_per_vector()),
                )
            })
            .sum()
    }

    /// The shards `node` holds.
    pub(super) fn held_by(&self, node: &NodeId) -> Vec<(CollectionId, u16)> {
        self.by_node
            .get(node)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default()
    }

    /// A hold went to `node`: its reply is owed.
    pub(super) fn expect_reply(&mut self, node: NodeId) {
        let owed = self.awaiting.entry(node).or_default();
        *owed = (*owed + 1).min(2 * MAX_SHARDS_PER_HOLDER);
    }

    /// Whether a reply of `node`'s was asked for (and counts it as given).
    pub(in crate::hub) fn take_reply(&mut self, node: &NodeId) -> bool {
        match self.awaiting.get_mut(node) {
            Some(owed) if *owed > 0 => {
                *owed -= 1;
                true
            }
            _ => false,
        }
    }

    /// `node` left: nothing is owed any more.
    pub(super) fn forget_replies(&mut self, node: &NodeId) {
        self.awaiting.remove(node);
    }

    /// How many shards `node` holds.
    pub(super) fn shard_count(&self, node: &NodeId) -> usize {
        self.by_node.get(node).map_or(0, BTreeSet::len)
    }

    /// `node` became a holder of `shard` of `id`.
    pub(super) fn link(&mut self, node: NodeId, id: CollectionId, shard: u16) {
        self.by_node.entry(node).or_default().insert((id, shard));
    }

    /// `node` is no longer a holder of `shard` of `id`.
    pub(super) fn unlink(&mut self, node: &NodeId, id: CollectionId, shard: u16) {
        if let Some(set) = self.by_node.get_mut(node) {
            set.remove(&(id, shard));
            if set.is_empty() {
                self.by_node.remove(node);
            }
        }
    }

    /// Whether the relay holds `id`'s creation deposit (its storage term is running).
    #[cfg(any(test, feature = "fuzzing"))]
    pub(in crate::hub) fn deposit_held(&self, id: &CollectionId) -> bool {
        self.deposits.get(&id.deposit_task()) == Some(id)
    }

    /// The index of holders equals the holder lists (the hub's invariants).
    #[cfg(any(test, feature = "fuzzing"))]
    pub(in crate::hub) fn check_index(&self) -> Result<(), String> {
        let mut want: BTreeMap<NodeId, BTreeSet<(CollectionId, u16)>> = BTreeMap::new();
        for (id, placed) in &self.map {
            for (shard, holders) in placed.shards.iter().enumerate() {
                for h in holders {
                    let shard = u16::try_from(shard).unwrap_or(u16::MAX);
                    want.entry(h.node).or_default().insert((*id, shard));
                }
            }
        }
        if want != self.by_node {
            return Err("the index of shards by holder differs from the holder lists".into());
        }
        let owned: usize = self.by_owner.values().sum();
        if self.created + self.learned != self.map.len() || owned != self.created {
            return Err("the collection counts differ from the table".into());
        }
        if self.created > MAX_COLLECTIONS || self.learned > MAX_COLLECTIONS {
            return Err("a collection pool outgrew its bound".into());
        }
        Ok(())
    }

    pub(super) fn room(&self, node: &NodeId) -> u64 {
        self.offered_by(node).saturating_sub(self.used(node))
    }
}
