//! Shares one [`Hub`] between the connections: feeds it events under a lock and carries out its
//! outputs (frames into each connection's bounded queue, closes). No protocol decisions here.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::extract::ws::Message;
use edgenet_proto::Millis;
use edgenet_proto::hub::{
    ConnId, Decoder, EntryPage, Forward, Hub, Input, NetGroup, Output, TaskRecord,
};
use tokio::sync::mpsc;

/// Limits enforced at the socket layer.
#[derive(Debug, Clone)]
pub struct SocketLimits {
    /// Frames queued per connection before it counts as a slow consumer and is dropped.
    pub queue_frames: usize,
    /// Bytes queued per connection before it counts as a slow consumer and is dropped: what the
    /// frame count alone would let grow to a gigabyte (1,024 frames of up to 1 MiB).
    pub queue_bytes: usize,
    /// Open connections allowed from one IP address.
    pub max_connections_per_ip: usize,
}

/// What a connection's writer takes off its queue: a frame, or a page of ledger entries that the
/// writer encodes itself, outside the lock around the hub.
pub enum Outgoing {
    /// A WebSocket message as it goes out.
    Frame(Message),
    /// Ledger entries ([`EntryPage::frames`] gives the frames).
    Entries(EntryPage),
}

impl Outgoing {
    /// What it counts against the connection's byte budget.
    fn len(&self) -> usize {
        match self {
            Self::Frame(Message::Binary(b)) => b.len(),
            Self::Frame(_) => 0,
            Self::Entries(page) => page.encoded_len(),
        }
    }
}

/// One connection's queue: the frames, and how many bytes they hold (the writer subtracts what it
/// takes).
struct Queue {
    tx: mpsc::Sender<Outgoing>,
    bytes: Arc<AtomicUsize>,
}

/// What the hub sends the cluster's other relays, on its way to NATS.
pub enum ToCluster {
    /// A task frame for a worker lent or borrowed (`hub/cluster/remote.rs`).
    Forward(Box<Forward>),
    /// An entry of this relay's to be attested (`hub/cluster/attest.rs`).
    Attest(Box<edgenet_core::ledger::Entry>),
}

struct Inner {
    hub: Hub,
    senders: HashMap<ConnId, Queue>,
    /// Where frames and attestation requests for other relays go (the cluster's adapter), when
    /// in a cluster.
    forward: Option<mpsc::Sender<ToCluster>>,
    /// Frames for other relays dropped because that queue was full.
    forward_dropped: u64,
    /// Where task records go, to the cluster's task stream, when in a cluster.
    records: Option<mpsc::Sender<Box<TaskRecord>>>,
    /// Records dropped because that queue was full (their tasks run, but would not survive
    /// this relay).
    records_dropped: u64,
    per_ip: HashMap<IpAddr, usize>,
    next_conn: ConnId,
    /// Connections refused because their address had too many (for `/metrics`).
    refused_per_ip: u64,
}

/// The hub and the connections' queues, behind one lock.
#[derive(Clone)]
pub struct HubDriver {
    inner: Arc<Mutex<Inner>>,
    started: Instant,
    limits: SocketLimits,
    events: crate::events::Events,
}

/// A registered connection: its id and the queue its writer drains.
pub struct Registered {
    /// The connection's id.
    pub conn: ConnId,
    /// Frames to write to the socket; closed when the hub closes the connection.
    pub outgoing: mpsc::Receiver<Outgoing>,
    /// Bytes in `outgoing`: the writer calls [`Registered::taken`] for each frame it takes.
    pub queued: Arc<AtomicUsize>,
    /// Decodes this connection's frames and verifies their ledger entries in its own task,
    /// before [`HubDriver::frame`] takes the lock.
    pub decoder: Decoder,
}

impl Registered {
    /// The writer took `item` off the queue.
    pub fn taken(queued: &AtomicUsize, item: &Outgoing) {
        queued.fetch_sub(item.len(), Ordering::Relaxed);
    }
}

