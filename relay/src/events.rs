//! `GET /events`: a WebSocket of JSON text messages for dashboards — the hub's events
//! (`edgenet_proto::hub::HubEvent`: tasks submitted, assigned, verified, failed; peers joined and
//! left; credits minted and paid), each stamped with the relay's clock (`at_ms`), and a `stats`
//! message once a second. docs/api.md has the schema.
//!
//! Every subscriber reads from one broadcast ring of [`SUBSCRIBER_QUEUE`] messages. One that
//! falls that far behind, or whose socket takes longer than [`SEND_TIMEOUT`] to accept a
//! message, is closed with EN-305: the hub never waits for a dashboard. A socket's buffers can
//! swallow minutes of events from a subscriber that never reads, so the relay pings each one
//! every [`PING_EVERY`] and closes one that has answered none for [`READ_WINDOW`] (EN-305 too):
//! a dashboard's browser answers pings by itself, an idle socket does not, and its place is free
//! again. At most [`MAX_SUBSCRIBERS`] at once (more: 503, EN-306), and at most
//! [`MAX_SUBSCRIBERS_PER_IP`] from one address (more: 429, EN-308), so one machine cannot take
//! every place.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
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
use crate::client_ip::ClientAddr;

/// Messages a subscriber may fall behind before it is dropped.
pub const SUBSCRIBER_QUEUE: usize = 256;
/// Subscribers at once.
pub const MAX_SUBSCRIBERS: usize = 64;
/// Subscribers at once from one address.
pub const MAX_SUBSCRIBERS_PER_IP: usize = 8;
/// Longest one message may wait for a subscriber's socket.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(2);
/// How often the relay pings a subscriber.
pub const PING_EVERY: Duration = Duration::from_secs(4);
/// A subscriber that answered no ping for this long is dropped.
pub const READ_WINDOW: Duration = Duration::from_secs(10);

/// The broadcast side, held by the hub driver.
#[derive(Debug, Clone)]
pub struct Events {
    tx: broadcast::Sender<Arc<str>>,
    subscribers: Arc<AtomicUsize>,
    /// Subscribers by address (only addresses with any).
    per_ip: Arc<Mutex<HashMap<IpAddr, usize>>>,
    dropped: Arc<AtomicU64>,
}

impl Default for Events {
    fn default() -> Self {
        Self {
            tx: broadcast::channel(SUBSCRIBER_QUEUE).0,
            subscribers: Arc::default(),
            per_ip: Arc::default(),
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
        (status = TOO_MANY_REQUESTS, description = "8 subscribers from this address already (EN-308)"),
        (status = SERVICE_UNAVAILABLE, description = "64 subscribers already (EN-306)"),
    )
)]
pub(crate) async fn upgrade(
    ws: WebSocketUpgrade,
    ClientAddr(addr): ClientAddr,
    State(state): State<AppState>,
) -> Response {
    let events = state.driver.events().clone();
    let ip = addr.ip();
    let guard = match Subscribed::take(&events, ip) {
        Ok(guard) => guard,
        Err(refusal) => return refusal.into_response(),
    };
    ws.max_message_size(4096)
        .write_buffer_size(8 * 1024)
        .on_upgrade(move |socket| async move {
            let _guard = guard;
            serve(socket, &events).await;
        })
}

/// A subscriber's place, given back however it ends.
struct Subscribed(Events, IpAddr);

impl Subscribed {
    /// Takes a place for a subscriber from `ip`, or answers why there is none. Counted before
    /// the upgrade, so a burst of requests cannot pass the limits together.
    fn take(events: &Events, ip: IpAddr) -> Result<Self, (StatusCode, String)> {
        if events.subscribers.fetch_add(1, Ordering::Relaxed) >= MAX_SUBSCRIBERS {
            events.subscribers.fetch_sub(1, Ordering::Relaxed);
            return Err((
                StatusCode::SERVICE_UNAVAILABLE,
                format!("EN-306: {MAX_SUBSCRIBERS} /events subscribers already\n"),
            ));
        }
        let mut per_ip = events.per_ip.lock().unwrap_or_else(|e| e.into_inner());
        let from_ip = per_ip.entry(ip).or_default();
        if *from_ip >= MAX_SUBSCRIBERS_PER_IP {
            drop(per_ip);
            events.subscribers.fetch_sub(1, Ordering::Relaxed);
            return Err((
                StatusCode::TOO_MANY_REQUESTS,
                format!("EN-308: {MAX_SUBSCRIBERS_PER_IP} /events subscribers from {ip} already\n"),
            ));
        }
        *from_ip += 1;
        Ok(Self(events.clone(), ip))
    }
}

impl Drop for Subscribed {
    fn drop(&mut self) {
        self.0.subscribers.fetch_sub(1, Ordering::Relaxed);
        let mut per_ip = self.0.per_ip.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = per_ip.get_mut(&self.1) {
            *n -= 1;
            if *n == 0 {
                per_ip.remove(&self.1);
            }
        }
    }
}

async fn serve(socket: axum::extract::ws::WebSocket, events: &Events) {
    let mut rx = events.tx.subscribe();
    let (mut sink, mut stream) = socket.split();
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + PING_EVERY, PING_EVERY);
    let mut answered = tokio::time::Instant::now();
    let too_slow = loop {
        tokio::select! {
            _ = ping.tick() => {
                if answered.elapsed() > READ_WINDOW {
                    break true;
                }
                let sent = tokio::time::timeout(SEND_TIMEOUT, sink.send(Message::Ping(Vec::new().into()))).await;
                match sent {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => break false,
                    Err(_) => break true,
                }
            }
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
            // The client answers pings, and closes; anything else it sends is ignored.
            incoming = stream.next() => match incoming {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break false,
                Some(Ok(Message::Pong(_))) => answered = tokio::time::Instant::now(),
                Some(Ok(_)) => {}
            },
        }
    };
    if too_slow {
        events.dropped.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(
            "an /events subscriber fell behind or stopped reading and was dropped (EN-305)"
        );
        let close = Message::Close(Some(CloseFrame {
            code: 1008,
            reason: "EN-305".into(),
        }));
        let _ = tokio::time::timeout(SEND_TIMEOUT, sink.send(close)).await;
    }
}
