//! `GET /events`: a WebSocket of JSON text messages for dashboards — the hub's events
//! (`edgenet_proto::hub::HubEvent`: tasks submitted, assigned, verified, failed; peers joined and
//! left; credits minted and paid), each stamped with the relay's clock (`at_ms`), and a `stats`
//! message once a second. docs/api.md has the schema.
//!
//! Every subscriber reads from one broadcast ring of [`SUBSCRIBER_QUEUE`] messages. One that
//! falls that far behind, or whose socket takes longer than [`SEND_TIMEOUT`] to accept a
//! message, is closed with EN-305: the hub never waits for a dashboard. At most
//! [`MAX_SUBSCRIBERS`] at once; more are refused with 503 and EN-306.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use edgenet_proto::Millis;
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use tokio::sync::broadcast;

use crate::AppState;

/// Messages a subscriber may fall behind before it is dropped.
pub const SUBSCRIBER_QUEUE: usize = 256;
/// Subscribers at once.
pub const MAX_SUBSCRIBERS: usize = 64;
/// Longest one message may wait for a subscriber's socket.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(2);

/// The broadcast side, held by the hub driver.
#[derive(Debug, Clone)]
pub struct Events {
    tx: broadcast::Sender<Arc<str>>,
    subscribers: Arc<AtomicUsize>,
    dropped: Arc<AtomicU64>,
}

impl Default for Events {
    fn default() -> Self {
        Self {
            tx: broadcast::channel(SUBSCRIBER_QUEUE).0,
            subscribers: Arc::default(),
            dropped: Arc::default(),
        }
    }
}

/// An event with the relay's clock.
#[derive(Serialize)]
struct Stamped<'a, T: Serialize> {
    at_ms: Millis,
    #[serde(flatten)]
    event: &'a T,
}

impl Events {
    /// Sends `event` to every subscriber (nothing is serialized when there are none).
    pub fn publish<T: Serialize>(&self, now: Millis, event: &T) {
        if self.tx.receiver_count() == 0 {
            return;
        }
        if let Ok(text) = serde_json::to_string(&Stamped { at_ms: now, event }) {
            let _ = self.tx.send(text.into());
        }
    }

    /// Whether anyone listens.
    pub fn has_subscribers(&self) -> bool {
        self.tx.receiver_count() > 0
    }

    /// Subscribers now.
    pub fn subscribers(&self) -> usize {
        self.subscribers.load(Ordering::Relaxed)
    }

    /// Subscribers dropped for being too slow, since start.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// The once-a-second `stats` message.
#[derive(Serialize)]
pub(crate) struct Stats {
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
    pub(crate) connections: usize,
    pub(crate) peers: Peers,
    pub(crate) open_tasks: usize,
    pub(crate) tasks_verified: u64,
    pub(crate) tasks_failed: u64,
    pub(crate) frames_in: u64,
    pub(crate) frames_out: u64,
    pub(crate) micro_credits_minted: u64,
    pub(crate) micro_credits_paid: u64,
}

/// Peers by role.
#[derive(Serialize)]
pub(crate) struct Peers {
    pub(crate) browser: usize,
    pub(crate) native: usize,
}

/// Publishes `stats` once a second while anyone listens (runs for the relay's life).
pub(crate) async fn stats_ticker(state: AppState) {
    let mut every = tokio::time::interval(Duration::from_secs(1));
    loop {
        every.tick().await;
        let events = state.driver.events();
        if !events.has_subscribers() {
            continue;
        }
        let (stats, now) = state.driver.with_hub(|hub, now| {
            let (s, m) = (hub.stats(), hub.metrics());
            let (browser, native) = hub.peers_by_role();
            let stats = Stats {
                kind: "stats",
                connections: s.connections,
                peers: Peers { browser, native },
                open_tasks: s.open_tasks,
                tasks_verified: s.tasks_verified,
                tasks_failed: s.tasks_failed,
                frames_in: s.frames_in,
                frames_out: s.frames_out,
                micro_credits_minted: m.micro_credits_minted,
                micro_credits_paid: m.micro_credits_paid,
            };
            (stats, now)
        });
        events.publish(now, &stats);
    }
}

/// `GET /events`.
#[utoipa::path(
    get,
    path = "/events",
    tag = "operators",
    responses(
        (status = 101, description = "A WebSocket of JSON events for dashboards (docs/api.md has each type)"),
        (status = SERVICE_UNAVAILABLE, description = "64 subscribers already (EN-306)"),
    )
)]
pub(crate) async fn upgrade(ws: WebSocketUpgrade, State(state): State<AppState>) -> Response {
    let events = state.driver.events().clone();
    // Counted before the upgrade, so a burst of requests cannot pass the limit together.
    if events.subscribers.fetch_add(1, Ordering::Relaxed) >= MAX_SUBSCRIBERS {
        events.subscribers.fetch_sub(1, Ordering::Relaxed);
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("EN-306: {MAX_SUBSCRIBERS} /events subscribers already\n"),
        )
            .into_response();
    }
    let guard = Subscribed(events.clone());
    ws.max_message_size(4096)
        .write_buffer_size(8 * 1024)
        .on_upgrade(move |socket| async move {
            let _guard = guard;
            serve(socket, &events).await;
        })
}

/// Gives the subscriber's place back however it ends.
struct Subscribed(Events);

impl Drop for Subscribed {
    fn drop(&mut self) {
        self.0.subscribers.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn serve(socket: axum::extract::ws::WebSocket, events: &Events) {
    let mut rx = events.tx.subscribe();
    let (mut sink, mut stream) = socket.split();
    let too_slow = loop {
        tokio::select! {
            next = rx.recv() => match next {
                Ok(text) => {
                    let sent = tokio::time::timeout(SEND_TIMEOUT, sink.send(Message::Text(text.as_ref().into()))).await;
                    match sent {
                        Ok(Ok(())) => {}
                        Ok(Err(_)) => break false,
                        Err(_) => break true,
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => break true,
                Err(broadcast::error::RecvError::Closed) => break false,
            },
            // The client only closes (anything else it sends is ignored).
            incoming = stream.next() => match incoming {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break false,
                Some(Ok(_)) => {}
            },
        }
    };
    if too_slow {
        events.dropped.fetch_add(1, Ordering::Relaxed);
        tracing::warn!("an /events subscriber fell behind and was dropped (EN-305)");
        let close = Message::Close(Some(CloseFrame {
            code: 1008,
            reason: "EN-305".into(),
        }));
        let _ = tokio::time::timeout(SEND_TIMEOUT, sink.send(close)).await;
    }
}