impl HubDriver {
    /// Wraps `hub`.
    pub fn new(hub: Hub, limits: SocketLimits) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Inner {
                hub,
                senders: HashMap::new(),
                forward: None,
                forward_dropped: 0,
                records: None,
                records_dropped: 0,
                per_ip: HashMap::new(),
                next_conn: 1,
                refused_per_ip: 0,
            })),
            started: Instant::now(),
            limits,
            events: crate::events::Events::default(),
        }
    }

    /// Where the hub's events go (`/events`).
    pub fn events(&self) -> &crate::events::Events {
        &self.events
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
            inner.refused_per_ip += 1;
            return None;
        }
        *count += 1;
        let conn = inner.next_conn;
        inner.next_conn += 1;
        let (tx, rx) = mpsc::channel(self.limits.queue_frames);
        let queued = Arc::new(AtomicUsize::new(0));
        let queue = Queue {
            tx,
            bytes: queued.clone(),
        };
        inner.senders.insert(conn, queue);
        let network = NetGroup::of(ip);
        let _ = inner.hub.handle(
            now,
            Input::Connect {
                conn,
                nonce,
                network,
            },
        );
        self.flush(&mut inner, now);
        Some(Registered {
            conn,
            outgoing: rx,
            queued,
            decoder: inner.hub.decoder(),
        })
    }

    /// A frame arrived on `conn`. It is decoded and its entries' signatures are checked first,
    /// by the connection's own decoder and outside the lock: a flood of forged entries then costs
    /// its sender's task, and the hub's lock is held only for the state change.
    pub fn frame(
        &self,
        conn: ConnId,
        decoder: &mut Decoder,
        bytes: &[u8],
    ) -> Result<(), edgenet_proto::ProtoError> {
        let inbound = decoder.decode(bytes);
        let now = self.now();
        let mut inner = self.lock();
        let result = inner
            .hub
            .handle(now, Input::Inbound { conn, inbound })
            .map(drop);
        self.flush(&mut inner, now);
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
        let _ = inner.hub.handle(now, Input::Disconnect(conn));
        self.flush(&mut inner, now);
    }

    /// Runs the hub's timers; returns how long to sleep before the next call.
    pub fn tick(&self) -> Duration {
        let now = self.now();
        let mut inner = self.lock();
        let _ = inner.hub.handle(now, Input::Timeout);
        self.flush(&mut inner, now);
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

    /// Sends the hub's frames and attestation requests for other relays to `tx` from now on
    /// (the cluster's adapter). A full queue drops them (frames counted): the task's relay then
    /// times the work out and offers it again, as it does for a worker that went quiet, and an
    /// entry's attestations are asked for again.
    pub fn forward_to(&self, tx: mpsc::Sender<ToCluster>) {
        self.lock().forward = Some(tx);
    }

    /// Sends the hub's task records to `tx` (the cluster's task stream). A full queue drops them
    /// (counted).
    pub fn records_to(&self, tx: mpsc::Sender<Box<TaskRecord>>) {
        self.lock().records = Some(tx);
    }

    /// Task records dropped since start because their queue was full.
    pub fn records_dropped(&self) -> u64 {
        self.lock().records_dropped
    }

    /// Frames for other relays dropped since start because their queue was full.
    pub fn forward_dropped(&self) -> u64 {
        self.lock().forward_dropped
    }

    /// Connections refused since start because their address had too many.
    pub fn refused_per_ip(&self) -> u64 {
        self.lock().refused_per_ip
    }

    /// Reads or updates hub state (the ledger evaluates lazily, so reads need `&mut`).
    pub fn with_hub_mut<T>(&self, f: impl FnOnce(&mut Hub, Millis) -> T) -> T {
        let now = self.now();
        let mut inner = self.lock();
        let out = f(&mut inner.hub, now);
        self.flush(&mut inner, now);
        out
    }

    /// Carries out the hub's outputs. A connection whose queue is full (in frames or in bytes) is
    /// a slow consumer: it is dropped (its writer sees the queue close) so that it never stalls
    /// anyone else or holds the relay's memory.
    fn flush(&self, inner: &mut Inner, now: Millis) {
        while let Some(event) = inner.hub.poll_event() {
            self.events.publish(now, &event);
        }
        let budget = self.limits.queue_bytes;
        while let Some(out) = inner.hub.poll_output() {
            let (conn, item) = match out {
                Output::Send(conn, frame) => (conn, Outgoing::Frame(Message::Binary(frame.into()))),
                Output::SendEntries(conn, page) => (conn, Outgoing::Entries(page)),
                Output::Close(conn) => {
                    inner.senders.remove(&conn);
                    continue;
                }
                Output::Forward(forward) => {
                    let sent = inner
                        .forward
                        .as_ref()
                        .map(|tx| tx.try_send(ToCluster::Forward(forward)));
                    if !matches!(sent, Some(Ok(()))) {
                        inner.forward_dropped += 1;
                    }
                    continue;
                }
                Output::TaskRecord(record) => {
                    let sent = inner.records.as_ref().map(|tx| tx.try_send(record));
                    if !matches!(sent, Some(Ok(()))) {
                        inner.records_dropped += 1;
                    }
                    continue;
                }
                // A request lost here is asked again (`ATTEST_RETRY_MS`).
                Output::Attest(entry) => {
                    if let Some(tx) = &inner.forward {
                        let _ = tx.try_send(ToCluster::Attest(entry));
                    }
                    continue;
                }
            };
            let Some(queue) = inner.senders.get(&conn) else {
                continue;
            };
            let len = item.len();
            let fits = queue.bytes.load(Ordering::Relaxed).saturating_add(len) <= budget;
            // Err(true): the socket is gone; Err(false): the queue is full.
            let sent = if fits {
                queue
                    .tx
                    .try_send(item)
                    .map_err(|e| matches!(e, mpsc::error::TrySendError::Closed(_)))
            } else {
                Err(false)
            };
            match sent {
                Ok(()) => {
                    queue.bytes.fetch_add(len, Ordering::Relaxed);
                }
                Err(false) => {
                    tracing::warn!(conn, "slow consumer dropped (EN-214)");
                    inner.senders.remove(&conn);
                    let _ = inner.hub.handle(now, Input::SlowConsumer(conn));
                }
                // Its reader reports the disconnect.
                Err(true) => {
                    inner.senders.remove(&conn);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
