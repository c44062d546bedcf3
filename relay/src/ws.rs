//! `/ws`: one WebSocket per node. The socket's bytes go to the hub; the hub's frames come back
//! through a bounded queue. The only decisions made here are about the socket itself.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use edgenet_proto::{ProtoError, RelayMsg};
use futures_util::{SinkExt, StreamExt};

use crate::AppState;
use crate::client_ip::ClientAddr;
use crate::hub_driver::{Outgoing, Registered};

/// Frames above this are cut off by the WebSocket layer itself; between the protocol's limit and
/// this, the hub answers with EN-201 so the client learns why.
const SOCKET_MAX_MESSAGE: usize = 2 * edgenet_proto::MAX_FRAME_LEN;
/// Read and write buffer per socket.
const SOCKET_BUFFER: usize = 8 * 1024;
/// Most bytes a socket's write side holds while its peer does not read: one frame of the largest
/// size and the buffer. Past it the socket takes no more (tungstenite then keeps only the newest
/// pong), so a client that sends pings and never reads cannot grow the relay's memory.
const SOCKET_WRITE_LIMIT: usize = SOCKET_MAX_MESSAGE + SOCKET_BUFFER;
/// Longest a write (a batch of frames, or the closing frame) may wait for the peer to read; then
/// the socket is closed. A connection the hub closed (handshake timeout, error, slow consumer)
/// therefore ends within this even if its peer never reads again.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

#[utoipa::path(get, path = "/ws", tag = "nodes", responses((status = 101, description = "The node protocol's WebSocket (binary frames; docs/architecture.md)")))]
pub(crate) async fn upgrade(
    ws: WebSocketUpgrade,
    ClientAddr(addr): ClientAddr,
    State(state): State<AppState>,
) -> Response {
    // Small socket buffers: tungstenite's defaults (128 KiB each way) would dominate the memory of
    // an idle connection, and a relay holds many idle browsers.
    ws.max_message_size(SOCKET_MAX_MESSAGE)
        .max_frame_size(SOCKET_MAX_MESSAGE)
        .read_buffer_size(SOCKET_BUFFER)
        .write_buffer_size(SOCKET_BUFFER)
        .max_write_buffer_size(SOCKET_WRITE_LIMIT)
        .on_upgrade(move |socket| serve(socket, addr, state))
}

async fn serve(socket: WebSocket, addr: SocketAddr, state: AppState) {
    let ip = addr.ip();
    let (mut sink, mut stream) = socket.split();
    let Some(registered) = state.driver.connect(ip) else {
        // Refused before the hub ever sees it: tell the client why, then close.
        if let Ok(frame) = RelayMsg::error(&ProtoError::TooManyConnections).encode() {
            let _ = sink.send(Message::Binary(frame.into())).await;
        }
        let _ = sink
            .send(Message::Close(Some(CloseFrame {
                code: 1008,
                reason: "EN-215".into(),
            })))
            .await;
        return;
    };
    let conn = registered.conn;
    let mut outgoing = registered.outgoing;
    let queued = registered.queued;
    let mut decoder = registered.decoder;
    tracing::debug!(conn, %ip, "connected");

    let writer = tokio::spawn(async move {
        // Everything already queued is written before one flush: a syscall per batch, not per frame.
        while let Some(first) = outgoing.recv().await {
            Registered::taken(&queued, &first);
            let batch = async {
                feed(&mut sink, first).await?;
                while let Ok(more) = outgoing.try_recv() {
                    Registered::taken(&queued, &more);
                    feed(&mut sink, more).await?;
                }
                sink.flush().await
            };
            match tokio::time::timeout(WRITE_TIMEOUT, batch).await {
                Ok(Ok(())) => {}
                // Gone, or not reading for WRITE_TIMEOUT: the reader loop ends with the writer.
                Ok(Err(_)) | Err(_) => return,
            }
        }
        // The hub closed this connection (after an error, as a slow consumer, or replaced).
        let close = sink.send(Message::Close(Some(CloseFrame {
            code: 1008,
            reason: "closed by relay".into(),
        })));
        let _ = tokio::time::timeout(WRITE_TIMEOUT, close).await;
    });

    let mut writer = writer;
    loop {
        tokio::select! {
            _ = &mut writer => break,
            next = stream.next() => match next {
                Some(Ok(Message::Binary(bytes))) => {
                    if let Err(e) = state.driver.frame(conn, &mut decoder, &bytes) {
                        tracing::debug!(conn, code = edgenet_core::ErrorCode::code(&e), error = %e, "frame refused");
                    }
                }
                Some(Ok(Message::Text(text))) => {
                    // Not part of the protocol: the hub refuses it with a code like any bad frame.
                    let _ = state.driver.frame(conn, &mut decoder, text.as_bytes());
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {} // ping/pong are answered by the WebSocket layer
            }
        }
    }
    state.driver.disconnect(conn, ip);
    writer.abort();
    tracing::debug!(conn, "disconnected");
}

/// Queues one item on the socket; a page of ledger entries is encoded here, in this
/// connection's writer, not under the lock around the hub.
async fn feed<S>(sink: &mut S, item: Outgoing) -> Result<(), S::Error>
where
    S: futures_util::Sink<Message> + Unpin,
{
    match item {
        Outgoing::Frame(msg) => sink.feed(msg).await,
        Outgoing::Entries(page) => {
            for frame in page.frames() {
                sink.feed(Message::Binary(frame.into())).await?;
            }
            Ok(())
        }
    }
}
