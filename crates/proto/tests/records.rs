//! Tasks that outlive their relay (`hub/cluster/records.rs`), driven in memory: relays of one cluster,
//! the task stream between them (every record, to every relay that is up), and nodes on the
//! real client path: a submitter's [`Endpoint`] that loses its relay detaches its submission
//! and resumes it through a new endpoint at another relay.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use std::collections::{BTreeMap, HashMap};

use edgenet_core::kinds::vector_search::VectorSearch;
use edgenet_core::ledger::{Account, LedgerConfig};
use edgenet_core::task::{TaskId, TaskKind};
use edgenet_core::{ErrorCode, NodeId, SecretKey};
use edgenet_proto::endpoint::{Endpoint, Event};
use edgenet_proto::hub::{
    Announcement, BORROWED_TTL_MS, ConnId, Hub, HubConfig, Input, MAX_PARKED, MAX_RECORD_LEN,
    MAX_TASK_RECORDS, Output, PARK_ROUNDS, RecordState, SignedRecord, TaskRecord,
};
use edgenet_proto::message::{ClientMsg, Role, TaskSpec};
use rand_chacha::rand_core::SeedableRng;
use support::{caps, reference_knn, search};

mod support;

type Rng = rand_chacha::ChaCha20Rng;

fn relay_key(i: usize) -> SecretKey {
    SecretKey::from_seed(&[0xb0 + u8::try_from(i).unwrap(); 32])
}

fn node_key(seed: u8) -> SecretKey {
    SecretKey::from_seed(&[seed; 32])
}

/// Relays (some down), the task stream, the nodes and one clock.
struct Net {
    relays: Vec<Hub>,
    up: Vec<bool>,
    config: HubConfig,
    validators: LedgerConfig,
    /// The task stream: the latest record of each task.
    stream: BTreeMap<TaskId, Vec<u8>>,
    /// Records from these relays never reach the stream (lost on the way).
    lose_records_of: Vec<usize>,
    /// Payloads submitters send are lost (their relay dies before passing them on).
    lose_payloads: bool,
    nodes: HashMap<(usize, ConnId), Endpoint>,
    events: HashMap<(usize, ConnId), Vec<Event>>,
    now: u64,
    next: ConnId,
    rng: Rng,
}

impl Net {
    fn new(n: usize) -> Self {
        let accounts = (0..n)
            .map(|i| Account::of(&relay_key(i).node_id()))
            .collect();
        let validators = LedgerConfig::new(accounts, 1).unwrap();
        let config = HubConfig {
            work_bits: 0,
            uptime_period_ms: 0,
            canary_reward: 0,
            staffing_timeout_ms: 0,
            task_records: true,
            ..HubConfig::default()
        };
        let relays = (0..n).map(|i| Self::hub(i, &config, &validators)).collect();
        Self {
            relays,
            up: vec![true; n],
            config,
            validators,
            stream: BTreeMap::new(),
            lose_records_of: Vec::new(),
            lose_payloads: false,
            nodes: HashMap::new(),
            events: HashMap::new(),
            now: 1_000,
            next: 1,
            rng: Rng::from_seed([7; 32]),
        }
    }

    fn hub(i: usize, config: &HubConfig, validators: &LedgerConfig) -> Hub {
        Hub::new(relay_key(i), config.clone())
            .with_validators(validators.clone())
            .unwrap()
    }

    /// A node at `relay`: a worker of searches, or a submitter only.
    fn join(&mut self, relay: usize, seed: u8, worker: bool) -> ConnId {
        let conn = self.next;
        self.next += 1;
        let mut caps = caps();
        if !worker {
            caps.kernels.clear();
        }
        let ep = Endpoint::new(node_key(seed), Role::Native, caps, 4, worker, self.now);
        self.nodes.insert((relay, conn), ep);
        let _ = self.relays[relay].handle(
            self.now,
            Input::Connect {
                conn,
                nonce: [seed; 32],
            },
        );
        self.pump();
        assert!(self.nodes[&(relay, conn)].is_ready(), "handshake");
        conn
    }

