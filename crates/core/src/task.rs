//! The task model: what is computed, independent of how it travels.
//!
//! Payloads and results are postcard-encoded plaintexts; they travel only inside sealed envelopes.
//! Decoding checks every size against the limits below before a kernel sees the data.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::error::ErrorCode;

/// A task's id, chosen at random by its submitter (16 bytes; collisions are refused by the relay).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TaskId(pub [u8; 16]);

impl TaskId {
    /// A fresh random id.
    pub fn random<R: rand_core::CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut id = [0u8; 16];
        rng.fill_bytes(&mut id);
        Self(id)
    }
}

impl core::str::FromStr for TaskId {
    type Err = TaskError;

    /// Parses the 32-character lowercase hex form that `Display` writes.
    fn from_str(s: &str) -> Result<Self, TaskError> {
        hex16(s).map(Self).ok_or_else(|| {
            TaskError::Malformed(format!("a task id is 32 hex characters, got {s:?}"))
        })
    }
}

/// 16 bytes from their 32-character lowercase hex form (task and collection ids).
pub fn hex16(s: &str) -> Option<[u8; 16]> {
    data_encoding::HEXLOWER
        .decode(s.as_bytes())
        .ok()
        .and_then(|b| <[u8; 16]>::try_from(b).ok())
}

impl core::fmt::Display for TaskId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&data_encoding::HEXLOWER.encode(&self.0))
    }
}

/// The kinds of work the network runs (the brief's task table). Kinds a node can run are listed in
/// its capabilities; the relay offers a task only to nodes that list its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TaskKind {
    /// Batched k-nearest-neighbour search.
    VectorSearch,
    /// ChaCha20-Poly1305 over a payload with the task's own key.
    Encryption,
    /// Quantization of vectors to int8 codes or sign bits (the brief's `compression`).
    Compression,
    /// Sentence embeddings of texts with a served model.
    Embedding,
    /// A query text's candidates ranked by the cosine of their embeddings.
    SemanticMatch,
    /// Vectors added to one shard of a collection, on each of its holders (`collection`).
    VectorInsert,
    /// A `vector_search` over one shard of a collection, run by its holders (`collection`).
    ShardSearch,
}

impl TaskKind {
    /// The name used in APIs and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::VectorSearch => "vector_search",
            Self::Encryption => "encryption",
            Self::Compression => "compression",
            Self::Embedding => "embedding",
            Self::SemanticMatch => "semantic_match",
            Self::VectorInsert => "vector_insert",
            Self::ShardSearch => "shard_search",
        }
    }

    /// The kind with this [`name`](Self::name), if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Every kind, in declaration order.
    pub const ALL: [Self; 7] = [
        Self::VectorSearch,
        Self::Encryption,
        Self::Compression,
        Self::Embedding,
        Self::SemanticMatch,
        Self::VectorInsert,
        Self::ShardSearch,
    ];

    /// Whether the kind needs a model's weights (a node lists it only once the model is loaded).
    pub fn needs_model(self) -> bool {
        matches!(self, Self::Embedding | Self::SemanticMatch)
    }

    /// Whether the kind runs on a collection's shard, by its holders only (not offered to
    /// others; a node lists it when it offers storage).
    pub fn needs_shard(self) -> bool {
        matches!(self, Self::VectorInsert | Self::ShardSearch)
    }
}

/// Similarity metric of a search (mirrors the kernels' metric; core does not depend on kernels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SearchMetric {
    /// Inner product.
    Dot,
    /// Cosine similarity.
    Cosine,
    /// Negated squared Euclidean distance.
    L2,
}

impl SearchMetric {
    /// The metric named `"dot"`, `"cosine"` or `"l2"`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "dot" => Some(Self::Dot),
            "cosine" => Some(Self::Cosine),
            "l2" => Some(Self::L2),
            _ => None,
        }
    }
}

/// Limits on a `vector_search` payload (a sealed payload must fit one 1 MiB frame).
pub mod limits {
    /// Largest dimension.
    pub const MAX_DIM: u32 = 4096;
    /// Largest k.
    pub const MAX_K: u32 = 1024;
    /// Largest number of f32 values (queries + database) in one payload.
    pub const MAX_VALUES: usize = 240_000;
}

