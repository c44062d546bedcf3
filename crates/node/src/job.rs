//! What `edgenet-node submit` sends and reads back, kind by kind: a [`Job`] built from the
//! command line, its payload, and the [`Report`] of its verified result, checked against this
//! machine's own run of the same job.

use std::path::PathBuf;

use edgenet_core::kinds::compression::{Compression, Quantization};
use edgenet_core::kinds::embedding::embeddings_agree;
use edgenet_core::kinds::embedding::{Embedding, Embeddings};
use edgenet_core::kinds::encryption::Encryption;
use edgenet_core::kinds::semantic_match::matches_agree;
use edgenet_core::kinds::semantic_match::{Matches, SemanticMatch};
use edgenet_core::kinds::vector_search::knn_agree;
use edgenet_core::kinds::vector_search::{KnnResult, SearchMetric, VectorSearch};
use edgenet_core::task::{TaskId, TaskKind};
use edgenet_core::{ErrorCode, NodeId};
use edgenet_proto::submit::Outcome;
use rand_chacha::rand_core::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::error::NodeError;

/// Where the vectors come from.
pub enum Vectors {
    /// A JSON file (see [`VectorsFile`]).
    File(PathBuf),
    /// Random vectors in [-1, 1) from a seed.
    Random {
        seed: u64,
        n: u32,
        queries: u32,
        dim: u32,
    },
}

/// The vectors file format.
#[derive(Debug, Serialize, Deserialize)]
pub struct VectorsFile {
    /// Query vectors.
    pub queries: Vec<Vec<f32>>,
    /// Database vectors.
    pub database: Vec<Vec<f32>>,
}

/// What the command line says of a job: its kind's name (as the registry spells it, or with
/// `-` for `_`) and the options each kind reads; the others are ignored.
pub struct JobArgs {
    /// The kind's name.
    pub kind: String,
    /// Vectors of a search from a file, instead of random ones.
    pub vectors: Option<PathBuf>,
    /// Seed of the random vectors or bytes.
    pub seed: u64,
    /// Random database rows (a search), or vectors to quantize.
    pub n: u32,
    /// Random queries of a search.
    pub queries: u32,
    /// Random vectors' dimension.
    pub dim: u32,
    /// Neighbours per query.
    pub k: u32,
    /// A search's metric.
    pub metric: SearchMetric,
    /// A text task's texts (or candidates), one per line.
    pub file: Option<PathBuf>,
    /// The text candidates are matched against.
    pub query: Option<String>,
    /// Best candidates returned (0: all).
    pub top_k: u32,
    /// A text task's model.
    pub model: String,
    /// Random plaintext bytes to encrypt.
    pub bytes: usize,
    /// Quantization mode (`int8` or `binary`).
    pub mode: String,
}

/// The kinds `submit` sends, by their names (the command line's `--kind`).
pub const SUBMITTED_KINDS: [TaskKind; 5] = [
    TaskKind::VECTOR_SEARCH,
    TaskKind::ENCRYPTION,
    TaskKind::COMPRESSION,
    TaskKind::EMBEDDING,
    TaskKind::SEMANTIC_MATCH,
];

/// A task to submit, with its payload in plain form.
pub enum Job {
    /// A `vector_search`.
    Search(VectorSearch),
    /// An `encryption`.
    Encrypt(Encryption),
    /// A `compression`.
    Compress(Compression),
    /// An `embedding`.
    Embed(Embedding),
    /// A `semantic_match`.
    Match(SemanticMatch),
}

impl Job {
    /// The job the command line describes (EN-153 for a kind `submit` does not send or a
    /// missing option; the kind's own code for a payload past its limits).
    pub fn from_args(a: &JobArgs) -> Result<Self, NodeError> {
        let input = |m: &str| NodeError::Input(m.to_owned());
        let kind = TaskKind::from_name(&a.kind.replace('-', "_"))
            .filter(|k| SUBMITTED_KINDS.contains(k))
            .ok_or_else(|| {
                let names: Vec<&str> = SUBMITTED_KINDS.iter().map(|k| k.name()).collect();
                input(&format!(
                    "--kind must be one of {}, got {:?}",
                    names.join(", "),
                    a.kind
                ))
            })?;
        let file = || {
            a.file.clone().ok_or_else(|| {
                input("--kind embedding and semantic-match read their texts from --file")
            })
        };
        Ok(match kind {
            TaskKind::ENCRYPTION => Self::random_encryption(a.seed, a.bytes),
            TaskKind::COMPRESSION => {
                let mode = Quantization::from_name(&a.mode).ok_or_else(|| {
                    input(&format!("--mode must be int8 or binary, got {:?}", a.mode))
                })?;
                Self::random_compression(a.seed, mode, a.n, a.dim)
            }
            TaskKind::EMBEDDING => Self::embedding_of_file(&file()?, &a.model)?,
            TaskKind::SEMANTIC_MATCH => {
                let query = a
                    .query
                    .as_deref()
                    .ok_or_else(|| input("--kind semantic-match needs --query"))?;
                Self::semantic_match_of_file(query, &file()?, &a.model, a.top_k)?
            }
            _ => {
                let vectors = match &a.vectors {
                    Some(path) => Vectors::File(path.clone()),
                    None => Vectors::Random {
                        seed: a.seed,
                        n: a.n,
                        queries: a.queries,
                        dim: a.dim,
                    },
                };
                Self::Search(build_task(&vectors, a.metric, a.k)?)
            }
        })
    }

