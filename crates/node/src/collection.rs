//! `edgenet-node collection`: create a collection, fill it, search it, and show where it lives.
//!
//! A [`Client`] is one submitter connection. Inserts are split by shard ([`shard_of`]) into
//! batches that each fit one sealed payload; each shard's batches go one after another (a
//! shard's replicas must apply them in the same order), the shards side by side. A search
//! sends one `shard_search` per shard, to every live replica of it, and merges the verified
//! answers. A task the relay fails for a passing reason (a holder left mid-task, a shard
//! re-replicating, a deadline missed) is submitted again, up to [`RETRIES`] times; a batch sent
//! twice is applied once (holders know it by its digest).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use edgenet_core::collection::{
    self as col, CollectionId, CollectionSpec, IdHit, ShardAnswer, ShardSearch, ShardState,
    SignedCollection,
};
use edgenet_core::task::{TaskId, TaskKind};
use edgenet_core::{ErrorCode, SecretKey};
use edgenet_proto::ProtoError;
use edgenet_proto::endpoint::Event;
use edgenet_proto::message::{ClientMsg, CollectionDown, CollectionUp, ShardTarget, TaskSpec};
use serde::{Deserialize, Serialize};

use crate::connection::{Connection, Profile, local_capabilities};
use crate::error::NodeError;

/// Times a task failed for a passing reason is submitted again.
pub const RETRIES: u32 = 8;
/// Wait before submitting again.
const RETRY_WAIT: Duration = Duration::from_millis(300);
/// Relay codes worth a retry: a holder left (EN-233), a shard re-replicating (EN-229) or with no
/// live replica yet (EN-232), a task that expired (EN-212) or found no majority (EN-217, a
/// replica that joined mid-copy), a redundancy that no longer matched (EN-211).
const PASSING: &[&str] = &["EN-233", "EN-229", "EN-232", "EN-212", "EN-217", "EN-211"];

/// What a client needs to know of a collection, from the relay's `GET /api/collections/{id}`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Info {
    /// Its id.
    pub id: String,
    /// Its owner.
    pub owner: String,
    /// Its name.
    pub name: String,
    /// Vector dimension.
    pub dim: u32,
    /// Its metric's name.
    pub metric: String,
    /// Replicas per shard.
    pub replicas: u8,
    /// Vectors held.
    pub vectors: u64,
    /// The shards.
    pub shards: Vec<serde_json::Value>,
}

impl Info {
    fn collection(&self) -> Result<CollectionId, NodeError> {
        self.id
            .parse()
            .map_err(|e: col::CollectionError| NodeError::Input(e.to_string()))
    }
}

/// The relay's view of a collection (EN-230 if it knows none by that id).
pub async fn info(relay: &str, id: &CollectionId) -> Result<Info, NodeError> {
    match crate::http::get_json(relay, &format!("/api/collections/{id}")).await {
        Err(NodeError::BadAnswer(text)) if text.starts_with("HTTP 404") => Err(NodeError::Proto(
            edgenet_proto::error::CollectionRefusal::Unknown(id.to_string()).into(),
        )),
        other => other,
    }
}

/// How an insert went.
#[derive(Debug, Clone, Serialize)]
pub struct InsertReport {
    /// The collection.
    pub collection: String,
    /// Vectors inserted.
    pub inserted: usize,
    /// Batches sent (each to every live replica of its shard).
    pub batches: usize,
    /// Tasks submitted again after a passing failure.
    pub retries: u32,
    /// Each shard's state after the last batch, as its replicas agreed.
    pub shards: BTreeMap<u16, ShardSummary>,
    /// Seconds it took.
    pub seconds: f64,
}

/// A shard's state in a report.
#[derive(Debug, Clone, Serialize)]
pub struct ShardSummary {
    /// Vectors in it.
    pub vectors: u64,
    /// Batches applied.
    pub batches: u64,
    /// The holders that agreed.
    pub agreeing: Vec<String>,
    /// Holders outvoted.
    pub outvoted: Vec<String>,
}

/// How a search went.
#[derive(Debug, Clone, Serialize)]
pub struct SearchReport {
    /// The collection.
    pub collection: String,
    /// Per query, its `k` best hits over all shards: `(id, score)`.
    pub hits: Vec<Vec<(u64, f32)>>,
    /// Each shard's verified answer: its state, who agreed, who was outvoted.
    pub shards: BTreeMap<u16, ShardSummary>,
    /// Tasks submitted again after a passing failure.
    pub retries: u32,
    /// Milliseconds from the first submission to the last verified answer.
    pub ms: f64,
}