    /// `relay` dies: its state is gone, its nodes' connections drop (their endpoints are left
    /// for the test to detach from).
    fn kill(&mut self, relay: usize) {
        self.up[relay] = false;
        while self.relays[relay].poll_output().is_some() {}
    }

    /// `relay` starts again with a fresh hub, reading the task stream from the start.
    fn restart(&mut self, relay: usize) {
        self.relays[relay] = Self::hub(relay, &self.config, &self.validators);
        self.up[relay] = true;
        for bytes in self.stream.values() {
            let record = SignedRecord::decode(bytes).unwrap();
            self.relays[relay]
                .handle(self.now, Input::TaskRecord(record))
                .map(drop)
                .unwrap();
        }
    }

    /// Every relay that is up announces to every other (the adapter does it each second).
    fn announce(&mut self) {
        let all: Vec<(usize, Vec<u8>)> = (0..self.relays.len())
            .filter(|&r| self.up[r])
            .map(|r| (r, self.relays[r].announcement().unwrap()))
            .collect();
        for (from, bytes) in &all {
            for to in (0..self.relays.len()).filter(|&t| self.up[t] && t != *from) {
                let lender = Announcement::decode(bytes).unwrap();
                self.relays[to]
                    .handle(self.now, Input::Announcement(lender))
                    .map(|h| h.count())
                    .unwrap();
            }
        }
        self.pump();
    }

    fn pump(&mut self) {
        loop {
            let mut moved = false;
            let mut records = Vec::new();
            let mut forwarded = Vec::new();
            for r in (0..self.relays.len()).filter(|&r| self.up[r]) {
                while let Some(out) = self.relays[r].poll_output() {
                    moved = true;
                    match out {
                        Output::TaskRecord(record) => {
                            if !self.lose_records_of.contains(&r) {
                                records.push(*record);
                            }
                        }
                        Output::Forward(f) => forwarded.push((r, *f)),
                        Output::Close(_) | Output::Attest(_) => {}
                        out => {
                            let (conn, frames) = out.into_frames().unwrap();
                            let Some(ep) = self.nodes.get_mut(&(r, conn)) else {
                                continue;
                            };
                            for frame in frames {
                                ep.handle_frame(&frame, &mut self.rng).unwrap();
                            }
                        }
                    }
                }
            }
            for (from, f) in forwarded {
                let to = self
                    .relays
                    .iter()
                    .position(|h| h.node_id() == f.relay)
                    .unwrap();
                if self.up[to] {
                    let from = self.relays[from].node_id();
                    let _ = self.relays[to].handle(
                        self.now,
                        Input::Forwarded {
                            relay: from,
                            worker: f.worker,
                            direction: f.direction,
                            frame: &f.frame,
                        },
                    );
                }
            }
            for TaskRecord { task, bytes } in records {
                for r in (0..self.relays.len()).filter(|&r| self.up[r]) {
                    let record = SignedRecord::decode(&bytes).unwrap();
                    self.relays[r]
                        .handle(self.now, Input::TaskRecord(record))
                        .map(drop)
                        .unwrap();
                }
                self.stream.insert(task, bytes);
            }
            let keys: Vec<(usize, ConnId)> = self.nodes.keys().copied().collect();
            for (r, conn) in keys {
                if !self.up[r] {
                    continue;
                }
                let ep = self.nodes.get_mut(&(r, conn)).unwrap();
                while let Some(ev) = ep.poll_event() {
                    if let Event::Execute { task, payload, .. } = &ev {
                        let search = VectorSearch::decode(payload).unwrap();
                        let result = reference_knn(&search).encode();
                        ep.finish(task, &result, &mut self.rng).unwrap();
                    }
                    self.events.entry((r, conn)).or_default().push(ev);
                }
                while let Some(frame) = ep.poll_outgoing() {
                    moved = true;
                    let payload =
                        matches!(ClientMsg::decode(&frame), Ok(ClientMsg::Payload { .. }));
                    if self.lose_payloads && payload {
                        continue;
                    }
                    let _ = self.relays[r].handle(
                        self.now,
                        Input::Frame {
                            conn,
                            bytes: &frame,
                        },
                    );
                }
            }
            if !moved {
                break;
            }
        }
    }

