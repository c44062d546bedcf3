//! One connection to a relay: a WebSocket carrying proto's [`Endpoint`], the same state machine the
//! browser's coordinator drives. This file moves frames and keeps the endpoint's timer; what a
//! frame means, which task it belongs to and when to give up are the endpoint's.

use std::time::{Duration, Instant};

use edgenet_core::SecretKey;
use edgenet_core::task::TaskId;
use edgenet_proto::endpoint::{Endpoint, Event, HANDSHAKE_TIMEOUT_MS};
use edgenet_proto::message::{Capabilities, Role, TaskSpec};
use edgenet_proto::{Millis, ProtoError};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

use crate::error::NodeError;
use crate::transport::{self, Io};

/// What the endpoint runs as: a worker (task kinds, jobs at once) or a submitter only.
#[derive(Debug, Clone)]
pub struct Profile {
    /// What this node offers (no kernels: a submitter that is offered no work).
    pub capabilities: Capabilities,
    /// Tasks it runs at once.
    pub max_jobs: usize,
}

/// An authenticated connection.
pub struct Connection {
    ws: WebSocketStream<Box<dyn Io>>,
    endpoint: Endpoint,
    clock: Instant,
}

impl Connection {
    /// Connects to `url` and completes the handshake within the endpoint's deadline; returns the
    /// number of peers the relay listed.
    pub async fn open(
        url: &str,
        key: SecretKey,
        profile: Profile,
    ) -> Result<(Self, usize), NodeError> {
        let clock = Instant::now();
        let contributing = !profile.capabilities.kernels.is_empty();
        let endpoint = Endpoint::new(
            key,
            Role::Native,
            profile.capabilities,
            profile.max_jobs,
            contributing,
            0,
        );
        let late = || NodeError::HandshakeTimeout(HANDSHAKE_TIMEOUT_MS / 1000);
        let connect = async {
            let (tls, host, port) = transport::endpoint_of(url)?;
            let io = transport::open(&host, port, tls).await?;
            tokio_tungstenite::client_async(url, io)
                .await
                .map_err(|e| NodeError::Connect {
                    url: url.to_owned(),
                    reason: e.to_string(),
                })
        };
        let (ws, _) = tokio::time::timeout(Duration::from_millis(HANDSHAKE_TIMEOUT_MS), connect)
            .await
            .map_err(|_| late())??;
        let mut conn = Self {
            ws,
            endpoint,
            clock,
        };
        match conn.next_event().await {
            Ok(Event::Connected { peers, .. }) => Ok((conn, peers)),
            Ok(other) => Err(NodeError::Proto(ProtoError::Unexpected(format!(
                "{other:?} instead of the welcome"
            )))),
            Err(NodeError::Proto(ProtoError::HandshakeTimeout)) => Err(late()),
            Err(e) => Err(e),
        }
    }

    /// The endpoint, for what needs no IO (finishing and abandoning jobs, submitting).
    pub fn endpoint(&mut self) -> &mut Endpoint {
        &mut self.endpoint
    }

    /// Milliseconds since this connection opened: the endpoint's clock.
    pub fn now(&self) -> Millis {
        Millis::try_from(self.clock.elapsed().as_millis()).unwrap_or(Millis::MAX)
    }

    /// Submits a task through the endpoint (escrowing first if it is paid) and sends it.
    pub async fn submit(&mut self, spec: TaskSpec, payload: Vec<u8>) -> Result<TaskId, NodeError> {
        let now = self.now();
        let id = self.endpoint.submit(spec, payload, now)?;
        self.flush().await?;
        Ok(id)
    }

    /// Sends what the endpoint has queued (results, replies).
    pub async fn flush(&mut self) -> Result<(), NodeError> {
        while let Some(frame) = self.endpoint.poll_outgoing() {
            self.ws
                .send(Message::Binary(frame.into()))
                .await
                .map_err(|e| NodeError::ConnectionLost(e.to_string()))?;
        }
        Ok(())
    }

    /// The endpoint's next event: sends what is queued, then reads frames and expires deadlines
    /// until there is one. Not for `select!` (a cancelled send would lose a frame): loops that
    /// wait on other things too use [`Connection::flush`] and [`Connection::step`].
    pub async fn next_event(&mut self) -> Result<Event, NodeError> {
        loop {
            if let Some(event) = self.endpoint.poll_event() {
                return Ok(event);
            }
            self.flush().await?;
            self.step().await?;
        }
    }

    /// Waits for one frame (handed to the endpoint) or the endpoint's next deadline (expired).
    /// Cancel-safe: it only reads, so it can race other futures in a `select!`.
    pub async fn step(&mut self) -> Result<(), NodeError> {
        let deadline = self.endpoint.poll_timeout().map(|at| {
            let wait = Duration::from_millis(at.saturating_sub(self.now()));
            tokio::time::Instant::now() + wait
        });
        tokio::select! {
            frame = self.ws.next() => {
                if let Some(bytes) = read(frame)? {
                    self.endpoint.handle_frame(&bytes, &mut edgenet_core::rng::os_rng())?;
                }
            }
            () = sleep_until(deadline) => {
                let now = self.now();
                self.endpoint.handle_timeout(now)?;
            }
        }
        Ok(())
    }

    /// Sends what is still queued (a verdict, a last result), then closes the connection politely.
    pub async fn close(mut self) {
        let _ = self.flush().await;
        let _ = self.ws.close(None).await;
    }
}

/// A frame's bytes, `None` for frames without protocol content, or why the socket is gone.
fn read(
    frame: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
) -> Result<Option<Vec<u8>>, NodeError> {
    match frame {
        Some(Ok(Message::Binary(bytes))) => Ok(Some(bytes.to_vec())),
        Some(Ok(Message::Close(frame))) => Err(NodeError::ConnectionLost(frame.map_or_else(
            || "closed by relay".into(),
            |f| format!("closed by relay: {}", f.reason),
        ))),
        Some(Ok(_)) => Ok(None),
        Some(Err(e)) => Err(NodeError::ConnectionLost(e.to_string())),
        None => Err(NodeError::ConnectionLost("closed".into())),
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// What this machine offers, read from the OS; with an executor, also its GPU and backends.
pub fn local_capabilities() -> Capabilities {
    capabilities(None, false)
}

/// [`local_capabilities`] including what `executor` found (GPU adapter, chosen backends), and the
/// text tasks when the embedding model is loaded (`with_model`).
pub fn capabilities(
    executor: Option<&edgenet_kernels::backend::Executor>,
    with_model: bool,
) -> Capabilities {
    let cores = std::thread::available_parallelism()
        .map_or(1, |n| u16::try_from(n.get()).unwrap_or(u16::MAX));
    let mut backends = vec![edgenet_kernels::simd::backend().to_owned()];
    let gpu = executor.and_then(|e| e.choice().gpu_adapter.clone());
    if gpu.is_some() {
        backends.push("gpu".into());
    }
    Capabilities {
        cores,
        memory_mib: total_memory_mib(),
        gpu,
        kernels: edgenet_kernels::execute::KINDS
            .iter()
            .copied()
            .chain(
                edgenet_core::task::TaskKind::ALL
                    .into_iter()
                    .filter(|k| with_model && k.needs_model()),
            )
            .collect(),
        backends,
    }
}

fn total_memory_mib() -> u32 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| u32::try_from(kb / 1024).unwrap_or(u32::MAX))
}