/// One submitter connection for collections.
pub struct Client {
    conn: Connection,
    key: SecretKey,
    /// The relay's URL, for its HTTP API.
    relay: String,
}

/// One shard task in flight.
struct Flight {
    shard: u16,
    kind: TaskKind,
    payload: Vec<u8>,
    vectors: u32,
    max_credits: u64,
    attempts: u32,
}

impl Client {
    /// Connects as `key` (which offers no work: it only submits).
    pub async fn connect(relay: &str, key: SecretKey) -> Result<Self, NodeError> {
        let profile = Profile {
            capabilities: edgenet_proto::message::Capabilities {
                kernels: Vec::new(),
                ..local_capabilities()
            },
            max_jobs: 0,
        };
        let (conn, _) = Connection::open(relay, key.clone(), profile).await?;
        Ok(Self {
            conn,
            key,
            relay: relay.to_owned(),
        })
    }

    /// Creates the collection `spec` (owned by this client's key); creating one that exists
    /// with the same spec is a no-op. `pay`: escrow its deposit first (`CollectionSpec::deposit`),
    /// which a relay that prices collections asks for.
    pub async fn create(
        &mut self,
        spec: &CollectionSpec,
        pay: bool,
    ) -> Result<CollectionId, NodeError> {
        let signed = SignedCollection::sign(&self.key, spec)
            .map_err(|e| NodeError::Input(format!("{}: {e}", e.code())))?;
        let create = CollectionUp::Create(signed).to_msg();
        let ClientMsg::Collection(bytes) = &create else {
            return Err(NodeError::BadAnswer(
                "a creation is a collection message".into(),
            ));
        };
        let id = spec.id();
        let deposit = id.deposit_task();
        if pay {
            // The relay sees the creation once it holds the deposit.
            self.conn
                .endpoint()
                .escrow_then(deposit, spec.deposit(), bytes.clone())?;
        } else {
            self.conn.endpoint().send(&create)?;
        }
        self.conn.flush().await?;
        loop {
            match self.conn.next_event().await? {
                // The deposit refused: for want of credits, that is the answer; otherwise (one
                // already open for this collection: a create tried again) the relay judges the
                // creation itself.
                Event::Failed { task, error } if task == deposit => match error.reported_code() {
                    "EN-180" | "EN-220" => return Err(NodeError::Proto(error)),
                    _ => {
                        self.conn.endpoint().send(&create)?;
                        self.conn.flush().await?;
                    }
                },
                Event::Collection(bytes) => {
                    if let Ok(CollectionDown::Created {
                        collection,
                        code,
                        message,
                    }) = CollectionDown::decode(&bytes)
                    {
                        return match code {
                            None if collection == id => Ok(id),
                            None => Err(NodeError::BadAnswer("another collection created".into())),
                            Some(code) => {
                                Err(NodeError::Proto(ProtoError::Remote { code, message }))
                            }
                        };
                    }
                }
                Event::RelayError { code, message } => {
                    return Err(NodeError::Proto(ProtoError::Remote { code, message }));
                }
                _ => {}
            }
        }
    }

