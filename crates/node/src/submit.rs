//! `edgenet-node submit`: send a task (`vector_search`, `encryption`, `compression`, `embedding`,
//! `semantic_match`), wait for the verified result, and print it with the workers that agreed
//! and those outvoted.

use std::path::PathBuf;
use std::time::Duration;

use edgenet_core::kinds::compression::{Compression, Quantization};
use edgenet_core::kinds::embedding::embeddings_agree;
use edgenet_core::kinds::embedding::{Embedding, Embeddings};
use edgenet_core::kinds::encryption::Encryption;
use edgenet_core::kinds::semantic_match::matches_agree;
use edgenet_core::kinds::semantic_match::{Matches, SemanticMatch};
use edgenet_core::kinds::vector_search::knn_agree;
use edgenet_core::kinds::vector_search::{KnnResult, SearchMetric, VectorSearch};
use edgenet_core::task::{TaskId, TaskKind};
use edgenet_core::{ErrorCode, NodeId, SecretKey};
use edgenet_proto::endpoint::Event;
use edgenet_proto::message::TaskSpec;
use edgenet_proto::submit::Outcome;
use rand_chacha::rand_core::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::connection::{Connection, Profile, local_capabilities};
use crate::error::NodeError;
use crate::relays::Relays;

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

    fn kind(&self) -> TaskKind {
        match self {
            Self::Search(_) => TaskKind::VECTOR_SEARCH,
            Self::Encrypt(_) => TaskKind::ENCRYPTION,
            Self::Compress(_) => TaskKind::COMPRESSION,
            Self::Embed(_) => TaskKind::EMBEDDING,
            Self::Match(_) => TaskKind::SEMANTIC_MATCH,
        }
    }

    fn payload(&self) -> Result<Vec<u8>, NodeError> {
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

/// Options of `submit`.
pub struct SubmitOptions {
    /// Relay WebSocket URLs, tried in turn: the first takes the task; should its connection
    /// drop, the task is resumed at the next that answers.
    pub relay: Vec<String>,
    /// What to run.
    pub job: Job,
    /// Distinct workers.
    pub redundancy: u8,
    /// Task timeout.
    pub timeout: Duration,
    /// Micro-credits to escrow and offer for the task (0: an unpaid task, if the relay runs them).
    pub pay: u64,
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

/// Submits and waits for the verified outcome. A paid task (`pay` > 0) is escrowed first by the
/// endpoint's chain writer (`edgenet_proto::chain`, as in the browser); whether the balance
/// covers it, the relay decides when the task is submitted.
///
/// A connection lost once the task went out does not end it: the task is resumed at the next
/// relay of `options.relay` (and of the cluster's directory) that answers, where a relay that
/// knows the task picks it up (`hub/cluster/records.rs` in edgenet-proto) or says how it ended. Only
/// when no relay answers before the task's backstop does it fail with EN-218.
pub async fn submit(
    key: SecretKey,
    options: &SubmitOptions,
) -> Result<(Outcome, TaskId), NodeError> {
    let payload = options.job.payload()?;
    let spec = TaskSpec {
        id: TaskId::random(&mut edgenet_core::rng::os_rng()),
        kind: options.job.kind(),
        redundancy: options.redundancy,
        max_credits: options.pay,
        priority: 0,
        timeout_ms: u32::try_from(options.timeout.as_millis()).unwrap_or(u32::MAX),
    };
    // This connection only submits: offering no task kinds keeps the relay from offering it work,
    // a canary or the uptime bonus meant for workers.
    let profile = Profile {
        capabilities: edgenet_proto::message::Capabilities {
            kernels: Vec::new(),
            ..local_capabilities()
        },
        max_jobs: 0,
    };
    let mut relays = Relays::new(options.relay.clone());
    let (mut conn, _) = Connection::open(relays.current(), key.clone(), profile.clone()).await?;
    let id = conn.submit(spec, payload).await?;
    let deadline = tokio::time::Instant::now() + options.timeout + BACKSTOP;
    tracing::info!(task = %id, redundancy = options.redundancy, "submitted");
    // The relay fails the task at its timeout; the endpoint's backstop covers a relay that never
    // answers.
    let outcome = loop {
        let event = match conn.next_event().await {
            Ok(event) => event,
            Err(NodeError::ConnectionLost(why)) => {
                let now = conn.now();
                let detached = conn.endpoint().detach(now);
                if detached.is_empty() {
                    return Err(NodeError::ConnectionLost(why));
                }
                tracing::warn!(task = %id, error = %why, "relay lost; resuming the task elsewhere");
                learn_relays(&mut relays).await;
                conn = resume_elsewhere(&mut relays, &key, &profile, detached, deadline).await?;
                continue;
            }
            Err(e) => return Err(e),
        };
        match event {
            Event::Accepted { task } if task == id => tracing::info!(%task, "accepted"),
            Event::Progress {
                task,
                assigned,
                results,
                needed,
            } if task == id => tracing::info!(%task, assigned, results, needed, "progress"),
            Event::Done { task, outcome, .. } if task == id => break outcome,
            Event::Failed { task, error } if task == id => return Err(NodeError::Proto(error)),
            Event::RelayError { code, message } => {
                return Err(NodeError::Proto(edgenet_proto::ProtoError::Remote {
                    code,
                    message,
                }));
            }
            _ => {}
        }
    };
    conn.close().await;
    Ok((outcome, id))
}

/// The endpoint's backstop past a task's timeout, as a duration.
const BACKSTOP: Duration = Duration::from_millis(edgenet_proto::endpoint::RESULT_BACKSTOP_MS);
/// Wait between two rounds of trying every relay.
const RESUME_RETRY: Duration = Duration::from_millis(250);

/// Adds the cluster's relays, as the directory of the first given relay that answers lists them
/// (asked only once a relay is lost, so that a task that never needs them costs nothing).
async fn learn_relays(relays: &mut Relays) {
    for url in relays.all().to_vec() {
        let asked = tokio::time::timeout(Duration::from_secs(2), Relays::fetch(&url)).await;
        if let Ok(Ok(learned)) = asked {
            relays.add(learned);
            return;
        }
    }
}

/// Connects to the next relay that answers (the one just lost last, so a restarted relay is
/// tried too) and resumes `detached` there; gives up with EN-218 at `deadline`.
async fn resume_elsewhere(
    relays: &mut Relays,
    key: &SecretKey,
    profile: &Profile,
    detached: Vec<edgenet_proto::endpoint::Detached>,
    deadline: tokio::time::Instant,
) -> Result<Connection, NodeError> {
    while tokio::time::Instant::now() < deadline {
        relays.rotate();
        let url = relays.current().to_owned();
        match Connection::open(&url, key.clone(), profile.clone()).await {
            Ok((mut conn, _)) => {
                let now = conn.now();
                for d in detached {
                    let task = d.id();
                    conn.endpoint().resume(d, now)?;
                    tracing::info!(%task, relay = %url, "resumed");
                }
                conn.flush().await?;
                return Ok(conn);
            }
            Err(e) => {
                tracing::debug!(relay = %url, error = %e, "relay not reachable");
                tokio::time::sleep(RESUME_RETRY).await;
            }
        }
    }
    Err(NodeError::Proto(edgenet_proto::ProtoError::ConnectionLost))
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
