//! An in-memory network driven by events: one hub, many clients, a virtual clock and seeded
//! randomness. Frames are delivered only to the connections they are for, so a step costs what
//! it moves, not the number of clients (what lets a test join 100,000). Every frame delivered
//! feeds a trace hash: the same seed and steps give the same hash.
#![allow(dead_code)] // each test file uses its part

use std::collections::{BTreeMap, BTreeSet};

use edgenet_core::SecretKey;
use edgenet_core::kinds::vector_search::VectorSearch;
use edgenet_core::task::TaskKind;
use edgenet_proto::Millis;
use edgenet_proto::client::ClientSession;
use edgenet_proto::hub::{ConnId, Hub, HubConfig, Input, Output};
use edgenet_proto::message::{Capabilities, Role};
use edgenet_proto::submit::{Progress, Submission};
use edgenet_proto::worker::{Action, Worker};
use rand_chacha::rand_core::SeedableRng;

use super::reference_knn;

/// A client: its session, and what it does with what arrives.
pub(crate) struct Client {
    pub(crate) session: ClientSession,
    /// Answers tasks honestly with the reference k-NN (`None`: a client that only listens).
    pub(crate) worker: Option<Worker>,
    /// Its open submission, if it submitted one.
    pub(crate) submission: Option<Submission>,
    /// How its submission ended, once it did.
    pub(crate) ended: Option<Progress>,
}

/// The network.
pub(crate) struct Network {
    pub(crate) hub: Hub,
    pub(crate) now: Millis,
    pub(crate) rng: rand_chacha::ChaCha20Rng,
    pub(crate) clients: BTreeMap<ConnId, Client>,
    next: ConnId,
    /// Connections with frames or events to act on.
    dirty: BTreeSet<ConnId>,
    trace: u64,
}

/// A client's identity for `i`: distinct seeds for up to 2³² clients.
pub(crate) fn key_of(i: u32) -> SecretKey {
    let mut seed = [0x5a; 32];
    seed[..4].copy_from_slice(&i.to_le_bytes());
    SecretKey::from_seed(&seed)
}

impl Network {
    pub(crate) fn new(config: HubConfig, seed: u64) -> Self {
        Self {
            hub: Hub::new(SecretKey::from_seed(&[0xee; 32]), config),
            now: 1_000,
            rng: rand_chacha::ChaCha20Rng::seed_from_u64(seed),
            clients: BTreeMap::new(),
            next: 1,
            dirty: BTreeSet::new(),
            trace: 0xcbf2_9ce4_8422_2325,
        }
    }

    /// Joins client `i` running `kernels` (a worker when it lists any) and runs its handshake.
    pub(crate) fn join(&mut self, i: u32, kernels: Vec<TaskKind>) -> ConnId {
        let conn = self.next;
        self.next += 1;
        let caps = Capabilities {
            kernels: kernels.clone(),
            ..super::caps()
        };
        let session = ClientSession::new(key_of(i), Role::Native, caps, Some(self.hub.node_id()));
        let worker = (!kernels.is_empty()).then(|| Worker::new(kernels, 4));
        self.clients.insert(
            conn,
            Client {
                session,
                worker,
                submission: None,
                ended: None,
            },
        );
        let mut nonce = [0u8; 32];
        rand_chacha::rand_core::Rng::fill_bytes(&mut self.rng, &mut nonce);
        let _ = self.hub.handle(self.now, Input::Connect { conn, nonce });
        self.settle();
        conn
    }

    /// Stops acting for `conn` (its connection stays open at the hub): what a test does with
    /// the thousands of peers it only needs present.
    pub(crate) fn mute(&mut self, conn: ConnId) {
        self.clients.remove(&conn);
    }

    /// `conn` disconnects.
    pub(crate) fn leave(&mut self, conn: ConnId) {
        self.clients.remove(&conn);
        let _ = self.hub.handle(self.now, Input::Disconnect(conn));
        self.settle();
    }