/// A `vector_search` task: `queries` (nq × dim) against `database` (n × dim), row-major.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VectorSearch {
    /// Similarity metric.
    pub metric: SearchMetric,
    /// Vector dimension.
    pub dim: u32,
    /// Neighbours per query.
    pub k: u32,
    /// Query vectors.
    pub queries: Vec<f32>,
    /// Database vectors.
    pub database: Vec<f32>,
}

/// One hit: database row and score (higher is closer).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    /// Database row.
    pub index: u32,
    /// Score.
    pub score: f32,
}

/// The result of a `vector_search`: per query, its hits, best first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KnnResult {
    /// Hits per query.
    pub hits: Vec<Vec<Hit>>,
}

/// Errors from encoding and decoding task data.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TaskError {
    /// The bytes are not a valid encoding.
    #[error("task data does not decode: {0}")]
    Malformed(String),
    /// The data breaks a limit or a shape rule.
    #[error("task data out of bounds: {0}")]
    OutOfBounds(String),
    /// The task names a model the network does not serve.
    #[error("model {0:?} is not served (served: {models})", models = text::MODELS.join(", "))]
    UnknownModel(String),
}

impl ErrorCode for TaskError {
    fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "EN-140",
            Self::OutOfBounds(_) => "EN-141",
            Self::UnknownModel(_) => "EN-143",
        }
    }
}

impl VectorSearch {
    /// Checks shapes and limits (finite values are the kernels' check).
    pub fn validate(&self) -> Result<(), TaskError> {
        let bad = |m: String| Err(TaskError::OutOfBounds(m));
        if self.dim == 0 || self.dim > limits::MAX_DIM {
            return bad(format!("dim {} not in 1..={}", self.dim, limits::MAX_DIM));
        }
        if self.k == 0 || self.k > limits::MAX_K {
            return bad(format!("k {} not in 1..={}", self.k, limits::MAX_K));
        }
        let dim = self.dim as usize;
        if self.queries.is_empty()
            || !self.queries.len().is_multiple_of(dim)
            || !self.database.len().is_multiple_of(dim)
        {
            return bad(
                "queries and database must be non-empty multiples of dim (database may be empty)"
                    .into(),
            );
        }
        if self.queries.len() + self.database.len() > limits::MAX_VALUES {
            return bad(format!("more than {} values", limits::MAX_VALUES));
        }
        Ok(())
    }

    /// Encodes after validating.
    pub fn encode(&self) -> Result<Vec<u8>, TaskError> {
        encode_checked(self, Self::validate)
    }

    /// Decodes untrusted bytes and validates.
    pub fn decode(bytes: &[u8]) -> Result<Self, TaskError> {
        decode_checked(bytes, Self::validate)
    }

    /// Number of queries.
    pub fn query_count(&self) -> usize {
        self.queries.len() / self.dim.max(1) as usize
    }
}

impl KnnResult {
    /// Encodes the result.
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_allocvec(self).unwrap_or_default()
    }

    /// Decodes untrusted bytes, bounded by the limits.
    pub fn decode(bytes: &[u8]) -> Result<Self, TaskError> {
        let result: Self = from_bytes(bytes)?;
        let total: usize = result.hits.iter().map(Vec::len).sum();
        if result.hits.len() > limits::MAX_VALUES || total > limits::MAX_VALUES {
            return Err(TaskError::OutOfBounds("too many hits".into()));
        }
        Ok(result)
    }
}

/// An `encryption` task: seal `plaintext` with the task's key and nonce (ChaCha20-Poly1305, the
/// same AEAD as envelopes). Deterministic, so every honest worker returns the same bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Encryption {
    /// The key.
    pub key: [u8; 32],
    /// The nonce; never reuse one with the same key for different data.
    pub nonce: [u8; 12],
    /// Associated data, authenticated but not encrypted.
    pub aad: Vec<u8>,
    /// What to encrypt.
    pub plaintext: Vec<u8>,
}

impl Encryption {
    /// Largest plaintext (a sealed payload must fit one 1 MiB frame).
    pub const MAX_PLAINTEXT: usize = 768 * 1024;
    /// Largest associated data.
    pub const MAX_AAD: usize = 4096;

