//! `vector_insert`: vectors added to one shard of a collection, on each of its holders. The
//! payload and answer types are the collection's (`crate::collection`); a shard's index is built
//! deterministically, so replicas in the same state answer with the same bytes.

use super::{KindError, KindInfo, KindRules, Needs, PayloadRules, Price, TaskKind};
use crate::collection::{INSERT_PRICE_PER_VECTOR, VectorInsert};

impl TaskKind {
    /// `vector_insert`.
    pub const VECTOR_INSERT: Self = Self::from_wire(5);
}

/// The registry's entry.
pub const INFO: KindInfo = KindInfo {
    kind: TaskKind::VECTOR_INSERT,
    name: "vector_insert",
    needs: Needs::Shard,
    exact: true,
    canary_rank: None,
};

/// The kind's rules (both halves), listed by the registry.
pub struct Rules;

impl KindRules for Rules {
    fn kind(&self) -> TaskKind {
        TaskKind::VECTOR_INSERT
    }

    /// The bytes are compared, not decoded: the submitter decodes the winner, and a page's
    /// protocol module then carries no collection decoder.
    fn agree(&self, a: &[u8], b: &[u8]) -> bool {
        a == b
    }
}

impl PayloadRules for Rules {
    fn price(&self) -> Price {
        // Per replica; the brief's 0.5 credit per 100 vectors.
        Price {
            micro_credits: INSERT_PRICE_PER_VECTOR,
            per: 1,
            unit: "vector",
        }
    }

    fn check_payload(&self, payload: &[u8]) -> Result<(), KindError> {
        VectorInsert::decode(payload)
            .map(drop)
            .map_err(KindError::of)
    }

    fn units(&self, payload: &[u8]) -> Result<u64, KindError> {
        Ok(VectorInsert::decode(payload)
            .map_err(KindError::of)?
            .ids
            .len() as u64)
    }

    #[cfg(feature = "faults")]
    fn lie(&self, result: &[u8], lie: super::Lie) -> Result<Vec<u8>, KindError> {
        super::shard_search::lie_about_answer(result, lie)
    }
}