    /// Inserts `ids` with their `vectors` (row-major, the collection's dimension). Checked here
    /// first (dimension, finite values, an id twice), so that a batch is refused by its holders
    /// only for what only they know (an id already stored: EN-405). `pay`: escrow the brief's
    /// price for each batch.
    pub async fn insert(
        &mut self,
        info: &Info,
        ids: &[u64],
        vectors: &[f32],
        pay: bool,
    ) -> Result<InsertReport, NodeError> {
        let started = Instant::now();
        let collection = info.collection()?;
        let shards = u16::try_from(info.shards.len()).unwrap_or(u16::MAX);
        let planned = col::plan_inserts(collection, shards, info.dim as usize, ids, vectors)
            .map_err(refused)?;
        let batches = planned.len();
        // Each batch is signed to follow the one before it in its shard, the first from the
        // shard's state now (`SignedBatch`'s head).
        let mut states = shard_states(&self::info(&self.relay, &collection).await?)?;
        let signed = col::sign_batches(&self.key, &planned, &mut states).map_err(refused)?;
        let mut queues: BTreeMap<u16, VecDeque<Flight>> = BTreeMap::new();
        for (insert, signed) in planned.into_iter().zip(signed) {
            let n = insert.ids.len() as u64;
            queues.entry(insert.shard).or_default().push_back(Flight {
                shard: insert.shard,
                kind: TaskKind::VECTOR_INSERT,
                payload: signed.encode(),
                vectors: n as u32,
                max_credits: if pay {
                    n * col::INSERT_PRICE_PER_VECTOR * u64::from(info.replicas)
                } else {
                    0
                },
                attempts: 0,
            });
        }
        let mut report = InsertReport {
            collection: collection.to_string(),
            inserted: 0,
            batches,
            retries: 0,
            shards: BTreeMap::new(),
            seconds: 0.0,
        };
        let mut flying: HashMap<TaskId, Flight> = HashMap::new();
        for queue in queues.values_mut() {
            if let Some(f) = queue.pop_front() {
                let id = self.send(collection, &f).await?;
                flying.insert(id, f);
            }
        }
        while !flying.is_empty() {
            let (task, outcome) = self.next_outcome(&flying).await?;
            let Some(f) = flying.remove(&task) else {
                continue;
            };
            match outcome {
                Ok((answer, agreeing, outvoted)) => {
                    not_refused(&answer)?;
                    report.inserted += f.vectors as usize;
                    report
                        .shards
                        .insert(f.shard, summary(answer.state, &agreeing, &outvoted));
                    if let Some(next) = queues.get_mut(&f.shard).and_then(VecDeque::pop_front) {
                        let id = self.send(collection, &next).await?;
                        flying.insert(id, next);
                    }
                }
                Err(e) if passing(&e) && f.attempts < RETRIES => {
                    tracing::info!(shard = f.shard, error = %e, "insert batch submitted again");
                    report.retries += 1;
                    self.resend(collection, f, &mut flying).await?;
                }
                Err(e) => return Err(e),
            }
        }
        report.seconds = started.elapsed().as_secs_f64();
        Ok(report)
    }

    /// Searches every shard for the `k` nearest of each query, and merges.
    pub async fn search(
        &mut self,
        info: &Info,
        queries: &[f32],
        k: u32,
        ef: u16,
        pay: bool,
    ) -> Result<SearchReport, NodeError> {
        let started = Instant::now();
        let collection = info.collection()?;
        let dim = info.dim as usize;
        if queries.is_empty() || !queries.len().is_multiple_of(dim) {
            return Err(NodeError::Proto(ProtoError::Remote {
                code: "EN-404".into(),
                message: format!(
                    "{} query values are not whole vectors of dimension {dim}",
                    queries.len()
                ),
            }));
        }
        if queries.iter().any(|x| !x.is_finite()) {
            return Err(NodeError::Input(
                "EN-401: a query holds NaN or infinity".into(),
            ));
        }
        let nq = (queries.len() / dim) as u64;
        let mut flying = HashMap::new();
        for shard in 0..u16::try_from(info.shards.len()).unwrap_or(u16::MAX) {
            let search = ShardSearch {
                collection,
                shard,
                k,
                ef,
                queries: queries.to_vec(),
            };
            // Refused here with the holder's reason rather than by every holder.
            search
                .check_size(dim)
                .map_err(|e| NodeError::Input(format!("{}: {e}", e.code())))?;
            let f = Flight {
                shard,
                kind: TaskKind::SHARD_SEARCH,
                payload: search
                    .encode()
                    .map_err(|e| NodeError::Input(format!("{}: {e}", e.code())))?,
                // What the relay prices the search by.
                vectors: u32::try_from(nq).unwrap_or(u32::MAX),
                max_credits: if pay {
                    nq * col::SEARCH_PRICE_PER_QUERY * u64::from(info.replicas)
                } else {
                    0
                },
                attempts: 0,
            };
            let id = self.send(collection, &f).await?;
            flying.insert(id, f);
        }
        let mut answers: BTreeMap<u16, ShardAnswer> = BTreeMap::new();
        let mut report = SearchReport {
            collection: collection.to_string(),
            hits: Vec::new(),
            shards: BTreeMap::new(),
            retries: 0,
            ms: 0.0,
        };
        while !flying.is_empty() {
            let (task, outcome) = self.next_outcome(&flying).await?;
            let Some(f) = flying.remove(&task) else {
                continue;
            };
            match outcome {
                Ok((answer, agreeing, outvoted)) => {
                    not_refused(&answer)?;
                    report
                        .shards
                        .insert(f.shard, summary(answer.state, &agreeing, &outvoted));
                    answers.insert(f.shard, answer);
                }
                Err(e) if passing(&e) && f.attempts < RETRIES => {
                    tracing::info!(shard = f.shard, error = %e, "shard search submitted again");
                    report.retries += 1;
                    self.resend(collection, f, &mut flying).await?;
                }
                Err(e) => return Err(e),
            }
        }
        report.hits = (0..nq as usize)
            .map(|q| {
                let per_shard = answers
                    .values()
                    .filter_map(|a| a.hits.get(q).map(Vec::as_slice));
                col::merge_top_k(per_shard, k as usize)
                    .into_iter()
                    .map(|h: IdHit| (h.id, h.score))
                    .collect()
            })
            .collect();
        report.ms = started.elapsed().as_secs_f64() * 1e3;
        Ok(report)
    }