    /// Whether checking the result here needs the embedding model.
    pub fn needs_model(&self) -> bool {
        self.kind().needs_model()
    }

    /// An `encryption` of `bytes` random bytes under a random key, all from `seed`.
    pub fn random_encryption(seed: u64, bytes: usize) -> Self {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut key = [0u8; 32];
        let mut nonce = [0u8; 12];
        let mut plaintext = vec![0u8; bytes];
        rng.fill_bytes(&mut key);
        rng.fill_bytes(&mut nonce);
        rng.fill_bytes(&mut plaintext);
        Self::Encrypt(Encryption {
            key,
            nonce,
            aad: b"edgenet-node submit".to_vec(),
            plaintext,
        })
    }

    /// A `compression` of `rows` random vectors of `dim` values from `seed`.
    pub fn random_compression(seed: u64, mode: Quantization, rows: u32, dim: u32) -> Self {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let vectors = (0..rows as usize * dim as usize)
            .map(|_| (rng.next_u32() >> 8) as f32 / (1u32 << 23) as f32 - 1.0)
            .collect();
        Self::Compress(Compression { mode, dim, vectors })
    }

    /// An `embedding` of a file's lines (one text per line; blank lines are skipped).
    pub fn embedding_of_file(path: &std::path::Path, model: &str) -> Result<Self, NodeError> {
        let task = Embedding {
            model: model.to_owned(),
            texts: read_lines(path)?,
        };
        task.validate()
            .map_err(|e| NodeError::Input(format!("{}: {e}", e.code())))?;
        Ok(Self::Embed(task))
    }

    /// A `semantic_match` of `query` against a file's lines.
    pub fn semantic_match_of_file(
        query: &str,
        path: &std::path::Path,
        model: &str,
        top_k: u32,
    ) -> Result<Self, NodeError> {
        let task = SemanticMatch {
            model: model.to_owned(),
            query: query.to_owned(),
            candidates: read_lines(path)?,
            top_k,
        };
        task.validate()
            .map_err(|e| NodeError::Input(format!("{}: {e}", e.code())))?;
        Ok(Self::Match(task))
    }

    /// The task's kind.
    pub fn kind(&self) -> TaskKind {
        match self {
            Self::Search(_) => TaskKind::VECTOR_SEARCH,
            Self::Encrypt(_) => TaskKind::ENCRYPTION,
            Self::Compress(_) => TaskKind::COMPRESSION,
            Self::Embed(_) => TaskKind::EMBEDDING,
            Self::Match(_) => TaskKind::SEMANTIC_MATCH,
        }
    }

    /// The encoded payload.
    pub fn payload(&self) -> Result<Vec<u8>, NodeError> {
        match self {
            Self::Search(t) => t.encode(),
            Self::Encrypt(t) => t.encode(),
            Self::Compress(t) => t.encode(),
            Self::Embed(t) => t.encode(),
            Self::Match(t) => t.encode(),
        }
        .map_err(|e| NodeError::Input(e.to_string()))
    }
}

/// A text file's non-blank lines, each a text.
fn read_lines(path: &std::path::Path) -> Result<Vec<String>, NodeError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| NodeError::Input(format!("{}: {e}", path.display())))?;
    Ok(text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect())
}

/// What `submit` prints with `--json`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Report {
    /// Task id.
    pub task: String,
    /// Workers that agreed.
    pub agreeing: Vec<String>,
    /// Workers outvoted.
    pub outvoted: Vec<String>,
    /// Whether the verified result equals this machine's own CPU computation (`null` for a text
    /// task when this machine has no model to compare with).
    pub matches_local: Option<bool>,
    /// The verified hits per query (vector_search).
    pub hits: Vec<Vec<(u32, f32)>>,
    /// Length of the verified result in bytes.
    pub result_bytes: usize,
    /// Whether a majority of workers agreed on the result (always, for a result at all).
    pub verified: bool,
    /// The workers whose results agreed (as `agreeing`: the brief's field name).
    pub workers: Vec<String>,
    /// The verified embeddings, one per text (embedding).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embeddings: Option<Vec<Vec<f32>>>,
    /// The verified ranking (semantic_match).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matches: Option<Vec<MatchOut>>,
}

