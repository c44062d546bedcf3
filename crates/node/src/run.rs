//! `edgenet-node run`: join a relay as a native worker and execute what it is assigned, reconnecting
//! with proto's backoff whenever the relay goes away. The protocol is proto's `Endpoint` (through
//! [`Connection`]); this file runs the jobs it hands out and keeps the status file.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use edgenet_core::kinds::{Executor as KindExecutor, KindError, Lie};
use edgenet_core::task::{TaskId, TaskKind};
use edgenet_core::{ErrorCode, SecretKey};
use edgenet_embed::task::TextExecutor;
use edgenet_kernels::backend::Executor;
use edgenet_proto::endpoint::Event;
use edgenet_proto::reconnect::Backoff;
use tokio::sync::mpsc;

use crate::connection::{Connection, Profile, capabilities};
use crate::error::NodeError;
use crate::proof::{Proof, ProofSolver};
use crate::shards::ShardStore;
use crate::status::{State, Tracker};
use crate::text::{TextBackend, TextEncoder};
use edgenet_proto::message::{ClientMsg, CollectionDown};
use edgenet_sandbox::executor::WasmExecutor;
use edgenet_sandbox::wasmtime_runner::Wasmtime;

/// Longest one custom_wasm run may take here before it is given up (EN-614): the most fuel a
/// task allows runs in well under this on any machine fit to offer the kind.
const WASM_WALL_CLOCK: Duration = Duration::from_secs(120);

/// Deliberate misbehaviour, for tests of the network's defences. Never use it on a real network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Fault {
    /// Return a wrong result (top scores off by +1; a flipped ciphertext bit; embeddings with
    /// noise at cosine ≈ 0.98; semantic matches with their scores lowered by 0.05).
    WrongResult,
    /// Text tasks: answer with a cheaper model's vectors (the mean of the texts' word embeddings,
    /// no transformer), the shortcut a lazy worker might take.
    OtherModel,
    /// Accept payloads and never answer.
    Stall,
    /// Shard searches: drop the last hit of each query (a holder that hides a vector).
    DropHit,
}

/// Options of `run`.
pub struct RunOptions {
    /// Relay WebSocket URLs, tried in turn (more are learned from a cluster's directory).
    pub relays: Vec<String>,
    /// Where the status file goes.
    pub status_file: PathBuf,
    /// Longest wait between reconnection attempts.
    pub max_backoff: Duration,
    /// Tasks run at once.
    pub max_jobs: usize,
    /// Test-only misbehaviour.
    pub fault: Option<Fault>,
    /// The embedding model's directory; `None`: text tasks are off.
    pub model_dir: Option<PathBuf>,
    /// Whether a model that fails to load is an error (an explicit `--model-dir`) or only turns
    /// the text tasks off (the default directory, which may simply not be there).
    pub model_required: bool,
    /// Where text tasks run.
    pub text_backend: TextBackend,
    /// Where collection shards are kept (`shards`).
    pub data_dir: PathBuf,
    /// Bytes offered for shards; 0 holds none.
    pub storage: u64,
    /// Whether the node runs submitters' own modules (`custom_wasm`, in its sandbox).
    pub custom_wasm: bool,
}

/// How a connection ended.
enum Ended {
    Shutdown,
    Lost(NodeError),
}