    /// Checks the limits.
    pub fn validate(&self) -> Result<(), TaskError> {
        if self.plaintext.len() > Self::MAX_PLAINTEXT || self.aad.len() > Self::MAX_AAD {
            return Err(TaskError::OutOfBounds(format!(
                "plaintext {} (max {}) or aad {} (max {}) bytes",
                self.plaintext.len(),
                Self::MAX_PLAINTEXT,
                self.aad.len(),
                Self::MAX_AAD
            )));
        }
        Ok(())
    }

    /// Encodes after validating.
    pub fn encode(&self) -> Result<Vec<u8>, TaskError> {
        encode_checked(self, Self::validate)
    }

    /// Decodes untrusted bytes and validates.
    pub fn decode(bytes: &[u8]) -> Result<Self, TaskError> {
        decode_checked(bytes, Self::validate)
    }

    /// Runs the task: the ciphertext with its tag.
    pub fn run(&self) -> Vec<u8> {
        crate::aead::seal(&self.key, &self.nonce, &self.aad, &self.plaintext)
    }
}

/// How a `compression` task quantizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Quantization {
    /// One signed byte per value and one f32 scale per row (`row ≈ scale × code`): 4× smaller.
    Int8,
    /// One sign bit per value (set when the value is > 0), rows padded to 64 bits: 32× smaller.
    Binary,
}

impl Quantization {
    /// The mode named `"int8"` or `"binary"`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "int8" => Some(Self::Int8),
            "binary" => Some(Self::Binary),
            _ => None,
        }
    }

    /// Bytes of codes per row of `dim` values.
    pub fn row_bytes(self, dim: u32) -> usize {
        match self {
            Self::Int8 => dim as usize,
            Self::Binary => (dim as usize).div_ceil(64) * 8,
        }
    }
}

/// A `compression` task: quantize `vectors` (rows × dim, row-major). Deterministic (IEEE division
/// and rounding only), so honest workers return identical bytes on every platform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Compression {
    /// Int8 or binary.
    pub mode: Quantization,
    /// Vector dimension.
    pub dim: u32,
    /// The vectors.
    pub vectors: Vec<f32>,
}

