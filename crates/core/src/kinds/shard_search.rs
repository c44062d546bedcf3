//! `shard_search`: a `vector_search` over one shard of a collection, run by its holders. Replicas
//! in the same state answer with the same bytes (`crate::collection`).

use super::{KindError, KindInfo, KindRules, Needs, PayloadRules, Price, TaskKind};
use crate::collection::{SEARCH_PRICE_PER_QUERY, ShardSearch};

impl TaskKind {
    /// `shard_search`.
    pub const SHARD_SEARCH: Self = Self::from_wire(6);
}

/// The registry's entry.
pub const INFO: KindInfo = KindInfo {
    kind: TaskKind::SHARD_SEARCH,
    name: "shard_search",
    needs: Needs::Shard,
    exact: true,
    canary_rank: None,
};

/// The kind's rules (both halves), listed by the registry.
pub struct Rules;

impl KindRules for Rules {
    fn kind(&self) -> TaskKind {
        TaskKind::SHARD_SEARCH
    }

    /// Compared as bytes, like `vector_insert`'s answers.
    fn agree(&self, a: &[u8], b: &[u8]) -> bool {
        a == b
    }
}

impl PayloadRules for Rules {
    fn price(&self) -> Price {
        // Per replica, for a one-query search: the payload does not carry the dimension, so the
        // collection client (`collection`) prices a search by its spec's query count.
        Price {
            micro_credits: SEARCH_PRICE_PER_QUERY,
            per: 1,
            unit: "search",
        }
    }

    fn check_payload(&self, payload: &[u8]) -> Result<(), KindError> {
        ShardSearch::decode(payload)
            .map(drop)
            .map_err(KindError::of)
    }

    fn units(&self, payload: &[u8]) -> Result<u64, KindError> {
        ShardSearch::decode(payload).map_err(KindError::of)?;
        Ok(1)
    }

    #[cfg(feature = "faults")]
    fn lie(&self, result: &[u8], lie: super::Lie) -> Result<Vec<u8>, KindError> {
        lie_about_answer(result, lie)
    }
}

/// A holder's answer with its first scores changed, or a hit dropped from each query.
#[cfg(feature = "faults")]
pub(super) fn lie_about_answer(result: &[u8], lie: super::Lie) -> Result<Vec<u8>, KindError> {
    let mut answer = crate::collection::ShardAnswer::decode(result).map_err(KindError::of)?;
    for hits in &mut answer.hits {
        match lie {
            super::Lie::DropHit => {
                let _ = hits.pop();
            }
            super::Lie::Wrong => {
                if let Some(h) = hits.first_mut() {
                    h.score += 1.0;
                }
            }
        }
    }
    Ok(answer.encode())
}
