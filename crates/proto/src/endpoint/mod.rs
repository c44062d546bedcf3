//! A node's whole protocol over one connection: the handshake, contributing as a worker, and its
//! own submissions, as one sans-IO state machine with events out.
//!
//! The browser's coordinator Worker drives one of these through the wasm adapter: it feeds frames
//! from its WebSocket to [`Endpoint::handle_frame`], sends what [`Endpoint::poll_outgoing`] returns,
//! runs the [`Event::Execute`] jobs on its compute Workers and hands results back to
//! [`Endpoint::finish`]. The routing below (which relay message goes to the worker, which to a
//! submission) is protocol logic and so lives here, not in the adapter.

use std::collections::{HashMap, VecDeque};

use crate::Millis;

use edgenet_core::ledger::sync::SyncMessage;
use edgenet_core::ledger::{Entry, EntryKind};
use edgenet_core::task::{TaskId, TaskKind};
use edgenet_core::{NodeId, SecretKey};
use rand_core::CryptoRng;

use crate::chain::{ChainEvent, ChainWriter, WriteId};
use crate::client::{ClientSession, ClientState};
use crate::error::ProtoError;
use crate::message::{Capabilities, ClientMsg, RelayMsg, Role, ShardTarget, TaskSpec};
use crate::submit::{Progress, Submission};
use crate::worker::{Action, Job, Worker};

mod detached;
mod event;

pub use detached::Detached;

pub use event::Event;
use event::{progress_of, submission_task};

/// How long a relay has to complete the handshake: past it, [`Endpoint::handle_timeout`] gives up
/// on the connection.
pub const HANDSHAKE_TIMEOUT_MS: Millis = 10_000;

/// How long past a task's own timeout its submitter waits for the relay's answer (which fails the
/// task at the timeout) before failing the submission itself: the backstop against a relay that
/// never answers. Every client uses this one value, the page's own backstop included.
pub const RESULT_BACKSTOP_MS: Millis = 5_000;

/// One open submission.
struct Open {
    kind: TaskKind,
    submission: Submission,
    /// When it fails if the relay has not answered ([`RESULT_BACKSTOP_MS`]).
    backstop: Millis,
    /// Whether the task itself went out (a paid one waits for its escrow first).
    submitted: bool,
}

/// One connection's protocol state.
pub struct Endpoint {
    session: ClientSession,
    worker: Worker,
    contributing: bool,
    jobs: HashMap<TaskId, Job>,
    submissions: HashMap<TaskId, Open>,
    /// Until the handshake completes.
    handshake_deadline: Millis,
    /// Paid submissions wait here for their escrow entry before the task is submitted.
    chain: ChainWriter,
    escrows: HashMap<WriteId, TaskId>,
    /// Collection messages (a creation) waiting for their escrow (its deposit). A list: there
    /// is one at a time, and a map of its own would weigh on the page's module.
    after_escrow: Vec<(WriteId, Vec<u8>)>,
    events: VecDeque<Event>,
}

impl Endpoint {
    /// A fresh connection's endpoint, opened at `now`. `max_jobs` bounds the tasks it runs at once;
    /// it claims offers only while contributing.
    pub fn new(
        key: SecretKey,
        role: Role,
        capabilities: Capabilities,
        max_jobs: usize,
        contributing: bool,
        now: Millis,
    ) -> Self {
        let worker = Worker::new(capabilities.kernels.clone(), max_jobs);
        Self {
            chain: ChainWriter::new(key.clone()),
            session: ClientSession::new(key, role, capabilities, None),
            worker,
            contributing,
            jobs: HashMap::new(),
            submissions: HashMap::new(),
            handshake_deadline: now + HANDSHAKE_TIMEOUT_MS,
            escrows: HashMap::new(),
            after_escrow: Vec::new(),
            events: VecDeque::new(),
        }
    }

    /// Entries this node kept from earlier connections (its store): its own chain among them
    /// lets it write the next escrow without asking the relay for the whole chain.
    pub fn know_entries(&mut self, entries: Vec<Entry>) {
        self.chain.know(entries);
    }

    /// Whether the handshake completed.
    pub fn is_ready(&self) -> bool {
        self.session.state() == ClientState::Ready
    }

    /// This node's identity.
    pub fn node_id(&self) -> NodeId {
        self.session.key().node_id()
    }

    /// Starts or stops claiming new offers (jobs already assigned still run or are abandoned).
    pub fn set_contributing(&mut self, contributing: bool) {
        self.contributing = contributing;
    }

    /// Tasks assigned to this node and not yet finished.
    pub fn jobs(&self) -> usize {
        self.worker.jobs()
    }