    /// Moves the clock by `ms`, announcing each 500 ms, as the relays' timers would.
    fn advance(&mut self, ms: u64) {
        let end = self.now + ms;
        while self.now < end {
            self.now = (self.now + 500).min(end);
            for r in (0..self.relays.len()).filter(|&r| self.up[r]) {
                let _ = self.relays[r].handle(self.now, Input::Timeout);
            }
            self.announce();
        }
    }

    fn submit(&mut self, relay: usize, conn: ConnId, spec: TaskSpec) {
        let payload = search().encode().unwrap();
        let ep = self.nodes.get_mut(&(relay, conn)).unwrap();
        ep.submit(spec, payload, self.now).unwrap();
        self.pump();
    }

    /// The submitter at (`from`, `conn`) lost its relay: its submissions go to a new
    /// connection at `to`, as the node's and the page's drivers do.
    fn resume_at(&mut self, from: usize, conn: ConnId, to: usize, seed: u8) -> ConnId {
        let mut old = self.nodes.remove(&(from, conn)).unwrap();
        let detached = old.detach(self.now);
        old.handle_disconnect();
        if self.up[from] {
            let _ = self.relays[from].handle(self.now, Input::Disconnect(conn));
        }
        let fresh = self.join(to, seed, false);
        let ep = self.nodes.get_mut(&(to, fresh)).unwrap();
        for d in detached {
            ep.resume(d, self.now).unwrap();
        }
        self.pump();
        fresh
    }

    fn events(&self, relay: usize, conn: ConnId) -> &[Event] {
        self.events.get(&(relay, conn)).map_or(&[], Vec::as_slice)
    }

    fn done(&self, relay: usize, conn: ConnId) -> Option<&Event> {
        self.events(relay, conn)
            .iter()
            .find(|e| matches!(e, Event::Done { .. } | Event::Failed { .. }))
    }

    fn check(&mut self) {
        for r in (0..self.relays.len()).filter(|&r| self.up[r]) {
            self.relays[r]
                .check_invariants()
                .unwrap_or_else(|e| panic!("relay {r}: {e}"));
        }
    }
}

fn spec(id: u8, redundancy: u8) -> TaskSpec {
    TaskSpec {
        id: TaskId([id; 16]),
        kind: TaskKind::VECTOR_SEARCH,
        redundancy,
        max_credits: 0,
        priority: 0,
        timeout_ms: 60_000,
    }
}

fn failure_code(event: Option<&Event>) -> String {
    match event {
        Some(Event::Failed { error, .. }) => error.reported_code().to_owned(),
        other => panic!("not a failure: {other:?}"),
    }
}

/// Relay 0 takes a task that needs two workers and has one, borrowed from relay 2, which runs
/// it; relay 0 dies. Returns the net and the submitter's connection at relay 0.
fn task_on_a_dying_relay() -> (Net, ConnId) {
    let mut net = Net::new(3);
    let submitter = net.join(0, 9, false);
    net.join(2, 1, true);
    net.announce();
    net.submit(0, submitter, spec(1, 2));
    assert!(
        net.events(0, submitter)
            .iter()
            .any(|e| matches!(e, Event::Accepted { .. }))
    );
    assert_eq!(
        net.relays[1].task_records(),
        1,
        "the record reached the others"
    );
    net.kill(0);
    (net, submitter)
}

#[test]
fn a_task_whose_relay_dies_is_picked_up_where_its_submitter_resumes_it() {
    let (mut net, submitter) = task_on_a_dying_relay();
    net.join(1, 2, true);
    // The submitter reconnects once relay 0 has gone quiet.
    net.advance(BORROWED_TTL_MS + 500);
    let at_b = net.resume_at(0, submitter, 1, 9);
    assert_eq!(net.relays[1].stats().tasks_resumed, 1);
    net.advance(1_000);
    match net.done(1, at_b) {
        Some(Event::Done { outcome, .. }) => {
            // Relay 2's worker, which ran it for relay 0, runs it again for relay 1: the routes
            // relay 2 kept for relay 0's task ended when relay 0 went quiet.
            let mut agreeing = outcome.agreeing.clone();
            agreeing.sort_by_key(|n| *n.as_bytes());
            let mut want = vec![node_key(1).node_id(), node_key(2).node_id()];
            want.sort_by_key(|n| *n.as_bytes());
            assert_eq!(agreeing, want);
        }
        other => panic!("not verified at relay 1: {other:?}"),
    }
    net.check();
    // Every relay now knows it verified; submitted once more, it says so.
    let again = net.join(2, 9, false);
    net.submit(2, again, spec(1, 2));
    assert_eq!(failure_code(net.done(2, again)), "EN-224");
}

