//! The peers the protocol tests put on the in-memory network (`edgenet_sim::Network`): a native
//! node's session with an optional worker ([`SessionPeer`]) and a page's or node's endpoint
//! ([`EndpointPeer`]). Each acts on what it receives the way its test asks ([`Behaviour`]) and
//! keeps what it received for the test to read.
#![allow(dead_code)] // each test file uses its part

use edgenet_core::ErrorCode;
use edgenet_core::SecretKey;
use edgenet_core::kinds::encryption::Encryption;
use edgenet_core::kinds::vector_search::VectorSearch;
use edgenet_core::task::TaskKind;
use edgenet_proto::client::ClientSession;
use edgenet_proto::endpoint::{Endpoint, Event};
use edgenet_proto::message::{Capabilities, ClientMsg, RelayMsg, Role};
use edgenet_proto::submit::{Progress, Submission};
use edgenet_proto::worker::{Action, Worker};
use edgenet_sim::{Context, Peer};

use super::reference_knn;

/// How a simulated worker answers the tasks it is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Behaviour {
    /// The reference result.
    Honest,
    /// A wrong result that still decodes.
    Liar,
    /// Claims tasks and never answers.
    Silent,
    /// Advertises its kinds, never claims, never answers anything.
    Idle,
    /// Runs its tasks honestly, never answers a proof-of-work challenge.
    Unproven,
    /// Honest for its first `n` results (its first canary among them), wrong after.
    LiesAfter(u32),
}

impl Behaviour {
    /// Whether its next result is wrong, with `done` results returned so far.
    fn lies(self, done: u32) -> bool {
        match self {
            Behaviour::Liar => true,
            Behaviour::LiesAfter(n) => done >= n,
            _ => false,
        }
    }
}

/// The right answer to a task the tests hand out, or the liar's.
fn answer(kind: TaskKind, payload: &[u8], liar: bool) -> Option<Vec<u8>> {
    if kind == TaskKind::ENCRYPTION {
        let mut result = Encryption::decode(payload).ok()?.run();
        if liar {
            result[0] ^= 1;
        }
        return Some(result);
    }
    let mut result = reference_knn(&VectorSearch::decode(payload).ok()?);
    if liar {
        result.hits[0][0].score += 10.0;
    }
    Some(result.encode())
}

/// A native node's session: optionally a worker, optionally a submission it drives itself.
pub(crate) struct SessionPeer {
    pub(crate) session: ClientSession,
    /// Runs the kinds it lists (`None`: a node that only submits or listens).
    pub(crate) worker: Option<Worker>,
    pub(crate) behaviour: Behaviour,
    /// Answers the relay's proof-of-work challenges.
    pub(crate) solves_work: bool,
    /// Everything it received (and an EN-coded error for each frame its session refused).
    pub(crate) inbox: Vec<RelayMsg>,
    /// Whether it keeps [`SessionPeer::inbox`] (the thousands of peers of a scale test do not).
    pub(crate) keeps_inbox: bool,
    /// Its open submission, driven as messages arrive.
    pub(crate) submission: Option<Submission>,
    /// How that submission ended, once it did.
    pub(crate) ended: Option<Progress>,
    /// Whether its relay closed the connection.
    pub(crate) closed: bool,
    /// Results it returned.
    pub(crate) results: u32,
}

impl SessionPeer {
    /// A node of identity `key` at the relay `relay`, with `caps`: a worker of `caps.kernels`
    /// when it lists any.
    pub(crate) fn new(key: SecretKey, caps: Capabilities, relay: edgenet_core::NodeId) -> Self {
        let kernels = caps.kernels.clone();
        Self {
            session: ClientSession::new(key, Role::Native, caps, Some(relay)),
            worker: (!kernels.is_empty()).then(|| Worker::new(kernels, 4)),
            behaviour: Behaviour::Honest,
            solves_work: true,
            inbox: Vec::new(),
            keeps_inbox: true,
            submission: None,
            ended: None,
            closed: false,
            results: 0,
        }
    }

    /// Answers as `behaviour` says.
    pub(crate) fn behaving(mut self, behaviour: Behaviour) -> Self {
        self.behaviour = behaviour;
        self
    }

    /// Sends `msg` at the next step.
    pub(crate) fn send(&mut self, msg: &ClientMsg) {
        let _ = self.session.send(msg);
    }

