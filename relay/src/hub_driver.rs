//! Shares one [`Hub`] between the connections: feeds it events under a lock and carries out its
//! outputs (frames into each connection's bounded queue, closes). No protocol decisions here.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::extract::ws::Message;
use edgenet_proto::Millis;
use edgenet_proto::hub::{ConnId, Decoder, EntryPage, Forward, Hub, Input, Output, TaskRecord};
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
        let _ = inner.hub.handle(now, Input::Connect { conn, nonce });
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
mod tests {
    //! The queues from the hub to NATS, filled to their bounds while the relay's own clients are
    //! served.
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

    use std::net::{IpAddr, Ipv4Addr};

    use edgenet_core::SecretKey;
    use edgenet_core::ledger::{Account, LedgerConfig};
    use edgenet_core::task::{TaskId, TaskKind};
    use edgenet_proto::client::ClientSession;
    use edgenet_proto::hub::{Announcement, HubConfig};
    use edgenet_proto::message::{Capabilities, PeerInfo, Role, TaskSpec};

    use super::*;
    use crate::cluster::{remote_work, task_records};

    const IP: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    fn caps(kernels: Vec<TaskKind>) -> Capabilities {
        Capabilities {
            cores: 1,
            memory_mib: 256,
            gpu: None,
            kernels,
            backends: vec!["cpu".into()],
        }
    }

    /// A client of `driver` through a real handshake: its session, connection and queue.
    struct Client {
        session: ClientSession,
        reg: Registered,
    }

    impl Client {
        fn join(driver: &HubDriver, seed: u64) -> Self {
            let mut bytes = [0u8; 32];
            bytes[..8].copy_from_slice(&seed.to_le_bytes());
            bytes[31] = 0xc1;
            let key = SecretKey::from_seed(&bytes);
            let relay = driver.with_hub(|hub, _| hub.node_id());
            let session = ClientSession::new(key, Role::Native, caps(vec![]), Some(relay));
            let reg = driver.connect(IP).unwrap();
            let mut client = Self { session, reg };
            client.pump(driver);
            assert_eq!(
                client.session.state(),
                edgenet_proto::client::ClientState::Ready
            );
            client
        }

        /// Hands what the relay queued to the session and its answers back, until quiet.
        fn pump(&mut self, driver: &HubDriver) {
            loop {
                let mut moved = false;
                while let Ok(out) = self.reg.outgoing.try_recv() {
                    if let Outgoing::Frame(Message::Binary(frame)) = out {
                        let _ = self.session.handle_frame(&frame);
                    }
                }
                while self.session.poll_event().is_some() {}
                while let Some(frame) = self.session.poll_outgoing() {
                    moved = true;
                    let _ = driver.frame(self.reg.conn, &mut self.reg.decoder, &frame);
                }
                if !moved {
                    break;
                }
            }
        }

        fn submit(&mut self, driver: &HubDriver, id: u64) {
            let mut task = [0u8; 16];
            task[..8].copy_from_slice(&id.to_le_bytes());
            let spec = TaskSpec {
                id: TaskId(task),
                kind: TaskKind::VECTOR_SEARCH,
                redundancy: 1,
                max_credits: 0,
                priority: 0,
                timeout_ms: 60_000,
            };
            self.session
                .send(&edgenet_proto::message::ClientMsg::Submit(spec))
                .unwrap();
            self.pump(driver);
        }
    }

    #[test]
    fn the_queues_to_nats_drop_and_count_past_their_bound_while_clients_are_served() {
        let me = SecretKey::from_seed(&[0xd1; 32]);
        let other = SecretKey::from_seed(&[0xd2; 32]);
        let validators = LedgerConfig::new(
            vec![Account::of(&me.node_id()), Account::of(&other.node_id())],
            1,
        )
        .unwrap();
        let config = HubConfig {
            work_bits: 0,
            canary_reward: 0,
            uptime_period_ms: 0,
            task_records: true,
            ..HubConfig::default()
        };
        let hub = Hub::new(me, config).with_validators(validators).unwrap();
        let limits = SocketLimits {
            queue_frames: 1_024,
            queue_bytes: 64 << 20,
            max_connections_per_ip: 1_024,
        };
        let driver = HubDriver::new(hub, limits);
        // Nobody drains the queues: NATS is slow or gone.
        let (forward_tx, mut forward_rx) = remote_work::queue();
        driver.forward_to(forward_tx);
        let (records_tx, mut records_rx) = task_records::queue();
        driver.records_to(records_tx);
        // The other relay lends one worker: each task here is offered to it, through NATS.
        let lent = PeerInfo {
            node: *SecretKey::from_seed(&[0xd3; 32]).node_id().as_bytes(),
            exchange_key: vec![0; 128],
            role: Role::Native,
            capabilities: caps(vec![TaskKind::VECTOR_SEARCH]),
        };
        let bytes = Announcement::encode(&other, vec![lent], &[], &[]).unwrap();
        let lender = Announcement::decode(&bytes).unwrap();
        driver
            .with_hub_mut(|hub, now| {
                hub.handle(now, Input::Announcement(lender))
                    .map(|h| h.count())
            })
            .unwrap();
        // More tasks than either queue holds: 64 submitters of 65 tasks' worth.
        let per_submitter = 64;
        let submitters = remote_work::FORWARD_QUEUE / per_submitter + 1;
        let mut id = 0;
        for s in 0..submitters {
            let mut client = Client::join(&driver, s as u64);
            for _ in 0..per_submitter {
                id += 1;
                client.submit(&driver, id);
            }
        }
        let tasks = (submitters * per_submitter) as u64;
        let mut forwarded = 0;
        while forward_rx.try_recv().is_ok() {
            forwarded += 1;
        }
        let mut recorded = 0;
        while records_rx.try_recv().is_ok() {
            recorded += 1;
        }
        assert_eq!(forwarded, remote_work::FORWARD_QUEUE);
        assert_eq!(driver.forward_dropped(), tasks - forwarded as u64);
        assert_eq!(recorded, task_records::RECORD_QUEUE);
        assert_eq!(driver.records_dropped(), tasks - recorded as u64);
        // Drained, the queues take again; and a new client is served all along.
        let mut honest = Client::join(&driver, 10_000);
        honest.submit(&driver, id + 1);
        assert_eq!(
            driver.with_hub(|hub, _| hub.stats().open_tasks),
            usize::try_from(tasks).unwrap() + 1
        );
        assert!(forward_rx.try_recv().is_ok(), "the offer went out");
        assert!(records_rx.try_recv().is_ok(), "the record went out");
        assert_eq!(driver.forward_dropped(), tasks - forwarded as u64);
    }
}