#[test]
fn a_worker_assigned_by_a_relay_that_died_before_its_payload_came_is_freed_for_the_takeover() {
    let mut net = Net::new(3);
    let submitter = net.join(0, 9, false);
    // One job at a time: the assignment relay 0 made holds the worker's only slot.
    let worker = net.next;
    net.next += 1;
    let ep = Endpoint::new(node_key(1), Role::Native, caps(), 1, true, net.now);
    net.nodes.insert((2, worker), ep);
    let _ = net.relays[2].handle(
        net.now,
        Input::Connect {
            conn: worker,
            nonce: [1; 32],
        },
    );
    net.pump();
    net.announce();
    net.lose_payloads = true;
    net.submit(0, submitter, spec(6, 2));
    assert_eq!(
        net.relays[2].remote_counts().1,
        1,
        "relay 2 routes the assignment"
    );
    net.kill(0);
    net.lose_payloads = false;
    net.join(1, 2, true);
    net.advance(BORROWED_TTL_MS + 500);
    assert_eq!(
        net.relays[2].remote_counts().1,
        0,
        "the dead relay's route ended"
    );
    let at_b = net.resume_at(0, submitter, 1, 9);
    net.advance(1_500);
    match net.done(1, at_b) {
        Some(Event::Done { outcome, .. }) => assert_eq!(outcome.agreeing.len(), 2),
        other => panic!("not verified at relay 1: {other:?}"),
    }
    net.check();
}

#[test]
fn a_resume_while_the_dead_relay_still_looks_alive_waits_until_it_has_gone_quiet() {
    let (mut net, submitter) = task_on_a_dying_relay();
    net.join(1, 2, true);
    net.join(1, 3, true);
    // At once: relay 0's last announcement still counts at relay 1.
    let at_b = net.resume_at(0, submitter, 1, 9);
    assert!(net.done(1, at_b).is_none(), "parked, not answered");
    assert_eq!(net.relays[1].stats().tasks_resumed, 0);
    net.check();
    net.advance(BORROWED_TTL_MS + 1_000);
    assert_eq!(net.relays[1].stats().tasks_resumed, 1);
    assert!(matches!(net.done(1, at_b), Some(Event::Done { .. })));
    net.check();
}

#[test]
fn an_announcement_the_dead_relay_sent_before_it_died_arriving_late_does_not_lose_the_task() {
    let (mut net, submitter) = task_on_a_dying_relay();
    // Relay 0's last announcement, still on its way when it died.
    let late = net.relays[0].announcement();
    net.join(1, 2, true);
    net.join(1, 3, true);
    let at_b = net.resume_at(0, submitter, 1, 9);
    net.advance(BORROWED_TTL_MS - 500);
    // It arrives now, after the resume: relay 0 looks alive for another time-to-live.
    let lender = Announcement::decode(&late.unwrap_or_default()).unwrap();
    net.relays[1]
        .handle(net.now, Input::Announcement(lender))
        .map(|h| h.count())
        .unwrap();
    net.advance(1_000);
    assert!(
        net.done(1, at_b).is_none(),
        "no EN-225 for a relay that only looks alive"
    );
    net.advance(u64::from(PARK_ROUNDS) * BORROWED_TTL_MS);
    assert_eq!(net.relays[1].stats().tasks_resumed, 1);
    assert!(matches!(net.done(1, at_b), Some(Event::Done { .. })));
    net.check();
}