    /// `conn` submits `search` to `redundancy` workers.
    pub(crate) fn submit(&mut self, conn: ConnId, id: u8, search: &VectorSearch, redundancy: u8) {
        let spec = edgenet_proto::message::TaskSpec {
            id: edgenet_core::task::TaskId([id; 16]),
            kind: TaskKind::VECTOR_SEARCH,
            redundancy,
            max_credits: 0,
            priority: 0,
            timeout_ms: 60_000,
        };
        let sub = Submission::new(spec, search.encode().unwrap_or_default());
        let msg = sub.submit_message();
        if let Some(c) = self.clients.get_mut(&conn) {
            let _ = c.session.send(&msg);
            c.submission = Some(sub);
            c.ended = None;
            self.dirty.insert(conn);
        }
        self.settle();
    }

    /// Moves the clock to the hub's next deadline and handles it; false when none is set.
    pub(crate) fn drive(&mut self) -> bool {
        let Some(at) = self.hub.poll_timeout() else {
            return false;
        };
        self.now = self.now.max(at);
        let _ = self.hub.handle(self.now, Input::Timeout);
        self.settle();
        true
    }

    /// The hash of every frame delivered so far, in order.
    pub(crate) fn trace(&self) -> u64 {
        self.trace
    }

    fn mix(&mut self, conn: ConnId, bytes: &[u8]) {
        for b in conn.to_le_bytes().iter().chain(bytes) {
            self.trace ^= u64::from(*b);
            self.trace = self.trace.wrapping_mul(0x0100_0000_01b3);
        }
    }

    /// Delivers everything both ways until nothing moves.
    pub(crate) fn settle(&mut self) {
        loop {
            while let Some(out) = self.hub.poll_output() {
                if let Output::Close(conn) = out {
                    self.clients.remove(&conn);
                    continue;
                }
                let Some((conn, frames)) = out.into_frames() else {
                    continue;
                };
                for frame in frames {
                    self.mix(conn, &frame);
                    if let Some(c) = self.clients.get_mut(&conn) {
                        let _ = c.session.handle_frame(&frame);
                        self.dirty.insert(conn);
                    }
                }
            }
            let Some(conn) = self.dirty.pop_first() else {
                return;
            };
            self.act(conn);
        }
    }

    /// `conn` acts on its events and sends what it queued.
    fn act(&mut self, conn: ConnId) {
        let Some(c) = self.clients.get_mut(&conn) else {
            return;
        };
        let key = c.session.key().clone();
        while let Some(ev) = c.session.poll_event() {
            if let (Some(sub), None) = (c.submission.as_mut(), c.ended.as_ref())
                && let Ok((progress, replies)) = sub.handle(&ev, &key, &mut self.rng)
            {
                for r in replies {
                    let _ = c.session.send(&r);
                }
                if matches!(progress, Progress::Done(_) | Progress::Failed(_)) {
                    c.ended = Some(progress);
                }
            }
            let Some(worker) = c.worker.as_mut() else {
                continue;
            };
            match worker.handle(ev, &key) {
                Ok(Action::Send(m)) => {
                    let _ = c.session.send(&m);
                }
                Ok(Action::Execute { job, payload }) => {
                    let Ok(task) = VectorSearch::decode(&payload) else {
                        continue;
                    };
                    let result = reference_knn(&task).encode();
                    if let Ok(msg) = worker.finish(&mut self.rng, &key, &job, &result) {
                        let _ = c.session.send(&msg);
                    }
                }
                _ => {}
            }
        }
        let mut frames = Vec::new();
        while let Some(frame) = c.session.poll_outgoing() {
            frames.push(frame);
        }
        for frame in frames {
            self.mix(conn, &frame);
            let _ = self.hub.handle(
                self.now,
                Input::Frame {
                    conn,
                    bytes: &frame,
                },
            );
        }
    }
}