    /// Submissions not yet finished.
    pub fn open_submissions(&self) -> usize {
        self.submissions.len()
    }

    /// Submits a task; the payload goes sealed to each worker once assigned. A paid task
    /// (`max_credits` > 0) first escrows that much from this node's account (a new entry of its
    /// chain); if the escrow is refused, the task fails without being submitted. Submitted at
    /// `now`, it fails on its own after its timeout and [`RESULT_BACKSTOP_MS`].
    pub fn submit(
        &mut self,
        spec: TaskSpec,
        payload: Vec<u8>,
        now: Millis,
    ) -> Result<TaskId, ProtoError> {
        self.submit_submission(Submission::new(spec, payload), now)
    }

    /// Submits a task on a collection's shard, as [`Endpoint::submit`] does (`spec.redundancy`
    /// 0: every live replica, as the relay answers). It is not carried to another relay by
    /// [`Endpoint::detach`]: the shard's placement lives at this one.
    pub fn submit_shard(
        &mut self,
        spec: TaskSpec,
        target: ShardTarget,
        payload: Vec<u8>,
        now: Millis,
    ) -> Result<TaskId, ProtoError> {
        self.submit_submission(Submission::on_shard(spec, target, payload), now)
    }

    /// Escrows `amount` from this node's account for `task`, then sends the collection message
    /// `then` (a creation after its deposit, under `CollectionId::deposit_task`): the relay sees
    /// it only once it holds the escrow. A refused escrow sends nothing and comes back as
    /// [`Event::Failed`] for `task`.
    pub fn escrow_then(
        &mut self,
        task: TaskId,
        amount: u64,
        then: Vec<u8>,
    ) -> Result<(), ProtoError> {
        let write = self.chain.write(EntryKind::Escrow { task, amount });
        self.escrows.insert(write, task);
        self.after_escrow.push((write, then));
        self.drain_chain()
    }

    /// This node's identity (a holder seals shard copies with it).
    pub fn key(&self) -> &SecretKey {
        self.session.key()
    }

    /// Sends a message as it is: a holder's shard reports and copies, an owner's collection.
    pub fn send(&mut self, msg: &ClientMsg) -> Result<(), ProtoError> {
        self.session.send(msg)
    }

    fn submit_submission(
        &mut self,
        submission: Submission,
        now: Millis,
    ) -> Result<TaskId, ProtoError> {
        let spec = submission.spec().clone();
        let id = spec.id;
        if !self.is_ready() {
            return Err(ProtoError::Unexpected(
                "cannot submit before the handshake completes".into(),
            ));
        }
        if self.submissions.contains_key(&id) {
            return Err(ProtoError::DuplicateTask(id.to_string()));
        }
        let (kind, amount) = (spec.kind, spec.max_credits);
        let backstop = now + Millis::from(spec.timeout_ms) + RESULT_BACKSTOP_MS;
        let submitted = amount == 0;
        if submitted {
            self.session.send(&submission.submit_message())?;
        } else {
            let write = self.chain.write(EntryKind::Escrow { task: id, amount });
            self.escrows.insert(write, id);
        }
        self.submissions.insert(
            id,
            Open {
                kind,
                submission,
                backstop,
                submitted,
            },
        );
        self.drain_chain()?;
        Ok(id)
    }

