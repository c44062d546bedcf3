//! The relay's state machine: every connection's handshake, the peer table, the task queue and its
//! assignments, limits and timers. No IO: the relay feeds it connections, frames, disconnects and
//! the time, and carries out what [`Hub::poll_output`] returns.
//!
//! Task lifecycle, as the hub routes it:
//!
//! ```text
//! submitter --Submit--> hub --Offer--> capable peers --Claim--> hub
//!   hub --Assignment--> worker, --Assigned--> submitter          (first N distinct claimers)
//! submitter --Payload(sealed to worker)--> hub --> worker
//! worker --Result(sealed to submitter, commitment, signature)--> hub --> submitter
//! submitter --Verdict(agreeing, outvoted)--> hub --> the task's workers
//! ```
//!
//! A worker that disconnects or misses its deadline loses the assignment; the task is offered again
//! to peers that have not had it. A task still short of results at its timeout fails. The hub never
//! sees a plaintext payload or result: only envelopes, commitments and signatures.

use std::collections::{BTreeMap, HashMap, VecDeque};

use edgenet_core::task::TaskId;
use edgenet_core::{NodeId, SecretKey, Signature, SignedExchangeKey};
use serde::Serialize;

use crate::client::hello_transcript;
pub(crate) use ledger::single_validator_ledger;
pub use ledger::{EntryStore, MemoryStore};

mod canary;
mod escrows;
mod ledger;
mod settle;
use crate::error::ProtoError;
use crate::message::{ClientMsg, MAX_LIST, NodeKey, PeerInfo, RelayMsg, Role, TaskSpec};
use crate::{Millis, PROTOCOL_VERSION};

/// A connection's id, chosen by the relay.
pub type ConnId = u64;

/// Limits and timers.
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// Time to answer the challenge.
    pub handshake_timeout_ms: Millis,
    /// Time a worker has from assignment to result.
    pub assignment_timeout_ms: Millis,
    /// Messages one identity may send per minute.
    pub max_messages_per_minute: u32,
    /// Largest redundancy a task may ask for.
    pub max_redundancy: u8,
    /// Longest task timeout.
    pub max_task_timeout_ms: u32,
    /// Most unfinished tasks one submitter may have.
    pub max_open_tasks_per_submitter: usize,
    /// Finished tasks kept for the API.
    pub finished_history: usize,
    /// Peers listed in a welcome, and peers told of each join and leave.
    pub max_peers_announced: usize,
    /// Peers offered a task per round.
    pub offers_per_round: usize,
    /// Time between rounds of offers while a task still needs workers.
    pub offer_round_ms: Millis,
    /// Online time, in one connection, that earns a worker the uptime bonus (0: no bonus).
    pub uptime_period_ms: Millis,
    /// Micro-credits the relay mints per period online (0.1 credit per hour by default).
    pub uptime_bonus: u64,
    /// Refuse tasks that offer no credits (EN-221).
    pub paid_only: bool,
    /// Micro-credits a worker earns for passing a canary (a known-answer task the relay sends a
    /// new identity); 0 sends none.
    pub canary_reward: u64,
    /// Time an escrow waits for its task; then it is refunded (the submitter went away).
    pub escrow_grace_ms: Millis,
}

impl Default for HubConfig {
    fn default() -> Self {
        Self {
            handshake_timeout_ms: 10_000,
            assignment_timeout_ms: 30_000,
            max_messages_per_minute: 6_000,
            max_redundancy: 7,
            max_task_timeout_ms: 600_000,
            max_open_tasks_per_submitter: 64,
            finished_history: 256,
            max_peers_announced: 64,
            offers_per_round: 16,
            offer_round_ms: 500,
            uptime_period_ms: 3_600_000,
            uptime_bonus: 100_000,
            paid_only: false,
            canary_reward: 1_000_000,
            escrow_grace_ms: 60_000,
        }
    }
}

/// What the relay must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send this frame on this connection.
    Send(ConnId, Vec<u8>),
    /// Close this connection (after sending what was queued before).
    Close(ConnId),
}

enum ConnState {
    AwaitHello { nonce: [u8; 32], deadline: Millis },
    Ready { node: NodeId },
}

struct Conn {
    state: ConnState,
    window_start: Millis,
    window_count: u32,
}

