//! `edgenet-node run`: join a relay as a native worker and execute what it is assigned, reconnecting
//! with exponential backoff whenever the relay goes away.

use std::path::PathBuf;
use std::time::Duration;

use edgenet_core::task::TaskKind;
use edgenet_core::{ErrorCode, SecretKey};
use edgenet_kernels::backend::Executor;
use edgenet_proto::ProtoError;
use edgenet_proto::message::Role;
use edgenet_proto::worker::{Action, Job, Worker};
use tokio::sync::mpsc;

use crate::connection::{Connection, capabilities};
use crate::error::NodeError;
use crate::status::{State, Tracker};

/// Deliberate misbehaviour, for tests of the network's defences. Never use it on a real network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Fault {
    /// Return a wrong result (top scores off by +1; a flipped ciphertext bit).
    WrongResult,
    /// Accept payloads and never answer.
    Stall,
}

/// Options of `run`.
pub struct RunOptions {
    /// Relay WebSocket URL.
    pub relay: String,
    /// Where the status file goes.
    pub status_file: PathBuf,
    /// Longest wait between reconnection attempts.
    pub max_backoff: Duration,
    /// Tasks run at once.
    pub max_jobs: usize,
    /// Test-only misbehaviour.
    pub fault: Option<Fault>,
}

/// How a connection ended.
enum Ended {
    Shutdown,
    Lost(NodeError),
}

