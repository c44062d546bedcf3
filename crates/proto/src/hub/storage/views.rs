//! What `GET /api/collections/{id}` shows: placement, sizes and replica health, no vectors.

use edgenet_core::NodeId;
use edgenet_core::collection::CollectionId;

use crate::hub::Hub;

use serde::Serialize;

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
    /// The digest chained over them (hex): what the owner signs its next batch to follow.
    pub digest: String,
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
                    digest: edgenet_core::radix::hex(&state.digest),
                    live_replicas: holders.iter().filter(|h| h.ready && h.online).count(),
                    holders: holders
                        .iter()
                        .map(|h| HolderView {
                            node: h.node.to_string(),
                            online: h.online,
                            ready: h.ready,
                            vectors: h.state.vectors,
                            batches: h.state.batches,
                            digest: edgenet_core::radix::hex(&h.state.digest),
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

    /// Collections placed here.
    pub fn collection_count(&self) -> usize {
        self.collections.map.len()
    }
}
