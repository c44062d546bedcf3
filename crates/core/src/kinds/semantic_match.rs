//! `semantic_match`: a query text's candidates ranked by the cosine of their embeddings (the
//! brief's use: a task description against agents' descriptions). Results agree by the k-NN rule
//! over the one ranked list (scores are cosines, so the epsilon is in effect absolute).

use serde::{Deserialize, Serialize};

use super::codec::{TaskError, decode_checked, encode_checked};
use super::text::{self, validate_texts};
use super::vector_search::{Hit, hits_agree};
use super::{KindError, KindInfo, KindRules, Needs, PayloadRules, Price, TaskKind};

impl TaskKind {
    /// `semantic_match`.
    pub const SEMANTIC_MATCH: Self = Self::from_wire(4);
}

/// The registry's entry.
pub const INFO: KindInfo = KindInfo {
    kind: TaskKind::SEMANTIC_MATCH,
    name: "semantic_match",
    needs: Needs::Model,
    exact: false,
    canary_rank: None,
};

/// The kind's rules (both halves), listed by the registry.
pub struct Rules;

impl KindRules for Rules {
    fn kind(&self) -> TaskKind {
        TaskKind::SEMANTIC_MATCH
    }

    fn agree(&self, a: &[u8], b: &[u8]) -> bool {
        match (Matches::decode(a), Matches::decode(b)) {
            (Ok(a), Ok(b)) => matches_agree(&a, &b),
            _ => false,
        }
    }
}

impl PayloadRules for Rules {
    fn price(&self) -> Price {
        // The brief: 1 credit per 10 queries (a task is one query).
        Price {
            micro_credits: 1_000_000,
            per: 10,
            unit: "query",
        }
    }

    fn check_payload(&self, payload: &[u8]) -> Result<(), KindError> {
        SemanticMatch::decode(payload)
            .map(drop)
            .map_err(KindError::of)
    }

    fn units(&self, payload: &[u8]) -> Result<u64, KindError> {
        SemanticMatch::decode(payload).map_err(KindError::of)?;
        Ok(1)
    }

    fn fuzz(&self, data: &[u8]) {
        if let Ok(t) = SemanticMatch::decode(data) {
            assert!(t.candidates.len() < text::MAX_TEXTS && t.returned() <= t.candidates.len());
        }
        if let Ok(m) = Matches::decode(data) {
            assert!(matches_agree(&m, &m), "a ranking disagrees with itself");
        }
    }

    /// Every score lowered by 0.05.
    #[cfg(feature = "faults")]
    fn lie(&self, result: &[u8], _lie: super::Lie) -> Result<Vec<u8>, KindError> {
        let mut m = Matches::decode(result).map_err(KindError::of)?;
        for hit in &mut m.matches {
            hit.score -= 0.05;
        }
        Ok(m.encode())
    }
}

/// A `semantic_match` task: rank `candidates` by the cosine of their embeddings with `query`'s.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SemanticMatch {
    /// A served model's name ([`text::MODELS`]).
    pub model: String,
    /// What to match.
    pub query: String,
    /// What to rank (at most [`text::MAX_TEXTS`] − 1 with the query).
    pub candidates: Vec<String>,
    /// How many of the best to return; 0 returns them all.
    pub top_k: u32,
}

impl SemanticMatch {
    /// Checks the model and the limits (the query counts as one of the texts).
    pub fn validate(&self) -> Result<(), TaskError> {
        if self.candidates.is_empty() {
            return Err(TaskError::OutOfBounds("no candidates to rank".into()));
        }
        validate_texts(
            &self.model,
            std::iter::once(&self.query)
                .chain(&self.candidates)
                .collect::<Vec<_>>()
                .into_iter(),
        )
    }

    /// Matches returned: `top_k` (all when 0), at most the candidates.
    pub fn returned(&self) -> usize {
        match self.top_k {
            0 => self.candidates.len(),
            k => (k as usize).min(self.candidates.len()),
        }
    }

    /// Encodes after validating.
    pub fn encode(&self) -> Result<Vec<u8>, TaskError> {
        encode_checked(self, Self::validate)
    }

    /// Decodes untrusted bytes and validates.
    pub fn decode(bytes: &[u8]) -> Result<Self, TaskError> {
        decode_checked(bytes, Self::validate)
    }
}

/// The result of a `semantic_match`: candidates by index with their cosine, best first (ties
/// broken by the lower index).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Matches {
    /// The ranked candidates.
    pub matches: Vec<Hit>,
}

impl Matches {
    /// Checks the bounds: at most [`text::MAX_TEXTS`] finite scores.
    pub fn validate(&self) -> Result<(), TaskError> {
        if self.matches.len() > text::MAX_TEXTS || self.matches.iter().any(|h| !h.score.is_finite())
        {
            return Err(TaskError::OutOfBounds(format!(
                "{} matches (at most {}, finite scores)",
                self.matches.len(),
                text::MAX_TEXTS
            )));
        }
        Ok(())
    }

    /// Encodes the result.
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_allocvec(self).unwrap_or_default()
    }

    /// Decodes untrusted bytes and validates.
    pub fn decode(bytes: &[u8]) -> Result<Self, TaskError> {
        decode_checked(bytes, Self::validate)
    }
}

/// Whether two semantic-match results agree: the k-NN rule over the one ranked list.
pub fn matches_agree(a: &Matches, b: &Matches) -> bool {
    hits_agree(&a.matches, &b.matches)
}