impl Compression {
    /// Checks shapes and limits (finite values are the kernels' check).
    pub fn validate(&self) -> Result<(), TaskError> {
        if self.dim == 0 || self.dim > limits::MAX_DIM {
            return Err(TaskError::OutOfBounds(format!(
                "dim {} not in 1..={}",
                self.dim,
                limits::MAX_DIM
            )));
        }
        if self.vectors.is_empty()
            || !self.vectors.len().is_multiple_of(self.dim as usize)
            || self.vectors.len() > limits::MAX_VALUES
        {
            return Err(TaskError::OutOfBounds(format!(
                "vectors must be a non-empty multiple of dim with at most {} values",
                limits::MAX_VALUES
            )));
        }
        Ok(())
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

/// The result of a `compression`: per row, its codes (and for int8 its scale).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompressedVectors {
    /// The mode used.
    pub mode: Quantization,
    /// Vector dimension.
    pub dim: u32,
    /// Number of rows.
    pub rows: u32,
    /// Int8: one scale per row. Binary: empty.
    pub scales: Vec<f32>,
    /// `rows × mode.row_bytes(dim)` bytes: int8 codes as two's-complement bytes, or sign bits as
    /// little-endian 64-bit words (bit i of a row is value i).
    pub codes: Vec<u8>,
}

impl CompressedVectors {
    /// Checks that the lengths fit the shape.
    pub fn validate(&self) -> Result<(), TaskError> {
        let rows = self.rows as usize;
        let scales = if self.mode == Quantization::Int8 {
            rows
        } else {
            0
        };
        let fits = self.dim > 0
            && self.dim <= limits::MAX_DIM
            && rows <= limits::MAX_VALUES
            && self.scales.len() == scales
            && Some(self.codes.len()) == rows.checked_mul(self.mode.row_bytes(self.dim));
        if fits {
            Ok(())
        } else {
            Err(TaskError::OutOfBounds(format!(
                "{} rows of dim {} do not match {} scales and {} code bytes",
                self.rows,
                self.dim,
                self.scales.len(),
                self.codes.len()
            )))
        }
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

/// Limits and models of the text tasks (`embedding`, `semantic_match`). A text past the model's
/// 256 tokens is truncated by the model, so [`MAX_TEXT_BYTES`](text::MAX_TEXT_BYTES) only bounds
/// what travels; the result of the largest payload (256 vectors of 384 floats) is 384 KiB.
pub mod text {
    /// Models the network serves, by the name tasks use (all-MiniLM-L6-v2).
    pub const MODELS: &[&str] = &["minilm"];
    /// Most texts in one task (an `embedding`'s texts, a `semantic_match`'s query + candidates).
    pub const MAX_TEXTS: usize = 256;
    /// Longest text, in UTF-8 bytes.
    pub const MAX_TEXT_BYTES: usize = 8192;
    /// Most text bytes in one task.
    pub const MAX_TOTAL_BYTES: usize = 256 * 1024;
    /// Widest embedding a result may carry.
    pub const MAX_EMBEDDING_DIM: u32 = 1024;
}

/// Checks a model name and a list of texts against [`text`]'s limits.
fn validate_texts<'a>(
    model: &str,
    texts: impl ExactSizeIterator<Item = &'a String>,
) -> Result<(), TaskError> {
    if !text::MODELS.contains(&model) {
        return Err(TaskError::UnknownModel(model.chars().take(64).collect()));
    }
    let count = texts.len();
    if count == 0 || count > text::MAX_TEXTS {
        return Err(TaskError::OutOfBounds(format!(
            "{count} texts; a task takes 1 to {}",
            text::MAX_TEXTS
        )));
    }
    let mut total = 0usize;
    for (i, t) in texts.enumerate() {
        if t.len() > text::MAX_TEXT_BYTES {
            return Err(TaskError::OutOfBounds(format!(
                "text {i} is {} bytes; the most is {}",
                t.len(),
                text::MAX_TEXT_BYTES
            )));
        }
        total += t.len();
    }
    if total > text::MAX_TOTAL_BYTES {
        return Err(TaskError::OutOfBounds(format!(
            "{total} bytes of text; the most is {}",
            text::MAX_TOTAL_BYTES
        )));
    }
    Ok(())
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

/// A `semantic_match` task: rank `candidates` by the cosine of their embeddings with `query`'s
/// (the brief's use: a task description against agents' descriptions).
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

/// Validates, then encodes.
fn encode_checked<T: Serialize>(
    value: &T,
    validate: impl FnOnce(&T) -> Result<(), TaskError>,
) -> Result<Vec<u8>, TaskError> {
    validate(value)?;
    to_bytes(value)
}

/// Decodes untrusted bytes, then validates.
fn decode_checked<'a, T: Deserialize<'a>>(
    bytes: &'a [u8],
    validate: impl FnOnce(&T) -> Result<(), TaskError>,
) -> Result<T, TaskError> {
    let value = from_bytes(bytes)?;
    validate(&value)?;
    Ok(value)
}

fn to_bytes<T: Serialize>(value: &T) -> Result<Vec<u8>, TaskError> {
    postcard::to_allocvec(value).map_err(|e| TaskError::Malformed(e.to_string()))
}

fn from_bytes<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, TaskError> {
    postcard::from_bytes(bytes).map_err(|e| TaskError::Malformed(e.to_string()))
}

/// The public commitment a worker publishes with its sealed result: SHA-256 over a domain tag, the
/// task id and the result plaintext. Signed by the worker, it binds the worker to what it sent
/// (evidence for later disputes) without revealing it.
pub fn result_commitment(task: &TaskId, result: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"edgenet/result-commitment/v1");
    h.update(task.0);
    h.update(result);
    h.finalize().into()
}

/// The message a worker signs for its result: domain tag, task id, commitment.
pub fn result_signing_message(task: &TaskId, commitment: &[u8; 32]) -> Vec<u8> {
    [b"edgenet/result/v1".as_slice(), &task.0, commitment].concat()
}