/// Runs until Ctrl-C/SIGTERM (Ok) or an error that retrying cannot fix (Err).
pub async fn run(key: SecretKey, options: RunOptions) -> Result<(), NodeError> {
    // Backend choice once at start: a tenth of a second, logged, and advertised to the relay.
    let executor = Arc::new(
        tokio::task::spawn_blocking(Executor::detect)
            .await
            .map_err(|e| NodeError::Input(format!("backend detection failed: {e}")))?,
    );
    let choice = executor.choice();
    tracing::info!(single = choice.single.name(), batch = choice.batch.name(), gpu = ?choice.gpu_adapter, "kernel backends chosen");
    // Jobs run side by side; a job's matmuls share what the others leave of the cores.
    let threads = (cores() / options.max_jobs.max(1)).max(1);
    let model = crate::text::load(
        options.model_dir.clone(),
        options.model_required,
        options.text_backend,
        threads,
    )
    .await?;
    let shards = if options.storage > 0 {
        let (dir, bytes) = (options.data_dir.clone(), options.storage);
        let store = tokio::task::spawn_blocking(move || ShardStore::open(&dir, bytes))
            .await
            .map_err(|e| NodeError::Input(format!("shard store: {e}")))?
            .map_err(NodeError::Input)?;
        tracing::info!(dir = %options.data_dir.display(), offered = options.storage, "shard storage offered");
        Some(Arc::new(store))
    } else {
        None
    };
    let worker = Arc::new(Worker {
        executor: executor.clone(),
        model,
        threads,
        fault: options.fault,
        shards,
        sandbox: if options.custom_wasm {
            Some(WasmExecutor::new(
                Wasmtime::new(WASM_WALL_CLOCK).map_err(NodeError::Input)?,
            ))
        } else {
            None
        },
    });
    let mut relays = crate::relays::Relays::new(options.relays.clone());
    let mut status = Tracker::new(
        options.status_file.clone(),
        key.node_id().to_string(),
        relays.current().to_owned(),
    );
    let cap_ms = u64::try_from(options.max_backoff.as_millis()).unwrap_or(u64::MAX);
    let mut backoff = Backoff::new(cap_ms);
    status.set(State::Connecting, None);
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        let mut caps = capabilities(Some(&executor), worker.model.is_some());
        if worker.shards.is_some() {
            caps.kernels.extend(ShardStore::KINDS);
        }
        if let Some(sandbox) = &worker.sandbox {
            caps.kernels.extend(sandbox.kinds());
        }
        let profile = Profile {
            capabilities: caps,
            max_jobs: options.max_jobs,
        };
        let relay = relays.current().to_owned();
        status.set_relay(&relay);
        let attempt = Connection::open(&relay, key.clone(), profile);
        let result = tokio::select! {
            () = &mut shutdown => break,
            r = attempt => r,
        };
        // Whatever happens to this connection, the next attempt goes to the next relay.
        relays.rotate();
        match result {
            Ok((conn, peers)) => {
                status.set(State::Connected, None);
                tracing::info!(node_id = %key.node_id(), peers, %relay, "joined relay");
                backoff.reset();
                // The cluster's other relays, for when this one goes away.
                let learn = tokio::spawn(async move { crate::relays::Relays::fetch(&relay).await });
                let ended = serve(conn, &mut status, &worker, &mut shutdown).await;
                if learn.is_finished()
                    && let Ok(Ok(learned)) = learn.await
                {
                    relays.add(learned);
                }
                match ended {
                    Ended::Shutdown => break,
                    Ended::Lost(e) => {
                        status.set(State::Reconnecting, Some(format!("{}: {e}", e.code())))
                    }
                }
            }
            Err(e) if !e.is_retryable() => {
                status.set(State::Error, Some(format!("{}: {e}", e.code())));
                return Err(e);
            }
            Err(e) => {
                let state = if status.state() == State::Connecting {
                    State::Connecting
                } else {
                    State::Reconnecting
                };
                status.set(state, Some(format!("{}: {e}", e.code())));
            }
        }
        let mut random = [0u8; 2];
        rand_core::Rng::fill_bytes(&mut edgenet_core::rng::os_rng(), &mut random);
        let wait = Duration::from_millis(backoff.next_delay(u16::from_le_bytes(random)));
        tokio::select! {
            () = &mut shutdown => break,
            () = tokio::time::sleep(wait) => {}
        }
    }
    status.set(State::Disabled, None);
    Ok(())
}