#[test]
fn a_restarted_relay_picks_up_its_own_task() {
    let (mut net, submitter) = task_on_a_dying_relay();
    net.restart(0);
    assert_eq!(net.relays[0].task_records(), 1, "read back from the stream");
    net.join(0, 2, true);
    net.join(0, 3, true);
    let again = net.resume_at(0, submitter, 0, 9);
    assert_eq!(net.relays[0].stats().tasks_resumed, 1);
    net.advance(500);
    assert!(matches!(net.done(0, again), Some(Event::Done { .. })));
    net.check();
}

#[test]
fn a_task_that_failed_tells_its_submitter_why_wherever_it_resumes() {
    let mut net = Net::new(2);
    let submitter = net.join(0, 9, false);
    net.announce();
    net.submit(0, submitter, spec(2, 1));
    // The submitter's connection drops while relay 0 lives on: relay 0 fails the task.
    let at_b = net.resume_at(0, submitter, 1, 9);
    assert_eq!(failure_code(net.done(1, at_b)), "EN-209");
    match net.done(1, at_b) {
        Some(Event::Failed { error, .. }) => {
            assert!(
                error.to_string().contains("submitter disconnected"),
                "{error}"
            );
        }
        other => panic!("{other:?}"),
    }
    // Relay 0 itself says the same from its own history.
    let at_a = net.join(0, 9, false);
    net.submit(0, at_a, spec(2, 1));
    assert_eq!(failure_code(net.done(0, at_a)), "EN-209");
    assert_eq!(net.relays[1].stats().tasks_resumed, 0);
}

#[test]
fn a_task_open_at_a_relay_that_is_up_is_not_taken_from_it() {
    let mut net = Net::new(2);
    let submitter = net.join(0, 9, false);
    net.announce();
    net.submit(0, submitter, spec(3, 1));
    // Relay 0's record of the failure is lost: relay 1 still has the task open there.
    net.lose_records_of.push(0);
    let at_b = net.resume_at(0, submitter, 1, 9);
    assert!(
        net.done(1, at_b).is_none(),
        "parked while relay 0 may be dying"
    );
    // One wait is not enough to tell (an announcement may arrive late); two are.
    net.advance(BORROWED_TTL_MS + 500);
    assert!(net.done(1, at_b).is_none(), "still waiting");
    net.advance(u64::from(PARK_ROUNDS - 1) * BORROWED_TTL_MS);
    assert_eq!(failure_code(net.done(1, at_b)), "EN-225");
    assert_eq!(net.relays[1].stats().tasks_resumed, 0);
    net.check();
}

#[test]
fn a_task_id_recorded_for_another_submitter_is_refused() {
    let (mut net, _) = task_on_a_dying_relay();
    net.advance(BORROWED_TTL_MS + 500);
    let thief = net.join(1, 44, false);
    net.submit(1, thief, spec(1, 2));
    assert_eq!(failure_code(net.done(1, thief)), "EN-210");
    assert_eq!(net.relays[1].stats().tasks_resumed, 0);
}

#[test]
fn records_are_bounded_and_the_newest_still_resume() {
    let mut net = Net::new(2);
    let owner = relay_key(0);
    let submitter = node_key(9).node_id();
    // More records than a hub keeps, from relay 0 (down), the latest deadlines last.
    net.kill(0);
    let total = MAX_TASK_RECORDS + 100;
    for i in 0..total {
        let mut s = spec(0, 1);
        s.id = TaskId(u128::try_from(i).unwrap().to_le_bytes());
        let deadline = 100_000 + u64::try_from(i).unwrap();
        let r = TaskRecord::signed(&owner, &s, &submitter, deadline, RecordState::Open).unwrap();
        let signed = SignedRecord::decode(&r.bytes).unwrap();
        net.relays[1]
            .handle(net.now, Input::TaskRecord(signed))
            .map(drop)
            .unwrap();
    }
    assert_eq!(net.relays[1].task_records(), MAX_TASK_RECORDS);
    // The newest is kept and resumes; the first, forgotten, is taken as a new task.
    let at_b = net.join(1, 9, false);
    net.join(1, 2, true);
    let mut newest = spec(0, 1);
    newest.id = TaskId(u128::try_from(total - 1).unwrap().to_le_bytes());
    net.submit(1, at_b, newest);
    assert_eq!(net.relays[1].stats().tasks_resumed, 1);
    let mut oldest = spec(0, 1);
    oldest.id = TaskId(0u128.to_le_bytes());
    net.submit(1, at_b, oldest);
    assert_eq!(net.relays[1].stats().tasks_resumed, 1);
    net.advance(500);
    let done = net
        .events(1, at_b)
        .iter()
        .filter(|e| matches!(e, Event::Done { .. }))
        .count();
    assert_eq!(done, 2, "both verified: {:?}", net.events(1, at_b));
    net.check();
}