/// Runs until Ctrl-C/SIGTERM (Ok) or an error that retrying cannot fix (Err).
pub async fn run(key: SecretKey, options: RunOptions) -> Result<(), NodeError> {
    // Backend choice once at start: a tenth of a second, logged, and advertised to the relay.
    let executor = std::sync::Arc::new(
        tokio::task::spawn_blocking(Executor::detect)
            .await
            .map_err(|e| NodeError::Input(format!("backend detection failed: {e}")))?,
    );
    let choice = executor.choice();
    tracing::info!(single = choice.single.name(), batch = choice.batch.name(), gpu = ?choice.gpu_adapter, "kernel backends chosen");
    let mut status = Tracker::new(
        options.status_file.clone(),
        key.node_id().to_string(),
        options.relay.clone(),
    );
    let mut worker = Worker::new(edgenet_kernels::execute::KINDS.to_vec(), options.max_jobs);
    let initial = Duration::from_millis(100);
    let mut backoff = initial;
    status.set(State::Connecting, None);
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        let attempt = Connection::open(
            &options.relay,
            key.clone(),
            Role::Native,
            capabilities(Some(&executor)),
        );
        let result = tokio::select! {
            () = &mut shutdown => break,
            r = attempt => r,
        };
        match result {
            Ok((conn, peers)) => {
                status.set(State::Connected, None);
                tracing::info!(node_id = %key.node_id(), peers = peers.len(), "joined relay");
                backoff = initial;
                worker.reset();
                match serve(
                    conn,
                    &key,
                    &mut worker,
                    &mut status,
                    options.fault,
                    &executor,
                    &mut shutdown,
                )
                .await
                {
                    Ended::Shutdown => break,
                    Ended::Lost(e) => {
                        status.set(State::Reconnecting, Some(format!("{}: {e}", e.code())))
                    }
                }
            }
            Err(e) if is_permanent(&e) => {
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
        let wait = jittered(backoff);
        tokio::select! {
            () = &mut shutdown => break,
            () = tokio::time::sleep(wait) => {}
        }
        backoff = (backoff * 2).min(options.max_backoff);
    }
    status.set(State::Disabled, None);
    Ok(())
}

/// Errors that another attempt would only repeat: the relay refuses this protocol version.
fn is_permanent(e: &NodeError) -> bool {
    match e {
        NodeError::Proto(ProtoError::Remote { code, .. }) => code == "EN-202",
        NodeError::Proto(ProtoError::BadHandshake(m)) => m.contains("upgrade"),
        _ => false,
    }
}

/// Up to a quarter of random extra wait, so that many nodes do not reconnect in lockstep.
fn jittered(d: Duration) -> Duration {
    let mut b = [0u8; 2];
    rand_core::Rng::fill_bytes(&mut edgenet_core::rng::os_rng(), &mut b);
    let extra = u64::from(u16::from_le_bytes(b)) * (d.as_millis() as u64 / 4 + 1) / 65_536;
    d + Duration::from_millis(extra)
}

async fn serve(
    mut conn: Connection,
    key: &SecretKey,
    worker: &mut Worker,
    status: &mut Tracker,
    fault: Option<Fault>,
    executor: &std::sync::Arc<Executor>,
    shutdown: &mut std::pin::Pin<&mut impl std::future::Future<Output = ()>>,
) -> Ended {
    let (done_tx, mut done_rx) = mpsc::channel::<(Job, Result<Vec<u8>, String>)>(16);
    loop {
        tokio::select! {
            () = shutdown.as_mut() => {
                conn.close().await;
                return Ended::Shutdown;
            }
            Some((job, result)) = done_rx.recv() => {
                match result {
                    Ok(result) => {
                        let msg = match worker.finish(&mut edgenet_core::rng::os_rng(), key, &job, &result) {
                            Ok(m) => m,
                            Err(e) => { tracing::warn!(task = %job.task, error = %e, "cannot seal result"); continue; }
                        };
                        if let Err(e) = conn.send(&msg).await { return Ended::Lost(e); }
                        status.task_completed();
                        tracing::info!(task = %job.task, "result sent");
                    }
                    Err(e) => {
                        // The submitter sent an unusable payload; the assignment times out and the
                        // submitter's other workers decide the task.
                        tracing::warn!(task = %job.task, error = %e, "task failed to run");
                        worker.abandon(&job.task);
                    }
                }
            }
            msg = conn.next() => {
                let msg = match msg { Ok(m) => m, Err(e) => return Ended::Lost(e) };
                match worker.handle(msg, key) {
                    Ok(Action::Send(m)) => if let Err(e) = conn.send(&m).await { return Ended::Lost(e) },
                    Ok(Action::Execute { job, payload }) => {
                        tracing::info!(task = %job.task, kind = job.kind.name(), "payload received");
                        if fault == Some(Fault::Stall) { continue; }
                        let tx = done_tx.clone();
                        let executor = executor.clone();
                        tokio::task::spawn_blocking(move || {
                            let result = execute(&executor, &job, &payload, fault);
                            let _ = tx.blocking_send((job, result));
                        });
                    }
                    Ok(Action::Verdict { task, agreed }) => tracing::info!(%task, agreed, "verdict"),
                    Ok(Action::None) => {}
                    Err(e) => tracing::warn!(code = e.code(), error = %e, "ignored a relay message"),
                }
            }
        }
    }
}

fn execute(
    executor: &Executor,
    job: &Job,
    payload: &[u8],
    fault: Option<Fault>,
) -> Result<Vec<u8>, String> {
    let result = edgenet_kernels::execute::execute_on(executor, job.kind, payload)
        .map_err(|e| format!("{}: {e}", e.code()))?;
    if fault != Some(Fault::WrongResult) {
        return Ok(result);
    }
    Ok(match job.kind {
        TaskKind::VectorSearch => {
            let mut knn =
                edgenet_core::task::KnnResult::decode(&result).map_err(|e| e.to_string())?;
            for hit in knn.hits.iter_mut().filter_map(|q| q.first_mut()) {
                hit.score += 1.0;
            }
            knn.encode()
        }
        // Flips a bit of the last byte (the tag, or the last code): still decodes, but differs.
        TaskKind::Encryption | TaskKind::Compression => {
            let mut bytes = result;
            if let Some(b) = bytes.last_mut() {
                *b ^= 1;
            }
            bytes
        }
    })
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
