//! `embedding`: one unit vector per text from a served model. Backends sum floats in different
//! orders, so results agree when every pair of vectors is at cosine ≥ [`EMBEDDING_MIN_COSINE`].

use serde::{Deserialize, Serialize};

use super::codec::{TaskError, decode_checked, encode_checked};
use super::text::{self, validate_texts};
use super::{KindError, KindInfo, KindRules, KnownAnswer, Needs, PayloadRules, Price, TaskKind};

impl TaskKind {
    /// `embedding`.
    pub const EMBEDDING: Self = Self::from_wire(3);
}

/// The registry's entry.
pub const INFO: KindInfo = KindInfo {
    kind: TaskKind::EMBEDDING,
    name: "embedding",
    needs: Needs::Model,
    // The kind whose shortcut (no model at all) pays most: tested first.
    exact: false,
    canary_rank: Some(0),
};

/// The kind's rules (both halves), listed by the registry.
pub struct Rules;

impl KindRules for Rules {
    fn kind(&self) -> TaskKind {
        TaskKind::EMBEDDING
    }

    fn agree(&self, a: &[u8], b: &[u8]) -> bool {
        match (Embeddings::decode(a), Embeddings::decode(b)) {
            (Ok(a), Ok(b)) => embeddings_agree(&a, &b),
            _ => false,
        }
    }
}

impl PayloadRules for Rules {
    fn price(&self) -> Price {
        // The brief: 5 credits per 100 texts.
        Price {
            micro_credits: 5_000_000,
            per: 100,
            unit: "text",
        }
    }

    fn check_payload(&self, payload: &[u8]) -> Result<(), KindError> {
        Embedding::decode(payload).map(drop).map_err(KindError::of)
    }

    fn units(&self, payload: &[u8]) -> Result<u64, KindError> {
        Ok(Embedding::decode(payload)
            .map_err(KindError::of)?
            .texts
            .len() as u64)
    }

    fn canary(&self, rng: &mut dyn rand_core::Rng) -> Option<KnownAnswer> {
        canary::draw(rng)
    }

    fn fuzz(&self, data: &[u8]) {
        if let Ok(t) = Embedding::decode(data) {
            assert!(!t.texts.is_empty() && t.texts.len() <= text::MAX_TEXTS);
            assert!(t.texts.iter().map(String::len).sum::<usize>() <= text::MAX_TOTAL_BYTES);
        }
        if let Ok(e) = Embeddings::decode(data) {
            assert!(
                embeddings_agree(&e, &e),
                "an embedding result disagrees with itself"
            );
        }
    }

    /// Noise of norm 0.2 on each unit vector, renormalized: cosine ≈ 1/√1.04 ≈ 0.98.
    #[cfg(feature = "faults")]
    fn lie(&self, result: &[u8], _lie: super::Lie) -> Result<Vec<u8>, KindError> {
        let mut e = Embeddings::decode(result).map_err(KindError::of)?;
        let dim = e.dim as usize;
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for row in e.vectors.chunks_exact_mut(dim) {
            let noise: Vec<f32> = (0..dim)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
                })
                .collect();
            let norm = noise.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-6);
            for (v, n) in row.iter_mut().zip(&noise) {
                *v += 0.2 * n / norm;
            }
            let len = row.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
            row.iter_mut().for_each(|v| *v /= len);
        }
        Ok(e.encode())
    }
}

/// The embedding canaries: texts whose reference vectors travel with the relay only (feature
/// `canaries`), so a page's protocol module carries no table.
#[cfg(feature = "canaries")]
mod canary {
    use super::{Embedding, Embeddings, KnownAnswer, text};

    /// The texts; row i of `embedding_canary.bin` (384 little-endian f32) is
    /// sentence-transformers' all-MiniLM-L6-v2 embedding of text i.
    const TEXTS: [&str; 16] = [
        "How do I reset my password?",
        "Where can I find the nearest train station?",
        "Translate this contract into German before Friday.",
        "Summarize the quarterly revenue report for the board.",
        "An agent that books flights and hotels for business travel.",
        "An agent that writes SQL queries against a data warehouse.",
        "An agent that reviews pull requests for security issues.",
        "An agent that transcribes meetings and extracts action items.",
        "Find me a vegetarian restaurant open after 10pm.",
        "I love this product, it works perfectly!",
        "This is the worst customer service I have ever experienced.",
        "It's fine, I guess. Nothing special.",
        "Don't you think it's a bit late?",
        "e-mail, co-operate, well-known, state-of-the-art",
        "U.S.A. vs. U.K.: a comparison (2024 edition).",
        "#hashtag @mention $100 %50 ^caret &and *star",
    ];
    const VECTORS: &[u8] = include_bytes!("embedding_canary.bin");
    const DIM: usize = 384;
    /// Texts one canary asks for.
    const PICK: usize = 4;