    /// Starts driving `sub`: its submit message goes at the next step.
    pub(crate) fn submit(&mut self, sub: Submission) {
        let msg = sub.submit_message();
        self.send(&msg);
        self.submission = Some(sub);
        self.ended = None;
    }

    fn act(&mut self, ev: RelayMsg, cx: &mut Context<'_>) {
        let key = self.session.key().clone();
        if self.behaviour != Behaviour::Idle {
            if let RelayMsg::WorkWanted { challenge, bits } = ev
                && self.solves_work
                && self.behaviour != Behaviour::Unproven
            {
                let nonce = edgenet_core::work::solve(challenge, bits);
                self.send(&ClientMsg::WorkProof { challenge, nonce });
            }
            if let (Some(sub), None) = (self.submission.as_mut(), self.ended.as_ref())
                && let Ok((progress, replies)) = sub.handle(&ev, &key, cx.rng)
            {
                let replies = sub.with_evidence(replies);
                for r in replies {
                    let _ = self.session.send(&r);
                }
                if matches!(progress, Progress::Done(_) | Progress::Failed(_)) {
                    self.ended = Some(progress);
                }
            }
            if let Some(worker) = self.worker.as_mut() {
                match worker.handle(ev.clone(), &key) {
                    Ok(Action::Send(m)) => {
                        let _ = self.session.send(&m);
                    }
                    Ok(Action::Execute { job, payload }) => {
                        let skip = self.behaviour == Behaviour::Silent;
                        let lies = self.behaviour.lies(self.results);
                        if let Some(result) = answer(job.kind, &payload, lies)
                            && !skip
                            && let Ok(msg) = worker.finish(cx.rng, &key, &job, &result)
                        {
                            self.results += 1;
                            let _ = self.session.send(&msg);
                        }
                    }
                    _ => {}
                }
            }
        }
        if self.keeps_inbox {
            self.inbox.push(ev);
        }
    }
}

impl Peer for SessionPeer {
    fn receive(&mut self, frame: &[u8], cx: &mut Context<'_>) {
        if let Err(e) = self.session.handle_frame(frame) {
            self.inbox.push(RelayMsg::Error {
                code: e.code().into(),
                message: e.to_string(),
            });
        }
        while let Some(ev) = self.session.poll_event() {
            self.act(ev, cx);
        }
    }

    fn poll_transmit(&mut self, _cx: &mut Context<'_>) -> Option<Vec<u8>> {
        self.session.poll_outgoing()
    }

    fn closed(&mut self, _cx: &mut Context<'_>) {
        self.closed = true;
    }
}

/// A page's or node's endpoint: contributing ones run what they are given.
pub(crate) struct EndpointPeer {
    pub(crate) endpoint: Endpoint,
    pub(crate) behaviour: Behaviour,
    /// Every event it raised, in order.
    pub(crate) events: Vec<Event>,
}

impl EndpointPeer {
    pub(crate) fn new(endpoint: Endpoint, behaviour: Behaviour) -> Self {
        Self {
            endpoint,
            behaviour,
            events: Vec::new(),
        }
    }

    /// Acts on the events its endpoint raised since last asked.
    fn act(&mut self, cx: &mut Context<'_>) {
        while let Some(event) = self.endpoint.poll_event() {
            if let Event::WorkWanted { challenge, bits } = event
                && self.behaviour != Behaviour::Unproven
            {
                let nonce = edgenet_core::work::solve(challenge, bits);
                let _ = self.endpoint.prove(challenge, nonce);
            }
            if let Event::Execute {
                task,
                kind,
                payload,
            } = &event
                && let Some(result) = answer(*kind, payload, self.behaviour.lies(0))
            {
                let _ = self.endpoint.finish(task, &result, cx.rng);
            }
            self.events.push(event);
        }
    }
}

impl Peer for EndpointPeer {
    fn receive(&mut self, frame: &[u8], cx: &mut Context<'_>) {
        let _ = self.endpoint.handle_frame(frame, cx.rng);
        self.act(cx);
    }

    fn poll_transmit(&mut self, cx: &mut Context<'_>) -> Option<Vec<u8>> {
        // What a test's own calls raised (a timeout, a detach) is acted on here.
        self.act(cx);
        self.endpoint.poll_outgoing()
    }
}