/// One connection's life: jobs out to blocking threads, results back through the endpoint.
async fn serve(
    mut conn: Connection,
    status: &mut Tracker,
    worker: &Arc<Worker>,
    shutdown: &mut std::pin::Pin<&mut impl std::future::Future<Output = ()>>,
) -> Ended {
    // A finished job, with the shard's new state when it changed one (sent before the result, so
    // the relay knows the state, and shows it, before the submitter hears the task is done).
    let (done_tx, mut done_rx) =
        mpsc::channel::<(TaskId, Result<Vec<u8>, String>, Option<ClientMsg>)>(16);
    // Collection messages made on blocking threads (shard reports, copies).
    let (coll_tx, mut coll_rx) = mpsc::channel::<ClientMsg>(16);
    if let Some(store) = &worker.shards
        && let Err(e) = conn.endpoint().send(&store.storage_message())
    {
        return Ended::Lost(e.into());
    }
    // Proofs of work: one search at a time, stopped when this connection ends.
    let (work_tx, mut work_rx) = mpsc::channel::<Proof>(4);
    let mut proofs = ProofSolver::new(work_tx);
    loop {
        while let Some(event) = conn.endpoint().poll_event() {
            match event {
                Event::Execute {
                    task,
                    kind,
                    payload,
                } => {
                    tracing::info!(%task, kind = kind.name(), "payload received");
                    if worker.fault == Some(Fault::Stall) {
                        continue;
                    }
                    let tx = done_tx.clone();
                    let worker = worker.clone();
                    tokio::task::spawn_blocking(move || {
                        let (result, report) = match kind.needs_shard() {
                            true => worker.execute_on_shard(kind, &payload),
                            false => (worker.execute(kind, &payload), None),
                        };
                        let _ = tx.blocking_send((task, result, report));
                    });
                }
                // A holder's message. A hold opens an empty shard (or one already open): done
                // here, in order, so that the shard exists before the first task on it arrives;
                // copies run on blocking threads.
                Event::Collection(bytes) => {
                    let Some(store) = worker.shards.clone() else {
                        continue;
                    };
                    let msg = match CollectionDown::decode(&bytes) {
                        Ok(m) => m,
                        Err(e) => {
                            tracing::warn!(error = %e, "holder message");
                            continue;
                        }
                    };
                    let key = conn.endpoint().key().clone();
                    if matches!(msg, CollectionDown::Hold { .. }) {
                        match crate::shards::answer(&store, &key, msg) {
                            Ok(Some(reply)) => {
                                if let Err(e) = conn.endpoint().send(&reply) {
                                    return Ended::Lost(e.into());
                                }
                            }
                            Ok(None) => {}
                            Err(e) => tracing::warn!(error = %e, "cannot hold shard"),
                        }
                        continue;
                    }
                    let coll = coll_tx.clone();
                    tokio::task::spawn_blocking(move || {
                        match crate::shards::answer(&store, &key, msg) {
                            Ok(Some(reply)) => {
                                let _ = coll.blocking_send(reply);
                            }
                            Ok(None) => {}
                            Err(e) => tracing::warn!(error = %e, "collection message"),
                        }
                    });
                }
                Event::WorkWanted { challenge, bits } => {
                    tracing::debug!(bits, "proof of work asked");
                    proofs.solve(challenge, bits);
                }
                Event::Verdict { task, agreed } => tracing::info!(%task, agreed, "verdict"),
                Event::RelayError { code, message } => {
                    tracing::warn!(%code, %message, "relay error")
                }
                _ => {}
            }
        }
        // Outside the select: a send is never cancelled halfway.
        if let Err(e) = conn.flush().await {
            return Ended::Lost(e);
        }
        tokio::select! {
            () = shutdown.as_mut() => {
                conn.close().await;
                return Ended::Shutdown;
            }
            Some(msg) = coll_rx.recv() => {
                if let Err(e) = conn.endpoint().send(&msg) {
                    return Ended::Lost(e.into());
                }
            }
            Some((challenge, nonce)) = work_rx.recv() => {
                if let Err(e) = conn.endpoint().prove(challenge, nonce) {
                    return Ended::Lost(e.into());
                }
            }
            Some((task, result, report)) = done_rx.recv() => match result {
                Ok(result) => {
                    if let Some(report) = report
                        && let Err(e) = conn.endpoint().send(&report)
                    {
                        return Ended::Lost(e.into());
                    }
                    let sealed = conn
                        .endpoint()
                        .finish(&task, &result, &mut edgenet_core::rng::os_rng());
                    match sealed {
                        Ok(()) => {
                            status.task_completed();
                            tracing::info!(%task, "result sent");
                        }
                        Err(e) => tracing::warn!(%task, error = %e, "cannot seal result"),
                    }
                }
                Err(e) => {
                    // The submitter sent an unusable payload; the assignment times out and the
                    // submitter's other workers decide the task.
                    tracing::warn!(%task, error = %e, "task failed to run");
                    conn.endpoint().abandon(&task);
                }
            },
            stepped = conn.step() => {
                if let Err(e) = stepped {
                    return Ended::Lost(e);
                }
            }
        }
    }
}