    /// A canary's payload (four table texts in random order) and answer (their reference
    /// vectors, compared with tolerance).
    pub(super) fn draw(rng: &mut dyn rand_core::Rng) -> Option<KnownAnswer> {
        let mut rows: Vec<usize> = (0..TEXTS.len()).collect();
        // Fisher–Yates over the first PICK places.
        for i in 0..PICK {
            let j = i + (rng.next_u32() as usize) % (rows.len() - i);
            rows.swap(i, j);
        }
        rows.truncate(PICK);
        let job = Embedding {
            model: text::MODELS[0].into(),
            texts: rows.iter().map(|&r| TEXTS[r].to_owned()).collect(),
        };
        let vectors = rows
            .iter()
            .flat_map(|&r| VECTORS[r * DIM * 4..(r + 1) * DIM * 4].chunks_exact(4))
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let expected = Embeddings {
            dim: DIM as u32,
            vectors,
        };
        Some(KnownAnswer {
            payload: job.encode().ok()?,
            expected: expected.encode(),
        })
    }
}

#[cfg(not(feature = "canaries"))]
mod canary {
    use super::KnownAnswer;

    /// Built without the canary table (`canaries` is the relay's feature).
    pub(super) fn draw(_rng: &mut dyn rand_core::Rng) -> Option<KnownAnswer> {
        None
    }
}

/// An `embedding` task: one unit vector per text, from `model`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Embedding {
    /// A served model's name ([`text::MODELS`]).
    pub model: String,
    /// The texts.
    pub texts: Vec<String>,
}

impl Embedding {
    /// Checks the model and the limits.
    pub fn validate(&self) -> Result<(), TaskError> {
        validate_texts(&self.model, self.texts.iter())
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

/// The result of an `embedding`: `rows × dim` floats, row i the embedding of text i.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Embeddings {
    /// Width of each vector.
    pub dim: u32,
    /// The vectors, row-major.
    pub vectors: Vec<f32>,
}

impl Embeddings {
    /// Checks the shape and that every value is finite.
    pub fn validate(&self) -> Result<(), TaskError> {
        let dim = self.dim as usize;
        let fits = (1..=text::MAX_EMBEDDING_DIM).contains(&self.dim)
            && self.vectors.len().is_multiple_of(dim)
            && self.vectors.len() / dim <= text::MAX_TEXTS
            && self.vectors.iter().all(|v| v.is_finite());
        if fits {
            Ok(())
        } else {
            Err(TaskError::OutOfBounds(format!(
                "{} values of dim {} are not up to {} finite rows",
                self.vectors.len(),
                self.dim,
                text::MAX_TEXTS
            )))
        }
    }

    /// Number of vectors.
    pub fn rows(&self) -> usize {
        self.vectors.len() / (self.dim.max(1) as usize)
    }

    /// Vector `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        let dim = self.dim as usize;
        &self.vectors[i * dim..(i + 1) * dim]
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

/// The cosine two honest workers' embeddings of one text reach at least (τ).
///
/// Measured (docs/testing.md): the SIMD CPU path, on one thread or two, one text at a time or
/// batched, against sentence-transformers on torch: worst cosine 0.9999999 over the 213 texts of
/// the reference fixture; between our own backends the spread is smaller still. A perturbation an
/// adversary might try to pass off (noise at cosine 0.99 or 0.98, another model, a truncated
/// text) is far below τ, and τ leaves 500× the measured spread for backends not yet measured.
pub const EMBEDDING_MIN_COSINE: f64 = 0.9995;

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let (mut dot, mut na, mut nb) = (0f64, 0f64, 0f64);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (f64::from(x), f64::from(y));
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na == 0.0 || nb == 0.0 {
        // Two zero vectors are the same answer; a zero and a non-zero are not.
        return if na == nb { 1.0 } else { 0.0 };
    }
    dot / (na.sqrt() * nb.sqrt())
}

/// Whether two embedding results agree: same shape, every row at cosine ≥ τ.
pub fn embeddings_agree(a: &Embeddings, b: &Embeddings) -> bool {
    a.dim == b.dim
        && a.vectors.len() == b.vectors.len()
        && (0..a.rows()).all(|i| cosine(a.row(i), b.row(i)) >= EMBEDDING_MIN_COSINE)
}