/// One ranked candidate of a semantic match.
#[derive(Debug, Serialize, Deserialize)]
pub struct MatchOut {
    /// The candidate's line (0-based, blank lines skipped).
    pub index: u32,
    /// Its cosine with the query.
    pub score: f32,
}

/// Builds the task from the options.
pub fn build_task(
    vectors: &Vectors,
    metric: SearchMetric,
    k: u32,
) -> Result<VectorSearch, NodeError> {
    let task = match vectors {
        Vectors::File(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| NodeError::Input(format!("{}: {e}", path.display())))?;
            let file: VectorsFile = serde_json::from_str(&text)
                .map_err(|e| NodeError::Input(format!("{}: {e}", path.display())))?;
            let dim = file.queries.first().map_or(0, Vec::len);
            if file
                .queries
                .iter()
                .chain(&file.database)
                .any(|v| v.len() != dim)
            {
                return Err(NodeError::Input(
                    "every vector must have the same dimension".into(),
                ));
            }
            VectorSearch {
                metric,
                dim: u32::try_from(dim).unwrap_or(u32::MAX),
                k,
                queries: file.queries.concat(),
                database: file.database.concat(),
            }
        }
        Vectors::Random {
            seed,
            n,
            queries,
            dim,
        } => {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(*seed);
            let mut values = |count: u32| -> Vec<f32> {
                (0..count)
                    .map(|_| (rng.next_u32() >> 8) as f32 / (1u32 << 23) as f32 - 1.0)
                    .collect()
            };
            let q = values(queries * dim);
            VectorSearch {
                metric,
                dim: *dim,
                k,
                queries: q,
                database: values(n * dim),
            }
        }
    };
    task.validate()
        .map_err(|e| NodeError::Input(e.to_string()))?;
    Ok(task)
}

/// The report for an outcome, checked against this machine's own computation of the same job
/// (for a text task, only when `model` is loaded here).
pub fn report(
    id: TaskId,
    job: &Job,
    outcome: &Outcome,
    model: Option<&edgenet_embed::Embedder>,
) -> Result<Report, NodeError> {
    let bad = |e: edgenet_core::task::TaskError| NodeError::Input(e.to_string());
    let (mut embeddings, mut matches) = (None, None);
    let (matches_local, hits) = match job {
        Job::Search(task) => {
            let verified =
                KnnResult::decode(&outcome.result).map_err(|e| NodeError::Input(e.to_string()))?;
            let local = edgenet_kernels::execute::vector_search(task)
                .map_err(|e| NodeError::Input(e.to_string()))?;
            let hits = verified
                .hits
                .iter()
                .map(|q| q.iter().map(|h| (h.index, h.score)).collect())
                .collect();
            (Some(knn_agree(&verified, &local)), hits)
        }
        Job::Encrypt(task) => (Some(outcome.result == task.run()), Vec::new()),
        Job::Compress(task) => {
            let local = edgenet_kernels::execute::compress(task)
                .map_err(|e| NodeError::Input(e.to_string()))?;
            (Some(outcome.result == local.encode()), Vec::new())
        }
        Job::Embed(task) => {
            let verified = Embeddings::decode(&outcome.result).map_err(bad)?;
            if verified.rows() != task.texts.len() {
                return Err(NodeError::Input(format!(
                    "{} embeddings for {} texts",
                    verified.rows(),
                    task.texts.len()
                )));
            }
            let local = model
                .map(|m| embeddings_agree(&verified, &edgenet_embed::task::embedding(m, task, 1)));
            embeddings = Some(
                (0..verified.rows())
                    .map(|i| verified.row(i).to_vec())
                    .collect(),
            );
            (local, Vec::new())
        }
        Job::Match(task) => {
            let verified = Matches::decode(&outcome.result).map_err(bad)?;
            let local = model.map(|m| {
                matches_agree(&verified, &edgenet_embed::task::semantic_match(m, task, 1))
            });
            matches = Some(
                verified
                    .matches
                    .iter()
                    .map(|h| MatchOut {
                        index: h.index,
                        score: h.score,
                    })
                    .collect(),
            );
            (local, Vec::new())
        }
    };
    let ids = |v: &[NodeId]| v.iter().map(ToString::to_string).collect();
    Ok(Report {
        task: id.to_string(),
        agreeing: ids(&outcome.agreeing),
        outvoted: ids(&outcome.outvoted),
        matches_local,
        hits,
        result_bytes: outcome.result.len(),
        verified: !outcome.agreeing.is_empty(),
        workers: ids(&outcome.agreeing),
        embeddings,
        matches,
    })
}