/// What runs a node's jobs: the kernels, the embedding model when it is loaded, and the
/// test-only fault.
struct Worker {
    executor: Arc<Executor>,
    model: Option<TextEncoder>,
    threads: usize,
    fault: Option<Fault>,
    /// The shards held, when the node offers storage.
    shards: Option<Arc<ShardStore>>,
    /// The sandbox for submitters' own modules, unless the node was told not to run them.
    sandbox: Option<WasmExecutor<Wasmtime>>,
}

impl Worker {
    /// Runs a collection task on its shard: its result, and the shard's new state for the relay
    /// when it changed.
    fn execute_on_shard(
        &self,
        kind: TaskKind,
        payload: &[u8],
    ) -> (Result<Vec<u8>, String>, Option<ClientMsg>) {
        let Some(store) = self.shards.as_ref() else {
            return (
                Err(format!("EN-193: {} needs shard storage", kind.name())),
                None,
            );
        };
        match store.execute(kind, payload) {
            Ok((result, state)) => (self.shard_answer(kind, result), state),
            Err(e) => (Err(e), None),
        }
    }

    /// A shard task's answer, as the test-only fault tells. Inserts are answered truthfully:
    /// the shard changed, and its state goes to the relay.
    fn shard_answer(&self, kind: TaskKind, result: Vec<u8>) -> Result<Vec<u8>, String> {
        match self.fault {
            Some(Fault::WrongResult) if ShardStore::only_reads(kind) => {
                lie(kind, &result, Lie::Wrong)
            }
            Some(Fault::DropHit) if ShardStore::only_reads(kind) => {
                lie(kind, &result, Lie::DropHit)
            }
            _ => Ok(result),
        }
    }

    fn execute(&self, kind: TaskKind, payload: &[u8]) -> Result<Vec<u8>, String> {
        let text = self.model.as_ref().map(|model| TextExecutor {
            model,
            threads: self.threads,
        });
        if self.fault == Some(Fault::OtherModel)
            && let Some(model) = &self.model
            && text.as_ref().is_some_and(|t| t.kinds().contains(&kind))
        {
            return edgenet_embed::task::execute_static(model.cpu(), kind, payload)
                .map_err(|e| format!("{}: {e}", e.code()));
        }
        let executors: [Option<&dyn KindExecutor>; 3] = [
            text.as_ref().map(|t| t as &dyn KindExecutor),
            self.sandbox.as_ref().map(|s| s as &dyn KindExecutor),
            Some(&*self.executor as &dyn KindExecutor),
        ];
        let executor = executors
            .into_iter()
            .flatten()
            .find(|e| e.kinds().contains(&kind))
            .ok_or_else(|| KindError::not_run_here(kind).to_string())?;
        let result = executor
            .run(kind, payload)
            .map_err(|e| format!("{}: {e}", e.code))?;
        if self.fault != Some(Fault::WrongResult) {
            return Ok(result);
        }
        lie(kind, &result, Lie::Wrong)
    }
}

/// A result that still decodes but is wrong: the kind's own fault injection.
fn lie(kind: TaskKind, result: &[u8], how: Lie) -> Result<Vec<u8>, String> {
    let info = kind.known().map_err(|e| e.to_string())?;
    info.payloads().lie(result, how).map_err(|e| e.to_string())
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { () = ctrl_c => {}, () = terminate => {} }
}