struct Peer {
    conn: ConnId,
    info: PeerInfo,
    since: Millis,
    /// Online time from here on is not yet paid by the uptime bonus.
    unpaid_since: Millis,
    results: u64,
    /// Assignments it holds now (offers go to the least loaded first).
    jobs: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum WorkState {
    Assigned,
    Returned,
    Lost,
}

struct Work {
    worker: NodeId,
    deadline: Millis,
    state: WorkState,
    /// When it was assigned, and how long the result took (the work the early-adopter curve counts).
    assigned_at: Millis,
    work_ms: Millis,
    /// The worker's signed commitment to its result: evidence if the result is outvoted.
    commitment: Option<SignedCommitment>,
}

/// A result commitment and the worker's signature over it (`result_signing_message`).
type SignedCommitment = ([u8; 32], Vec<u8>);

impl Work {
    /// `worker`'s new assignment, due by `deadline`.
    fn assigned(worker: NodeId, now: Millis, deadline: Millis) -> Self {
        Self {
            worker,
            deadline,
            state: WorkState::Assigned,
            assigned_at: now,
            work_ms: 0,
            commitment: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum TaskStatus {
    Open,
    Verified,
    Failed,
}

struct Task {
    spec: TaskSpec,
    submitter: NodeId,
    created: Millis,
    expires: Millis,
    work: Vec<Work>,
    status: TaskStatus,
    agreeing: Vec<NodeId>,
    outvoted: Vec<NodeId>,
    failure: Option<String>,
    /// Peers offered the task in the current sweep.
    offered: Vec<NodeId>,
    /// When the next round of offers goes out if workers are still missing.
    next_round: Millis,
}

impl Task {
    fn active(&self) -> usize {
        self.work
            .iter()
            .filter(|w| w.state != WorkState::Lost)
            .count()
    }

    fn needs_workers(&self) -> bool {
        self.status == TaskStatus::Open && self.active() < usize::from(self.spec.redundancy)
    }

    fn has_had(&self, node: &NodeId) -> bool {
        self.work.iter().any(|w| w.worker == *node)
    }

    fn work_mut(&mut self, node: &NodeId, state: WorkState) -> Option<&mut Work> {
        self.work
            .iter_mut()
            .find(|w| w.worker == *node && w.state == state)
    }
}

/// Counters for the API and metrics.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HubStats {
    /// Open connections (authenticated or not).
    pub connections: usize,
    /// Authenticated peers.
    pub peers: usize,
    /// Tasks not yet finished.
    pub open_tasks: usize,
    /// Tasks verified since start.
    pub tasks_verified: u64,
    /// Tasks failed since start.
    pub tasks_failed: u64,
    /// Assignments lost to disconnects or deadlines, and offered again.
    pub reassignments: u64,
    /// Frames received.
    pub frames_in: u64,
    /// Frames queued to send.
    pub frames_out: u64,
    /// Frames refused with an error.
    pub errors: u64,
}

/// A peer, for `/api/peers`.
#[derive(Debug, Clone, Serialize)]
pub struct PeerSummary {
    /// Full NodeId.
    pub node_id: String,
    /// Browser or native.
    pub role: Role,
    /// Cores offered.
    pub cores: u16,
    /// Memory offered, MiB.
    pub memory_mib: u32,
    /// GPU adapter.
    pub gpu: Option<String>,
    /// Task kinds.
    pub kernels: Vec<&'static str>,
    /// Backends.
    pub backends: Vec<String>,
    /// Connected for this long.
    pub connected_ms: Millis,
    /// Results returned in this session.
    pub results: u64,
}

/// A worker's part in a task, for `/api/tasks`.
#[derive(Debug, Clone, Serialize)]
pub struct WorkSummary {
    /// Worker NodeId.
    pub worker: String,
    /// `assigned`, `returned` or `lost`.
    pub state: &'static str,
}

/// A task, for `/api/tasks`.
#[derive(Debug, Clone, Serialize)]
pub struct TaskSummary {
    /// Task id (hex).
    pub id: String,
    /// Task kind.
    pub kind: &'static str,
    /// Submitter NodeId.
    pub submitter: String,
    /// Workers asked for.
    pub redundancy: u8,
    /// `open`, `verified` or `failed`.
    pub status: &'static str,
    /// Its workers.
    pub work: Vec<WorkSummary>,
    /// Workers whose results agreed (verified tasks).
    pub agreeing: Vec<String>,
    /// Workers outvoted (verified tasks).
    pub outvoted: Vec<String>,
    /// Why it failed.
    pub failure: Option<String>,
    /// Age.
    pub age_ms: Millis,
}

/// The relay's protocol state.
pub struct Hub {
    key: SecretKey,
    config: HubConfig,
    conns: HashMap<ConnId, Conn>,
    peers: HashMap<NodeId, Peer>,
    tasks: BTreeMap<TaskId, Task>,
    finished: VecDeque<TaskId>,
    out: VecDeque<Output>,
    stats: HubStats,
    ledger: edgenet_core::ledger::Ledger,
    store: Box<dyn EntryStore + Send>,
    /// Verified work paid so far, network-wide (the early-adopter curve's input).
    work_ms_total: u64,
    /// Open canaries.
    canaries: HashMap<TaskId, canary::Canary>,
    /// Randomness for canaries ([`Hub::seed_randomness`]).
    rng: rand_chacha::ChaCha20Rng,
    /// Escrows without their task yet, and when they are refunded if it never comes.
    stray_escrows: BTreeMap<(edgenet_core::ledger::Account, TaskId), Millis>,
}

impl Hub {
    /// A hub for the relay identity `key`.
    pub fn new(key: SecretKey, config: HubConfig) -> Self {
        Self {
            config,
            conns: HashMap::new(),
            peers: HashMap::new(),
            tasks: BTreeMap::new(),
            finished: VecDeque::new(),
            out: VecDeque::new(),
            stats: HubStats::default(),
            ledger: single_validator_ledger(&key),
            store: Box::new(MemoryStore),
            work_ms_total: 0,
            canaries: HashMap::new(),
            rng: rand_core::SeedableRng::from_seed([0; 32]),
            stray_escrows: BTreeMap::new(),
            key,
        }
    }

    /// The relay's identity.
    pub fn node_id(&self) -> NodeId {
        self.key.node_id()
    }

    /// A new connection: sends it a challenge built on `nonce` (fresh randomness from the caller).
    pub fn handle_connect(&mut self, conn: ConnId, now: Millis, nonce: [u8; 32]) {
        let deadline = now + self.config.handshake_timeout_ms;
        self.conns.insert(
            conn,
            Conn {
                state: ConnState::AwaitHello { nonce, deadline },
                window_start: now,
                window_count: 0,
            },
        );
        let challenge = RelayMsg::Challenge {
            nonce,
            relay: *self.key.node_id().as_bytes(),
            min_version: PROTOCOL_VERSION,
            max_version: PROTOCOL_VERSION,
        };
        self.send(conn, &challenge);
    }

    /// A frame from `conn`. Errors are answered on the connection (and fatal ones close it); the
    /// returned error is for the caller's logs.
    pub fn handle_frame(
        &mut self,
        conn: ConnId,
        bytes: &[u8],
        now: Millis,
    ) -> Result<(), ProtoError> {
        self.stats.frames_in += 1;
        let result = self.dispatch(conn, bytes, now);
        if let Err(err) = &result {
            self.stats.errors += 1;
            self.send(conn, &RelayMsg::error(err));
            if err.is_fatal() {
                self.out.push_back(Output::Close(conn));
                self.handle_disconnect(conn, now);
            }
        }
        result
    }

    /// The connection is gone (closed by either side, or dropped as a slow consumer).
    pub fn handle_disconnect(&mut self, conn: ConnId, now: Millis) {
        let Some(c) = self.conns.remove(&conn) else {
            return;
        };
        let ConnState::Ready { node } = c.state else {
            return;
        };
        if self.peers.get(&node).is_some_and(|p| p.conn == conn) {
            self.remove_peer(node, now);
        }
    }

    /// Reports that `conn`'s outgoing queue is full: it is told why and closed.
    pub fn handle_slow_consumer(&mut self, conn: ConnId, now: Millis) {
        self.out.push_back(Output::Close(conn));
        self.handle_disconnect(conn, now);
    }

    /// Expires handshakes, assignments and tasks whose time has come.
    pub fn handle_timeout(&mut self, now: Millis) {
        let late: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| matches!(c.state, ConnState::AwaitHello { deadline, .. } if deadline <= now))
            .map(|(&id, _)| id)
            .collect();
        for conn in late {
            self.send(conn, &RelayMsg::error(&ProtoError::HandshakeTimeout));
            self.out.push_back(Output::Close(conn));
            self.conns.remove(&conn);
        }

        let ids = self.open_task_ids();
        for id in ids {
            let Some(task) = self.tasks.get_mut(&id) else {
                continue;
            };
            if task.expires <= now {
                let submitter = task.submitter;
                let err = ProtoError::TaskExpired(format!(
                    "{} of {} results by the deadline",
                    task.work
                        .iter()
                        .filter(|w| w.state == WorkState::Returned)
                        .count(),
                    task.spec.redundancy
                ));
                self.fail_task(id, &err);
                let failed = RelayMsg::TaskFailed {
                    task: id,
                    code: edgenet_core::ErrorCode::code(&err).into(),
                    message: err.to_string(),
                };
                self.send_to(&submitter, &failed);
                continue;
            }
            let mut lost = Vec::new();
            for w in task
                .work
                .iter_mut()
                .filter(|w| w.state == WorkState::Assigned && w.deadline <= now)
            {
                w.state = WorkState::Lost;
                lost.push(w.worker);
            }
            let round_due = task.needs_workers() && task.next_round <= now;
            for worker in &lost {
                if let Some(p) = self.peers.get_mut(worker) {
                    p.jobs = p.jobs.saturating_sub(1);
                }
            }
            self.stats.reassignments += lost.len() as u64;
            if !lost.is_empty() || round_due {
                self.offer(id, now);
            }
        }
        self.pay_uptime(now);
        self.refund_stray_escrows(now);
    }

    /// The earliest time [`Hub::handle_timeout`] has work to do.
    pub fn poll_timeout(&self) -> Option<Millis> {
        let handshakes = self.conns.values().filter_map(|c| match c.state {
            ConnState::AwaitHello { deadline, .. } => Some(deadline),
            ConnState::Ready { .. } => None,
        });
        let tasks = self
            .tasks
            .values()
            .filter(|t| t.status == TaskStatus::Open)
            .flat_map(|t| {
                let round = t.needs_workers().then_some(t.next_round);
                std::iter::once(t.expires).chain(round).chain(
                    t.work
                        .iter()
                        .filter(|w| w.state == WorkState::Assigned)
                        .map(|w| w.deadline),
                )
            });
        handshakes
            .chain(tasks)
            .chain(self.next_uptime())
            .chain(self.next_stray_escrow())
            .min()
    }

    /// The next thing to do.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// Counters.
    pub fn stats(&self) -> HubStats {
        HubStats {
            connections: self.conns.len(),
            peers: self.peers.len(),
            open_tasks: self
                .tasks
                .values()
                .filter(|t| t.status == TaskStatus::Open)
                .count(),
            ..self.stats.clone()
        }
    }

    /// Peers online, for the API.
    pub fn peers(&self, now: Millis) -> Vec<PeerSummary> {
        let mut peers: Vec<PeerSummary> = self
            .peers
            .iter()
            .map(|(id, p)| PeerSummary {
                node_id: id.to_string(),
                role: p.info.role,
                cores: p.info.capabilities.cores,
                memory_mib: p.info.capabilities.memory_mib,
                gpu: p.info.capabilities.gpu.clone(),
                kernels: p
                    .info
                    .capabilities
                    .kernels
                    .iter()
                    .map(|k| k.name())
                    .collect(),
                backends: p.info.capabilities.backends.clone(),
                connected_ms: now.saturating_sub(p.since),
                results: p.results,
            })
            .collect();
        peers.sort_by(|a, b| a.node_id.cmp(&b.node_id));
        peers
    }

    /// Open and recently finished tasks, newest first, for the API.
    pub fn tasks(&self, now: Millis) -> Vec<TaskSummary> {
        let mut tasks: Vec<(Millis, TaskSummary)> = self
            .tasks
            .iter()
            .map(|(id, t)| {
                let summary = TaskSummary {
                    id: id.to_string(),
                    kind: t.spec.kind.name(),
                    submitter: t.submitter.to_string(),
                    redundancy: t.spec.redundancy,
                    status: match t.status {
                        TaskStatus::Open => "open",
                        TaskStatus::Verified => "verified",
                        TaskStatus::Failed => "failed",
                    },
                    work: t
                        .work
                        .iter()
                        .map(|w| WorkSummary {
                            worker: w.worker.to_string(),
                            state: match w.state {
                                WorkState::Assigned => "assigned",
                                WorkState::Returned => "returned",
                                WorkState::Lost => "lost",
                            },
                        })
                        .collect(),
                    agreeing: t.agreeing.iter().map(ToString::to_string).collect(),
                    outvoted: t.outvoted.iter().map(ToString::to_string).collect(),
                    failure: t.failure.clone(),
                    age_ms: now.saturating_sub(t.created),
                };
                (t.created, summary)
            })
            .collect();
        tasks.sort_by_key(|t| std::cmp::Reverse(t.0));
        tasks.into_iter().map(|(_, s)| s).collect()
    }

    fn dispatch(&mut self, conn: ConnId, bytes: &[u8], now: Millis) -> Result<(), ProtoError> {
        let limit = self.config.max_messages_per_minute;
        let c = self
            .conns
            .get_mut(&conn)
            .ok_or_else(|| ProtoError::Unexpected("unknown connection".into()))?;
        if now.saturating_sub(c.window_start) >= 60_000 {
            c.window_start = now;
            c.window_count = 0;
        }
        c.window_count += 1;
        if c.window_count > limit {
            return Err(ProtoError::RateLimited { limit });
        }
        let msg = ClientMsg::decode(bytes)?;
        match (&c.state, msg) {
            (ConnState::AwaitHello { nonce, .. }, ClientMsg::Hello { body, signature }) => {
                let nonce = *nonce;
                self.handle_hello(conn, nonce, body, &signature, now)
            }
            (ConnState::AwaitHello { .. }, other) => Err(ProtoError::Unexpected(format!(
                "{} before the handshake; send Hello first",
                name(&other)
            ))),
            (ConnState::Ready { .. }, ClientMsg::Hello { .. }) => {
                Err(ProtoError::Unexpected("a second Hello".into()))
            }
            (ConnState::Ready { node }, msg) => {
                let node = *node;
                self.handle_message(node, msg, now)
            }
        }
    }

    fn handle_hello(
        &mut self,
        conn: ConnId,
        nonce: [u8; 32],
        body: crate::message::HelloBody,
        signature: &[u8],
        now: Millis,
    ) -> Result<(), ProtoError> {
        if body.version != PROTOCOL_VERSION {
            return Err(ProtoError::BadHandshake(format!(
                "protocol version {} is not supported; this relay speaks {PROTOCOL_VERSION}",
                body.version
            )));
        }
        let node = NodeId::from_bytes(&body.peer.node)
            .map_err(|e| ProtoError::BadHandshake(e.to_string()))?;
        let exchange = SignedExchangeKey::decode(&body.peer.exchange_key)
            .map_err(|e| ProtoError::BadHandshake(format!("exchange key: {e}")))?;
        if exchange.node_id() != node {
            return Err(ProtoError::BadHandshake(
                "exchange key belongs to another node".into(),
            ));
        }
        let signature = Signature::from_slice(signature)
            .map_err(|e| ProtoError::BadHandshake(e.to_string()))?;
        let transcript = hello_transcript(&nonce, self.key.node_id().as_bytes(), &body)?;
        node.verify(&transcript, &signature).map_err(|_| {
            ProtoError::BadHandshake("signature does not match this connection's challenge".into())
        })?;

        // A node that reconnects before its old socket was noticed dead replaces it.
        if let Some(old) = self.peers.get(&node).map(|p| p.conn) {
            self.out.push_back(Output::Close(old));
            self.handle_disconnect(old, now);
        }
        if let Some(c) = self.conns.get_mut(&conn) {
            c.state = ConnState::Ready { node };
        }
        let info = body.peer;
        // Peer lists are a bounded sample (natives first): the relay routes tasks itself, so lists
        // only inform, and full lists would cost O(n²) frames as a network grows.
        let mut sample: Vec<&Peer> = self.peers.values().collect();
        sample.sort_by_key(|p| (p.info.role != Role::Native, p.since));
        let limit = self.config.max_peers_announced.min(MAX_LIST);
        let peers: Vec<PeerInfo> = sample
            .into_iter()
            .take(limit)
            .map(|p| p.info.clone())
            .collect();
        self.send(conn, &RelayMsg::Welcome { peers });
        let joined = RelayMsg::PeerJoined(info.clone());
        let others = self.announce_to();
        for other in others {
            self.send(other, &joined);
        }
        self.peers.insert(
            node,
            Peer {
                conn,
                info,
                since: now,
                unpaid_since: now,
                results: 0,
                jobs: 0,
            },
        );
        self.maybe_canary(node, now);
        // Offer the new peer whatever is waiting for workers.
        let waiting: Vec<TaskId> = self
            .tasks
            .iter()
            .filter(|(_, t)| t.needs_workers())
            .map(|(&id, _)| id)
            .collect();
        for id in waiting {
            self.offer_to(id, node);
        }
        Ok(())
    }

    fn handle_message(
        &mut self,
        node: NodeId,
        msg: ClientMsg,
        now: Millis,
    ) -> Result<(), ProtoError> {
        match msg {
            ClientMsg::Hello { .. } => Err(ProtoError::Unexpected("a second Hello".into())),
            ClientMsg::Ledger(sync) => self.handle_ledger(node, sync, now),
            ClientMsg::Submit(spec) => {
                // A refusal is about that task, so it is answered as the task's failure: a node
                // with several submissions open learns which one was refused.
                let task = spec.id;
                let submitted = self.handle_submit(node, spec, now);
                if submitted.is_ok() {
                    self.escrow_claimed(&node, &task);
                }
                if let Err(err) = submitted {
                    self.stats.errors += 1;
                    self.send_to(
                        &node,
                        &RelayMsg::TaskFailed {
                            task,
                            code: edgenet_core::ErrorCode::code(&err).into(),
                            message: err.to_string(),
                        },
                    );
                }
                Ok(())
            }
            ClientMsg::Claim { task } => {
                self.handle_claim(node, task, now);
                Ok(())
            }
            ClientMsg::Payload {
                task,
                worker,
                envelope,
            } => {
                let t = self
                    .tasks
                    .get(&task)
                    .ok_or_else(|| ProtoError::UnknownTask(task.to_string()))?;
                if t.submitter != node {
                    return Err(ProtoError::NotAllowed(
                        "only the submitter sends payloads".into(),
                    ));
                }
                // Matched by bytes against the task's already-validated workers: this is the
                // relay's hottest path, and building a NodeId would decompress a curve point.
                let Some(worker) = t
                    .work
                    .iter()
                    .find(|w| w.worker.as_bytes() == &worker && w.state == WorkState::Assigned)
                    .map(|w| w.worker)
                else {
                    return Err(ProtoError::NotAllowed(
                        "that worker is not assigned to this task".into(),
                    ));
                };
                self.send_to(
                    &worker,
                    &RelayMsg::Payload {
                        task,
                        submitter: *node.as_bytes(),
                        envelope,
                    },
                );
                Ok(())
            }
            ClientMsg::Result {
                task,
                envelope,
                commitment,
                signature,
            } => {
                let t = self
                    .tasks
                    .get_mut(&task)
                    .ok_or_else(|| ProtoError::UnknownTask(task.to_string()))?;
                let sig = Signature::from_slice(&signature)
                    .map_err(|e| ProtoError::NotAllowed(e.to_string()))?;
                node.verify(
                    &edgenet_core::task::result_signing_message(&task, &commitment),
                    &sig,
                )
                .map_err(|_| ProtoError::NotAllowed("result signature does not verify".into()))?;
                let work = t.work_mut(&node, WorkState::Assigned).ok_or_else(|| {
                    ProtoError::NotAllowed("not assigned to this task (or already returned)".into())
                })?;
                work.state = WorkState::Returned;
                work.work_ms = now.saturating_sub(work.assigned_at);
                work.commitment = Some((commitment, signature.clone()));
                let submitter = t.submitter;
                if let Some(p) = self.peers.get_mut(&node) {
                    p.results += 1;
                    p.jobs = p.jobs.saturating_sub(1);
                }
                if submitter == self.key.node_id() {
                    self.check_canary(task, node, &envelope, &commitment, &signature);
                    return Ok(());
                }
                self.send_to(
                    &submitter,
                    &RelayMsg::Result {
                        task,
                        worker: *node.as_bytes(),
                        envelope,
                        commitment,
                        signature,
                    },
                );
                Ok(())
            }
            ClientMsg::Verdict {
                task,
                agreeing,
                outvoted,
            } => {
                let t = self
                    .tasks
                    .get_mut(&task)
                    .ok_or_else(|| ProtoError::UnknownTask(task.to_string()))?;
                if t.submitter != node || t.status != TaskStatus::Open {
                    return Err(ProtoError::NotAllowed(
                        "only the submitter of an open task gives its verdict".into(),
                    ));
                }
                let returned: Vec<NodeId> = t
                    .work
                    .iter()
                    .filter(|w| w.state == WorkState::Returned)
                    .map(|w| w.worker)
                    .collect();
                let parse = |keys: &[NodeKey]| -> Result<Vec<NodeId>, ProtoError> {
                    keys.iter()
                        .map(|k| {
                            NodeId::from_bytes(k)
                                .ok()
                                .filter(|id| returned.contains(id))
                                .ok_or_else(|| {
                                    ProtoError::NotAllowed(
                                        "verdict names a worker that returned no result".into(),
                                    )
                                })
                        })
                        .collect()
                };
                t.agreeing = parse(&agreeing)?;
                t.outvoted = parse(&outvoted)?;
                t.status = TaskStatus::Verified;
                self.stats.tasks_verified += 1;
                let verdict = RelayMsg::Verdict {
                    task,
                    agreeing,
                    outvoted,
                };
                for worker in returned {
                    self.send_to(&worker, &verdict);
                }
                self.settle(task);
                self.retire(task);
                Ok(())
            }
        }
    }

    fn handle_submit(
        &mut self,
        node: NodeId,
        spec: TaskSpec,
        now: Millis,
    ) -> Result<(), ProtoError> {
        if spec.redundancy == 0 || spec.redundancy > self.config.max_redundancy {
            return Err(ProtoError::InvalidTask(format!(
                "redundancy {} not in 1..={}",
                spec.redundancy, self.config.max_redundancy
            )));
        }
        if spec.timeout_ms == 0 || spec.timeout_ms > self.config.max_task_timeout_ms {
            return Err(ProtoError::InvalidTask(format!(
                "timeout {} ms not in 1..={}",
                spec.timeout_ms, self.config.max_task_timeout_ms
            )));
        }
        if self.tasks.contains_key(&spec.id) {
            return Err(ProtoError::DuplicateTask(spec.id.to_string()));
        }
        self.check_escrow(&node, &spec)?;
        let open = self
            .tasks
            .values()
            .filter(|t| t.submitter == node && t.status == TaskStatus::Open)
            .count();
        if open >= self.config.max_open_tasks_per_submitter {
            return Err(ProtoError::InvalidTask(format!(
                "{open} tasks already open; wait for some to finish"
            )));
        }
        let id = spec.id;
        let expires = now + Millis::from(spec.timeout_ms);
        self.tasks.insert(
            id,
            Task {
                spec,
                submitter: node,
                created: now,
                expires,
                work: Vec::new(),
                status: TaskStatus::Open,
                agreeing: Vec::new(),
                outvoted: Vec::new(),
                failure: None,
                offered: Vec::new(),
                next_round: now,
            },
        );
        self.send_to(&node, &RelayMsg::Accepted { task: id });
        self.offer(id, now);
        Ok(())
    }

    fn handle_claim(&mut self, node: NodeId, id: TaskId, now: Millis) {
        if self.canaries.contains_key(&id) {
            self.assign_canary(id, node, now);
            return;
        }
        let deadline = now + self.config.assignment_timeout_ms;
        let Some(task) = self.tasks.get_mut(&id) else {
            return;
        };
        // Stale or surplus claims are normal (offers go to many peers); they are ignored.
        if !task.needs_workers()
            || task.has_had(&node)
            || task.submitter == node
            || !self.peers.contains_key(&node)
            || !self.peers.contains_key(&task.submitter)
        {
            return;
        }
        task.work.push(Work::assigned(node, now, deadline));
        if let Some(p) = self.peers.get_mut(&node) {
            p.jobs += 1;
        }
        let Some(task) = self.tasks.get(&id) else {
            return;
        };
        let (Some(worker), Some(submitter)) =
            (self.peers.get(&node), self.peers.get(&task.submitter))
        else {
            return;
        };
        let assignment = RelayMsg::Assignment {
            task: id,
            kind: task.spec.kind,
            submitter: submitter.info.clone(),
            deadline_ms: u32::try_from(self.config.assignment_timeout_ms).unwrap_or(u32::MAX),
        };
        let assigned = RelayMsg::Assigned {
            task: id,
            worker: worker.info.clone(),
        };
        let submitter = task.submitter;
        self.send_to(&node, &assignment);
        self.send_to(&submitter, &assigned);
    }

    /// One round of offers: up to `offers_per_round` capable peers not yet asked in this sweep,
    /// least loaded first. Offering to everyone would cost O(peers) frames per task.
    fn offer(&mut self, id: TaskId, now: Millis) {
        let round = self.config.offers_per_round;
        let next = now + self.config.offer_round_ms;
        let Some(task) = self.tasks.get_mut(&id) else {
            return;
        };
        task.next_round = next;
        if !task.needs_workers() {
            return;
        }
        // A canary is offered to the one worker it was made for, round after round.
        if let Some(worker) = self.canaries.get(&id).map(|c| c.worker) {
            let kind = task.spec.kind;
            let submitter = *self.key.node_id().as_bytes();
            self.send_to(
                &worker,
                &RelayMsg::Offer {
                    task: id,
                    kind,
                    submitter,
                },
            );
            return;
        }
        let mut candidates: Vec<(u32, Millis, NodeId)> = self
            .peers
            .iter()
            .filter(|(n, p)| {
                **n != task.submitter
                    && !task.has_had(n)
                    && !task.offered.contains(n)
                    && p.info.capabilities.kernels.contains(&task.spec.kind)
            })
            .map(|(n, p)| (p.jobs, p.since, *n))
            .collect();
        if candidates.is_empty() {
            // Everyone capable was asked: the next round starts a new sweep (busy peers may be
            // free by then).
            task.offered.clear();
            return;
        }
        candidates.sort_unstable_by_key(|&(jobs, since, _)| (jobs, since));
        candidates.truncate(round);
        for (_, _, node) in candidates {
            self.offer_to(id, node);
        }
    }

    fn offer_to(&mut self, id: TaskId, node: NodeId) {
        let Some(task) = self.tasks.get(&id) else {
            return;
        };
        let Some(peer) = self.peers.get(&node) else {
            return;
        };
        if !task.needs_workers()
            || task.submitter == node
            || task.has_had(&node)
            || !peer.info.capabilities.kernels.contains(&task.spec.kind)
        {
            return;
        }
        let offer = RelayMsg::Offer {
            task: id,
            kind: task.spec.kind,
            submitter: *task.submitter.as_bytes(),
        };
        let conn = peer.conn;
        if let Some(task) = self.tasks.get_mut(&id) {
            task.offered.push(node);
        }
        self.send(conn, &offer);
    }

    fn remove_peer(&mut self, node: NodeId, now: Millis) {
        self.peers.remove(&node);
        self.withdraw_canaries(&node);
        let left = RelayMsg::PeerLeft {
            node: *node.as_bytes(),
        };
        let others = self.announce_to();
        for other in others {
            self.send(other, &left);
        }
        let ids = self.open_task_ids();
        for id in ids {
            let Some(task) = self.tasks.get_mut(&id) else {
                continue;
            };
            if task.submitter == node {
                self.fail_task(
                    id,
                    &ProtoError::NotAllowed("the submitter disconnected".into()),
                );
                continue;
            }
            if let Some(work) = task.work_mut(&node, WorkState::Assigned) {
                work.state = WorkState::Lost;
                self.stats.reassignments += 1;
                self.offer(id, now);
            }
        }
    }

    fn open_task_ids(&self) -> Vec<TaskId> {
        self.tasks
            .iter()
            .filter(|(_, t)| t.status == TaskStatus::Open)
            .map(|(&id, _)| id)
            .collect()
    }

    /// The peers that hear about joins and leaves: at most `max_peers_announced` of them.
    fn announce_to(&self) -> Vec<ConnId> {
        self.peers
            .values()
            .take(self.config.max_peers_announced)
            .map(|p| p.conn)
            .collect()
    }

    fn fail_task(&mut self, id: TaskId, err: &ProtoError) {
        self.refund(id);
        self.canaries.remove(&id);
        if let Some(task) = self.tasks.get_mut(&id) {
            task.status = TaskStatus::Failed;
            task.failure = Some(format!("{}: {err}", edgenet_core::ErrorCode::code(err)));
            self.stats.tasks_failed += 1;
            self.retire(id);
        }
    }

    /// Keeps a finished task for the API until the history is full.
    fn retire(&mut self, id: TaskId) {
        // Assignments still outstanding when a task ends no longer load their workers.
        if let Some(task) = self.tasks.get_mut(&id) {
            for w in task
                .work
                .iter_mut()
                .filter(|w| w.state == WorkState::Assigned)
            {
                w.state = WorkState::Lost;
                if let Some(p) = self.peers.get_mut(&w.worker) {
                    p.jobs = p.jobs.saturating_sub(1);
                }
            }
        }
        self.finished.push_back(id);
        while self.finished.len() > self.config.finished_history {
            if let Some(old) = self.finished.pop_front() {
                self.tasks.remove(&old);
            }
        }
    }

    fn send_to(&mut self, node: &NodeId, msg: &RelayMsg) {
        if let Some(conn) = self.peers.get(node).map(|p| p.conn) {
            self.send(conn, msg);
        }
    }

    fn send(&mut self, conn: ConnId, msg: &RelayMsg) {
        // Relay messages are built from checked parts and always encode; a failure would be a bug,
        // reported to the peer rather than panicking the relay.
        let frame = msg.encode().or_else(|e| RelayMsg::error(&e).encode());
        if let Ok(frame) = frame {
            self.stats.frames_out += 1;
            self.out.push_back(Output::Send(conn, frame));
        }
    }
}

fn name(msg: &ClientMsg) -> &'static str {
    match msg {
        ClientMsg::Hello { .. } => "Hello",
        ClientMsg::Submit(_) => "Submit",
        ClientMsg::Claim { .. } => "Claim",
        ClientMsg::Payload { .. } => "Payload",
        ClientMsg::Result { .. } => "Result",
        ClientMsg::Verdict { .. } => "Verdict",
        ClientMsg::Ledger(_) => "Ledger",
    }
}
