//! One authenticated connection to a relay: a WebSocket carrying a [`ClientSession`].

use std::time::Duration;

use edgenet_core::SecretKey;
use edgenet_proto::client::{ClientSession, ClientState};
use edgenet_proto::message::{Capabilities, ClientMsg, PeerInfo, RelayMsg, Role};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::error::NodeError;

const HANDSHAKE_TIMEOUT_S: u64 = 10;

/// An authenticated connection.
pub struct Connection {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    session: ClientSession,
}

impl Connection {
    /// Connects to `url` and completes the handshake; returns the peers the relay listed.
    pub async fn open(
        url: &str,
        key: SecretKey,
        role: Role,
        capabilities: Capabilities,
    ) -> Result<(Self, Vec<PeerInfo>), NodeError> {
        // Nagle off: protocol frames are small and latency-bound.
        let (ws, _) = tokio_tungstenite::connect_async_with_config(url, None, true)
            .await
            .map_err(|e| NodeError::Connect {
                url: url.to_owned(),
                reason: e.to_string(),
            })?;
        let mut conn = Self {
            ws,
            session: ClientSession::new(key, role, capabilities, None),
        };
        let handshake = async {
            while conn.session.state() != ClientState::Ready {
                conn.read_frame().await?;
                conn.flush().await?;
            }
            match conn.session.poll_event() {
                Some(RelayMsg::Welcome { peers }) => Ok(peers),
                other => Err(NodeError::Proto(edgenet_proto::ProtoError::Unexpected(
                    format!("{other:?} instead of Welcome"),
                ))),
            }
        };
        let peers = tokio::time::timeout(Duration::from_secs(HANDSHAKE_TIMEOUT_S), handshake)
            .await
            .map_err(|_| NodeError::HandshakeTimeout(HANDSHAKE_TIMEOUT_S))??;
        Ok((conn, peers))
    }

    /// The relay's identity (known once the handshake is done).
    pub fn relay(&self) -> Option<edgenet_core::NodeId> {
        self.session.relay()
    }

    /// Sends a message.
    pub async fn send(&mut self, msg: &ClientMsg) -> Result<(), NodeError> {
        self.session.send(msg)?;
        self.flush().await
    }

    /// The next message from the relay.
    pub async fn next(&mut self) -> Result<RelayMsg, NodeError> {
        loop {
            if let Some(msg) = self.session.poll_event() {
                return Ok(msg);
            }
            self.read_frame().await?;
        }
    }

    /// Closes the connection politely.
    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }

    async fn read_frame(&mut self) -> Result<(), NodeError> {
        loop {
            match self.ws.next().await {
                Some(Ok(Message::Binary(bytes))) => {
                    return Ok(self.session.handle_frame(&bytes)?);
                }
                Some(Ok(Message::Close(frame))) => {
                    return Err(NodeError::ConnectionLost(frame.map_or_else(
                        || "closed by relay".into(),
                        |f| format!("closed by relay: {}", f.reason),
                    )));
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(NodeError::ConnectionLost(e.to_string())),
                None => return Err(NodeError::ConnectionLost("closed".into())),
            }
        }
    }

    async fn flush(&mut self) -> Result<(), NodeError> {
        while let Some(frame) = self.session.poll_outgoing() {
            self.ws
                .send(Message::Binary(frame.into()))
                .await
                .map_err(|e| NodeError::ConnectionLost(e.to_string()))?;
        }
        Ok(())
    }
}

/// What this machine offers, read from the OS; with an executor, also its GPU and backends.
pub fn local_capabilities() -> Capabilities {
    capabilities(None)
}

/// [`local_capabilities`] including what `executor` found (GPU adapter, chosen backends).
pub fn capabilities(executor: Option<&edgenet_kernels::backend::Executor>) -> Capabilities {
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
        kernels: edgenet_kernels::execute::KINDS.to_vec(),
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