#[test]
fn parked_resumes_are_bounded_and_an_honest_one_still_goes_through() {
    let mut net = Net::new(2);
    let owner = relay_key(0);
    let submitter = node_key(9).node_id();
    net.announce();
    // Relay 0 is up and announcing; a submitter resumes more tasks recorded there than a relay
    // holds back.
    let at_b = net.join(1, 9, false);
    let deadline = net.now + 60_000;
    for i in 0..=MAX_PARKED {
        let mut s = spec(0, 1);
        s.id = TaskId(u128::try_from(i + 1).unwrap().to_le_bytes());
        let r = TaskRecord::signed(&owner, &s, &submitter, deadline, RecordState::Open).unwrap();
        let signed = SignedRecord::decode(&r.bytes).unwrap();
        net.relays[1]
            .handle(net.now, Input::TaskRecord(signed))
            .map(drop)
            .unwrap();
        net.submit(1, at_b, s);
    }
    // Past the bound, answered at once.
    let answered: Vec<String> = net
        .events(1, at_b)
        .iter()
        .filter_map(|e| match e {
            Event::Failed { error, .. } => Some(error.reported_code().to_owned()),
            _ => None,
        })
        .collect();
    assert_eq!(answered, ["EN-225"]);
    net.check();
    // An honest new task from another submitter is taken meanwhile.
    let honest = net.join(1, 10, false);
    net.join(1, 2, true);
    net.submit(1, honest, spec(200, 1));
    assert!(matches!(net.done(1, honest), Some(Event::Done { .. })));
    // Relay 0 stays up: each parked resume is answered in turn.
    net.advance(u64::from(PARK_ROUNDS) * BORROWED_TTL_MS + 500);
    let failed = net
        .events(1, at_b)
        .iter()
        .filter(|e| matches!(e, Event::Failed { .. }))
        .count();
    assert_eq!(failed, MAX_PARKED + 1);
    net.check();
}

#[test]
fn bad_records_are_refused_with_a_code() {
    let mut net = Net::new(2);
    let submitter = node_key(9).node_id();
    let s = spec(5, 1);
    // Too long.
    assert_eq!(
        SignedRecord::decode(&vec![0; MAX_RECORD_LEN + 1])
            .unwrap_err()
            .code(),
        "EN-204"
    );
    // Not signed by its relay.
    let mut r = TaskRecord::signed(&relay_key(0), &s, &submitter, 1, RecordState::Open).unwrap();
    let last = r.bytes.len() - 1;
    r.bytes[last] ^= 1;
    assert_eq!(SignedRecord::decode(&r.bytes).unwrap_err().code(), "EN-209");
    // Signed, by a relay outside the cluster.
    let stranger = SecretKey::from_seed(&[0x77; 32]);
    let r = TaskRecord::signed(&stranger, &s, &submitter, 1, RecordState::Open).unwrap();
    let signed = SignedRecord::decode(&r.bytes).unwrap();
    let err = net.relays[1]
        .handle(net.now, Input::TaskRecord(signed))
        .map(drop)
        .unwrap_err();
    assert_eq!(err.code(), "EN-209");
    assert_eq!(net.relays[1].task_records(), 0);
    // Truncated.
    let r = TaskRecord::signed(&relay_key(0), &s, &submitter, 1, RecordState::Open).unwrap();
    assert_eq!(
        SignedRecord::decode(&r.bytes[..r.bytes.len() - 3])
            .unwrap_err()
            .code(),
        "EN-209",
        "a cut record fails its signature first"
    );
    let _: NodeId = submitter;
}