    /// Takes the submissions that went out and are not finished, for [`Endpoint::resume`] on
    /// the next connection; call it before [`Endpoint::handle_disconnect`], which fails the
    /// rest (a paid one whose escrow was not yet acknowledged may or may not exist, so it is
    /// not carried over).
    pub fn detach(&mut self, now: Millis) -> Vec<Detached> {
        let ids: Vec<TaskId> = self
            .submissions
            .iter()
            .filter(|(_, o)| o.submitted && o.submission.target().is_none())
            .map(|(id, _)| *id)
            .collect();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(open) = self.submissions.remove(&id) {
                let left_ms = open.backstop.saturating_sub(now);
                let (spec, payload) = open.submission.into_parts();
                out.push(Detached {
                    spec,
                    payload,
                    left_ms,
                });
            }
        }
        out.sort_unstable_by_key(Detached::id);
        out
    }

    /// Submits a detached submission again, as it was (its escrow, if paid, is already in the
    /// ledger), with what was left of its backstop. Workers assigned before are forgotten: the
    /// relay that picks the task up assigns it afresh.
    pub fn resume(&mut self, detached: Detached, now: Millis) -> Result<TaskId, ProtoError> {
        let id = detached.spec.id;
        if !self.is_ready() {
            return Err(ProtoError::Unexpected(
                "cannot resume before the handshake completes".into(),
            ));
        }
        if self.submissions.contains_key(&id) {
            return Err(ProtoError::DuplicateTask(id.to_string()));
        }
        let submission = Submission::new(detached.spec, detached.payload);
        self.session.send(&submission.submit_message())?;
        self.submissions.insert(
            id,
            Open {
                kind: submission.spec().kind,
                submission,
                backstop: now.saturating_add(detached.left_ms),
                submitted: true,
            },
        );
        Ok(id)
    }

    /// Sends what the chain writer has to send, and submits the tasks whose escrow is written.
    fn drain_chain(&mut self) -> Result<(), ProtoError> {
        while let Some(msg) = self.chain.poll_outgoing() {
            self.session.send(&msg)?;
        }
        while let Some(event) = self.chain.poll_event() {
            match event {
                ChainEvent::Written { id, entry } => {
                    self.events.push_back(Event::Ledger {
                        entries: vec![*entry],
                    });
                    let task = self.escrows.remove(&id);
                    if let Some(open) = task.and_then(|t| self.submissions.get_mut(&t)) {
                        self.session.send(&open.submission.submit_message())?;
                        open.submitted = true;
                    }
                    if let Some(i) = self.after_escrow.iter().position(|(w, _)| *w == id) {
                        let (_, then) = self.after_escrow.swap_remove(i);
                        self.session.send(&ClientMsg::Collection(then))?;
                    }
                }
                ChainEvent::Refused { id, error } => {
                    self.after_escrow.retain(|(w, _)| *w != id);
                    if let Some(task) = self.escrows.remove(&id) {
                        let open = self.submissions.remove(&task);
                        // The relay stores only escrows the balance covers: an overdraft is
                        // refused at the escrow, and reported as the submission's EN-220.
                        let error = match (error.reported_code(), open) {
                            ("EN-180", Some(open)) => ProtoError::InsufficientCredits(format!(
                                "the escrow of {} micro-credits for task {task} was refused: \
                                 the balance is lower (EN-180)",
                                open.submission.spec().max_credits
                            )),
                            _ => error,
                        };
                        self.events.push_back(Event::Failed { task, error });
                    }
                }
            }
        }
        Ok(())
    }

    /// Answers a [`Event::WorkWanted`] with the nonce found for its challenge.
    pub fn prove(&mut self, challenge: [u8; 32], nonce: u64) -> Result<(), ProtoError> {
        self.session
            .send(&crate::message::ClientMsg::WorkProof { challenge, nonce })
    }

    /// Handles one frame from the relay.
    pub fn handle_frame<R: CryptoRng + ?Sized>(
        &mut self,
        bytes: &[u8],
        rng: &mut R,
    ) -> Result<(), ProtoError> {
        self.session.handle_frame(bytes)?;
        while let Some(msg) = self.session.poll_event() {
            self.chain.handle(&msg);
            self.route(msg, rng)?;
            self.drain_chain()?;
        }
        Ok(())
    }

    fn route<R: CryptoRng + ?Sized>(
        &mut self,
        msg: RelayMsg,
        rng: &mut R,
    ) -> Result<(), ProtoError> {
        match &msg {
            RelayMsg::Welcome { peers } => {
                let relay = self
                    .session
                    .relay()
                    .ok_or_else(|| ProtoError::Unexpected("welcome without a challenge".into()))?;
                self.events.push_back(Event::Connected {
                    relay,
                    peers: peers.len(),
                });
                return Ok(());
            }
            RelayMsg::Offer { .. } if !self.contributing => return Ok(()),
            RelayMsg::Ledger(SyncMessage::Entries(entries)) => {
                self.events.push_back(Event::Ledger {
                    entries: entries.clone(),
                });
                return Ok(());
            }
            // Acks are the chain writer's (it saw the message first); this node keeps no replica
            // of others' chains to reconcile, so heads and wants are not for it.
            RelayMsg::Ledger(_) | RelayMsg::LedgerAck { .. } => return Ok(()),
            RelayMsg::WorkWanted { challenge, bits } => {
                self.events.push_back(Event::WorkWanted {
                    challenge: *challenge,
                    bits: *bits,
                });
                return Ok(());
            }
            RelayMsg::Collection(bytes) => {
                self.events.push_back(Event::Collection(bytes.clone()));
                return Ok(());
            }
            RelayMsg::Error { code, message } => {
                self.events.push_back(Event::RelayError {
                    code: code.clone(),
                    message: message.clone(),
                });
                return Ok(());
            }
            _ => {}
        }
        if let Some(task) = submission_task(&msg)
            && let Some(open) = self.submissions.get_mut(&task)
        {
            let kind = open.kind;
            let key = self.session.key().clone();
            let progress = open.submission.handle(&msg, &key, rng);
            let (progress, replies) = match progress {
                Ok(p) => p,
                Err(error) => (Progress::Failed(error), vec![]),
            };
            let replies = open.submission.with_evidence(replies);
            for reply in &replies {
                self.session.send(reply)?;
            }
            match progress {
                Progress::Accepted => self.events.push_back(Event::Accepted { task }),
                Progress::Done(outcome) => {
                    // The last result in, then the outcome.
                    self.events.push_back(progress_of(task, &open.submission));
                    self.submissions.remove(&task);
                    self.events.push_back(Event::Done {
                        task,
                        kind,
                        outcome,
                    });
                }
                Progress::Failed(error) => {
                    self.submissions.remove(&task);
                    self.events.push_back(Event::Failed { task, error });
                }
                Progress::Assigned(_) | Progress::ResultIn(_) => {
                    self.events.push_back(progress_of(task, &open.submission));
                }
                Progress::Unrelated => {}
            }
            return Ok(());
        }
        let key = self.session.key().clone();
        match self.worker.handle(msg, &key) {
            Ok(Action::Send(reply)) => self.session.send(&reply)?,
            Ok(Action::Execute { job, payload }) => {
                let (task, kind) = (job.task, job.kind);
                self.jobs.insert(task, job);
                self.events.push_back(Event::Execute {
                    task,
                    kind,
                    payload,
                });
            }
            Ok(Action::Verdict { task, agreed }) => {
                self.events.push_back(Event::Verdict { task, agreed });
            }
            Ok(Action::None) => {}
            // A payload that does not open is the submitter's problem: the assignment times out.
            Err(_) => {}
        }
        Ok(())
    }

    /// Seals, commits to and signs a job's result and queues it for the relay.
    pub fn finish<R: CryptoRng + ?Sized>(
        &mut self,
        task: &TaskId,
        result: &[u8],
        rng: &mut R,
    ) -> Result<(), ProtoError> {
        let job = self
            .jobs
            .remove(task)
            .ok_or_else(|| ProtoError::UnknownTask(task.to_string()))?;
        let key = self.session.key().clone();
        let msg = self.worker.finish(rng, &key, &job, result)?;
        self.session.send(&msg)
    }

    /// Gives up a job (its payload did not run); the relay reassigns it after its deadline.
    pub fn abandon(&mut self, task: &TaskId) {
        self.jobs.remove(task);
        self.worker.abandon(task);
    }

    /// The earliest time [`Endpoint::handle_timeout`] has work to do: the handshake's deadline
    /// until it completes, and each open submission's backstop.
    pub fn poll_timeout(&self) -> Option<Millis> {
        let handshake = (!self.is_ready()).then_some(self.handshake_deadline);
        let backstops = self.submissions.values().map(|o| o.backstop);
        handshake.into_iter().chain(backstops).min()
    }

    /// Expires what is due at `now`: a submission past its backstop fails (an [`Event::Failed`]
    /// with EN-212); a handshake past its deadline is an error that ends the connection.
    pub fn handle_timeout(&mut self, now: Millis) -> Result<(), ProtoError> {
        let mut late: Vec<TaskId> = self
            .submissions
            .iter()
            .filter(|(_, o)| o.backstop <= now)
            .map(|(id, _)| *id)
            .collect();
        late.sort_unstable();
        for task in late {
            self.submissions.remove(&task);
            self.escrows.retain(|_, t| *t != task);
            let error = ProtoError::TaskExpired(
                "no answer from the relay within the task's timeout".into(),
            );
            self.events.push_back(Event::Failed { task, error });
        }
        if !self.is_ready() && self.handshake_deadline <= now {
            return Err(ProtoError::HandshakeTimeout);
        }
        Ok(())
    }

    /// The next frame to send.
    pub fn poll_outgoing(&mut self) -> Option<Vec<u8>> {
        self.session.poll_outgoing()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The connection is gone: every open submission fails with [`ProtoError::ConnectionLost`]
    /// and every job is dropped. A new connection needs a new endpoint (the sealed payloads and the
    /// workers' keys of the old submissions died with this one; the relay reassigns the jobs).
    pub fn handle_disconnect(&mut self) {
        self.chain.handle_disconnect();
        self.escrows.clear();
        self.after_escrow.clear();
        for (task, _) in self.submissions.drain() {
            self.events.push_back(Event::Failed {
                task,
                error: ProtoError::ConnectionLost,
            });
        }
        self.jobs.clear();
        self.worker.reset();
    }
}
