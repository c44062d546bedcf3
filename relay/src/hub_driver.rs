//! Shares one [`Hub`] between the connections: feeds it events under a lock and carries out its
//! outputs (frames into each connection's bounded queue, closes). No protocol decisions here.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::extract::ws::Message;
use edgenet_proto::Millis;
use edgenet_proto::hub::{ConnId, Hub, Output};
use tokio::sync::mpsc;

/// Limits enforced at the socket layer.
#[derive(Debug, Clone)]
pub struct SocketLimits {
    /// Frames queued per connection before it counts as a slow consumer and is dropped.
    pub queue_frames: usize,
    /// Open connections allowed from one IP address.
    pub max_connections_per_ip: usize,
}

struct Inner {
    hub: Hub,
    senders: HashMap<ConnId, mpsc::Sender<Message>>,
    per_ip: HashMap<IpAddr, usize>,
    next_conn: ConnId,
}

/// The hub and the connections' queues, behind one lock.
#[derive(Clone)]
pub struct HubDriver {
    inner: Arc<Mutex<Inner>>,
    started: Instant,
    limits: SocketLimits,
}

/// A registered connection: its id and the queue its writer drains.
pub struct Registered {
    /// The connection's id.
    pub conn: ConnId,
    /// Frames to write to the socket; closed when the hub closes the connection.
    pub outgoing: mpsc::Receiver<Message>,
}

impl HubDriver {
    /// Wraps `hub`.
    pub fn new(hub: Hub, limits: SocketLimits) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Inner {
                hub,
                senders: HashMap::new(),
                per_ip: HashMap::new(),
                next_conn: 1,
            })),
            started: Instant::now(),
            limits,
        }
    }

    /// Milliseconds since the relay started: the hub's clock.
    pub fn now(&self) -> Millis {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock would be a bug; the state is still the best we have.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers a new connection from `ip`, or refuses it when that address has too many.
    pub fn connect(&self, ip: IpAddr) -> Option<Registered> {
        let now = self.now();
        let mut nonce = [0u8; 32];
        rand_core::Rng::fill_bytes(&mut edgenet_core::rng::os_rng(), &mut nonce);
        let mut inner = self.lock();
        let count = inner.per_ip.entry(ip).or_insert(0);
        if *count >= self.limits.max_connections_per_ip {
            return None;
        }
        *count += 1;
        let conn = inner.next_conn;
        inner.next_conn += 1;
        let (tx, rx) = mpsc::channel(self.limits.queue_frames);
        inner.senders.insert(conn, tx);
        inner.hub.handle_connect(conn, now, nonce);
        Self::flush(&mut inner, now);
        Some(Registered { conn, outgoing: rx })
    }

    /// A frame arrived on `conn`.
    pub fn frame(&self, conn: ConnId, bytes: &[u8]) -> Result<(), edgenet_proto::ProtoError> {
        let now = self.now();
        let mut inner = self.lock();
        let result = inner.hub.handle_frame(conn, bytes, now);
        Self::flush(&mut inner, now);
        result
    }

    /// `conn` from `ip` is gone.
    pub fn disconnect(&self, conn: ConnId, ip: IpAddr) {
        let now = self.now();
        let mut inner = self.lock();
        inner.senders.remove(&conn);
        if let Some(count) = inner.per_ip.get_mut(&ip) {
            *count -= 1;
            if *count == 0 {
                inner.per_ip.remove(&ip);
            }
        }
        inner.hub.handle_disconnect(conn, now);
        Self::flush(&mut inner, now);
    }

    /// Runs the hub's timers; returns how long to sleep before the next call.
    pub fn tick(&self) -> Duration {
        let now = self.now();
        let mut inner = self.lock();
        inner.hub.handle_timeout(now);
        Self::flush(&mut inner, now);
        let next = inner
            .hub
            .poll_timeout()
            .map_or(1_000, |t| t.saturating_sub(now));
        Duration::from_millis(next.clamp(10, 1_000))
    }

    /// Reads hub state for the HTTP API.
    pub fn with_hub<T>(&self, f: impl FnOnce(&Hub, Millis) -> T) -> T {
        let now = self.now();
        f(&self.lock().hub, now)
    }

    /// Reads or updates hub state (the ledger evaluates lazily, so reads need `&mut`).
    pub fn with_hub_mut<T>(&self, f: impl FnOnce(&mut Hub, Millis) -> T) -> T {
        let now = self.now();
        let mut inner = self.lock();
        let out = f(&mut inner.hub, now);
        Self::flush(&mut inner, now);
        out
    }

    /// Carries out the hub's outputs. A connection whose queue is full is a slow consumer: it is
    /// dropped (its writer sees the queue close) so that it never stalls anyone else.
    fn flush(inner: &mut Inner, now: Millis) {
        while let Some(out) = inner.hub.poll_output() {
            match out {
                Output::Send(conn, frame) => {
                    let Some(tx) = inner.senders.get(&conn) else {
                        continue;
                    };
                    match tx.try_send(Message::Binary(frame.into())) {
                        Ok(()) => {}
                        Err(mpsc::error::TrySendError::Full(_)) => {
                            tracing::warn!(conn, "slow consumer dropped (EN-214)");
                            inner.senders.remove(&conn);
                            inner.hub.handle_slow_consumer(conn, now);
                        }
                        // The socket is already gone; its reader reports the disconnect.
                        Err(mpsc::error::TrySendError::Closed(_)) => {
                            inner.senders.remove(&conn);
                        }
                    }
                }
                Output::Close(conn) => {
                    inner.senders.remove(&conn);
                }
            }
        }
    }
}