    /// Submits a task that failed for a passing reason again, after a moment.
    async fn resend(
        &mut self,
        collection: CollectionId,
        mut f: Flight,
        flying: &mut HashMap<TaskId, Flight>,
    ) -> Result<(), NodeError> {
        f.attempts += 1;
        tokio::time::sleep(RETRY_WAIT).await;
        let id = self.send(collection, &f).await?;
        flying.insert(id, f);
        Ok(())
    }

    async fn send(&mut self, collection: CollectionId, f: &Flight) -> Result<TaskId, NodeError> {
        let spec = TaskSpec {
            id: TaskId::random(&mut edgenet_core::rng::os_rng()),
            kind: f.kind,
            redundancy: 0,
            max_credits: f.max_credits,
            priority: 0,
            timeout_ms: 60_000,
        };
        let target = ShardTarget {
            collection,
            shard: f.shard,
            vectors: f.vectors,
        };
        let now = self.conn.now();
        let id = self
            .conn
            .endpoint()
            .submit_shard(spec, target, f.payload.clone(), now)?;
        self.conn.flush().await?;
        Ok(id)
    }

    /// The next task of `flying` to finish: its verified answer with who agreed and who was
    /// outvoted, or why it failed.
    #[allow(clippy::type_complexity)]
    async fn next_outcome(
        &mut self,
        flying: &HashMap<TaskId, Flight>,
    ) -> Result<
        (
            TaskId,
            Result<(ShardAnswer, Vec<String>, Vec<String>), NodeError>,
        ),
        NodeError,
    > {
        loop {
            match self.conn.next_event().await? {
                Event::Done { task, outcome, .. } if flying.contains_key(&task) => {
                    let answer = ShardAnswer::decode(&outcome.result)
                        .map_err(|e| NodeError::BadAnswer(e.to_string()));
                    let names =
                        |v: &[edgenet_core::NodeId]| v.iter().map(ToString::to_string).collect();
                    return Ok((
                        task,
                        answer.map(|a| (a, names(&outcome.agreeing), names(&outcome.outvoted))),
                    ));
                }
                Event::Failed { task, error } if flying.contains_key(&task) => {
                    return Ok((task, Err(NodeError::Proto(error))));
                }
                Event::RelayError { code, message } => {
                    tracing::warn!(%code, %message, "relay error");
                }
                _ => {}
            }
        }
    }

    /// Closes the connection politely.
    pub async fn close(self) {
        self.conn.close().await;
    }
}

/// Each shard's state as a collection view shows it.
fn shard_states(info: &Info) -> Result<Vec<ShardState>, NodeError> {
    info.shards
        .iter()
        .map(|s| {
            let n = |k: &str| s[k].as_u64();
            n("vectors")
                .zip(n("batches"))
                .and_then(|(v, b)| ShardState::from_view(v, b, s["digest"].as_str()?))
                .ok_or_else(|| NodeError::BadAnswer(format!("a shard's state in {s}")))
        })
        .collect()
}

fn summary(state: ShardState, agreeing: &[String], outvoted: &[String]) -> ShardSummary {
    ShardSummary {
        vectors: state.vectors,
        batches: state.batches,
        agreeing: agreeing.to_vec(),
        outvoted: outvoted.to_vec(),
    }
}

fn passing(e: &NodeError) -> bool {
    match e {
        NodeError::Proto(p) => PASSING.contains(&p.reported_code()),
        _ => false,
    }
}

/// A verified answer that is a refusal (the same from every replica), as its error.
fn not_refused(answer: &col::ShardAnswer) -> Result<(), NodeError> {
    match &answer.refused {
        Some((code, message)) => Err(NodeError::Proto(ProtoError::Remote {
            code: code.clone(),
            message: message.clone(),
        })),
        None => Ok(()),
    }
}

/// A collection rule broken before anything is sent, as the error a holder would give.
fn refused(e: col::CollectionError) -> NodeError {
    NodeError::Proto(ProtoError::Remote {
        code: e.code().into(),
        message: e.to_string(),
    })
}
