//! Tasks that outlive their relay (`hub/cluster/records.rs`), driven in memory: relays of one cluster,
//! the task stream between them (every record, to every relay that is up), and nodes on the
//! real client path: a submitter's [`Endpoint`] that loses its relay detaches its submission
//! and resumes it through a new endpoint at another relay.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use edgenet_core::ledger::{Account, LedgerConfig};
use edgenet_core::task::{TaskId, TaskKind};
use edgenet_core::{ErrorCode, NodeId, SecretKey};
use edgenet_proto::endpoint::{Endpoint, Event};
use edgenet_proto::hub::{
    Announcement, BORROWED_TTL_MS, ConnId, Hub, HubConfig, Input, MAX_PARKED, MAX_RECORD_LEN,
    MAX_TASK_RECORDS, PARK_ROUNDS, RecordState, SignedRecord, TaskRecord,
};
use edgenet_proto::message::{ClientMsg, Role, TaskSpec};
use edgenet_sim::{Addr, Network, Packet};
use rand_chacha::rand_core::SeedableRng;
use support::peers::{Behaviour, EndpointPeer};
use support::{caps, search};

mod support;

type Rng = rand_chacha::ChaCha20Rng;

fn relay_key(i: usize) -> SecretKey {
    SecretKey::from_seed(&[0xb0 + u8::try_from(i).unwrap(); 32])
}

fn node_key(seed: u8) -> SecretKey {
    SecretKey::from_seed(&[seed; 32])
}

/// Relays (some down), the task stream, the nodes and one clock, on the in-memory network.
struct Net {
    net: Network<EndpointPeer>,
    config: HubConfig,
    validators: LedgerConfig,
    /// Records from these relays never reach the stream (lost on the way).
    lose_records_of: Rc<RefCell<Vec<usize>>>,
    /// Payloads submitters send are lost (their relay dies before passing them on).
    lose_payloads: Rc<Cell<bool>>,
}

support::wraps_network!(Net, EndpointPeer);

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
        let mut net = Network::with_rng(Rng::from_seed([7; 32]));
        for i in 0..n {
            net.add_relay(Self::hub(i, &config, &validators));
        }
        let lose_records_of: Rc<RefCell<Vec<usize>>> = Rc::default();
        let lose_payloads: Rc<Cell<bool>> = Rc::default();
        let (records, payloads) = (Rc::clone(&lose_records_of), Rc::clone(&lose_payloads));
        net.set_fault(move |packet| match packet {
            Packet::Record { from, .. } => records.borrow().contains(from),
            Packet::ToRelay { frame, .. } => {
                payloads.get() && matches!(ClientMsg::decode(frame), Ok(ClientMsg::Payload { .. }))
            }
            _ => false,
        });
        Self {
            net,
            config,
            validators,
            lose_records_of,
            lose_payloads,
        }
    }

    fn hub(i: usize, config: &HubConfig, validators: &LedgerConfig) -> Hub {
        Hub::new(relay_key(i), config.clone())
            .with_validators(validators.clone())
            .unwrap()
    }

    /// Relay `i`'s hub.
    fn relay(&mut self, i: usize) -> &mut Hub {
        self.net.hub_mut(i)
    }

    /// A node at `relay`: a worker of searches, or a submitter only.
    fn join(&mut self, relay: usize, seed: u8, worker: bool) -> ConnId {
        let conn = self.net.fresh_conn();
        let mut caps = caps();
        if !worker {
            caps.kernels.clear();
        }
        let ep = Endpoint::new(node_key(seed), Role::Native, caps, 4, worker, self.net.now);
        let addr = self.net.connect(
            relay,
            conn,
            EndpointPeer::new(ep, Behaviour::Honest),
            [seed; 32],
        );
        assert!(
            self.net.peer(addr).unwrap().endpoint.is_ready(),
            "handshake"
        );
        conn
    }

    /// `relay` starts again with a fresh hub, reading the task stream from the start.
    fn restart(&mut self, relay: usize) {
        let hub = Self::hub(relay, &self.config, &self.validators);
        self.net.restart(relay, hub);
    }

    /// Moves the clock by `ms`, announcing each 500 ms, as the relays' timers would.
    fn advance(&mut self, ms: u64) {
        let end = self.net.now + ms;
        while self.net.now < end {
            let step = (end - self.net.now).min(500);
            self.net.jump(step);
            self.net.announce();
        }
    }

    fn submit(&mut self, relay: usize, conn: ConnId, spec: TaskSpec) {
        let payload = search().encode().unwrap();
        let now = self.net.now;
        let peer = self.net.peer_mut(Addr::new(relay, conn)).unwrap();
        peer.endpoint.submit(spec, payload, now).unwrap();
        self.net.settle();
    }

    /// The submitter at (`from`, `conn`) lost its relay: its submissions go to a new
    /// connection at `to`, as the node's and the page's drivers do.
    fn resume_at(&mut self, from: usize, conn: ConnId, to: usize, seed: u8) -> ConnId {
        let now = self.net.now;
        let old = self.net.peer_mut(Addr::new(from, conn)).unwrap();
        let detached = old.endpoint.detach(now);
        old.endpoint.handle_disconnect();
        self.net.disconnect(Addr::new(from, conn));
        let fresh = self.join(to, seed, false);
        let ep = &mut self.net.peer_mut(Addr::new(to, fresh)).unwrap().endpoint;
        for d in detached {
            ep.resume(d, now).unwrap();
        }
        self.net.settle();
        fresh
    }

    fn events(&self, relay: usize, conn: ConnId) -> &[Event] {
        self.net
            .peer(Addr::new(relay, conn))
            .map_or(&[], |p| p.events.as_slice())
    }

    fn done(&self, relay: usize, conn: ConnId) -> Option<&Event> {
        self.events(relay, conn)
            .iter()
            .find(|e| matches!(e, Event::Done { .. } | Event::Failed { .. }))
    }

    fn check(&mut self) {
        for r in 0..self.net.relay_count() {
            if !self.net.is_up(r) {
                continue;
            }
            self.net
                .hub_mut(r)
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
        net.relay(1).task_records(),
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
    assert_eq!(net.relay(1).stats().tasks_resumed, 1);
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
    let worker = net.fresh_conn();
    let ep = Endpoint::new(node_key(1), Role::Native, caps(), 1, true, net.now);
    net.connect(2, worker, EndpointPeer::new(ep, Behaviour::Honest), [1; 32]);
    net.announce();
    net.lose_payloads.set(true);
    net.submit(0, submitter, spec(6, 2));
    assert_eq!(
        net.relay(2).remote_counts().1,
        1,
        "relay 2 routes the assignment"
    );
    net.kill(0);
    net.lose_payloads.set(false);
    net.join(1, 2, true);
    net.advance(BORROWED_TTL_MS + 500);
    assert_eq!(
        net.relay(2).remote_counts().1,
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
    assert_eq!(net.relay(1).stats().tasks_resumed, 0);
    net.check();
    net.advance(BORROWED_TTL_MS + 1_000);
    assert_eq!(net.relay(1).stats().tasks_resumed, 1);
    assert!(matches!(net.done(1, at_b), Some(Event::Done { .. })));
    net.check();
}

#[test]
fn an_announcement_the_dead_relay_sent_before_it_died_arriving_late_does_not_lose_the_task() {
    let (mut net, submitter) = task_on_a_dying_relay();
    // Relay 0's last announcement, still on its way when it died.
    let late = net.relay(0).announcement();
    net.join(1, 2, true);
    net.join(1, 3, true);
    let at_b = net.resume_at(0, submitter, 1, 9);
    net.advance(BORROWED_TTL_MS - 500);
    // It arrives now, after the resume: relay 0 looks alive for another time-to-live.
    let lender = Announcement::decode(&late.unwrap_or_default()).unwrap();
    let now = net.now;
    net.relay(1)
        .handle(now, Input::Announcement(lender))
        .map(|h| h.count())
        .unwrap();
    net.advance(1_000);
    assert!(
        net.done(1, at_b).is_none(),
        "no EN-225 for a relay that only looks alive"
    );
    net.advance(u64::from(PARK_ROUNDS) * BORROWED_TTL_MS);
    assert_eq!(net.relay(1).stats().tasks_resumed, 1);
    assert!(matches!(net.done(1, at_b), Some(Event::Done { .. })));
    net.check();
}

#[test]
fn a_restarted_relay_picks_up_its_own_task() {
    let (mut net, submitter) = task_on_a_dying_relay();
    net.restart(0);
    assert_eq!(net.relay(0).task_records(), 1, "read back from the stream");
    net.join(0, 2, true);
    net.join(0, 3, true);
    let again = net.resume_at(0, submitter, 0, 9);
    assert_eq!(net.relay(0).stats().tasks_resumed, 1);
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
    assert_eq!(net.relay(1).stats().tasks_resumed, 0);
}

#[test]
fn a_task_open_at_a_relay_that_is_up_is_not_taken_from_it() {
    let mut net = Net::new(2);
    let submitter = net.join(0, 9, false);
    net.announce();
    net.submit(0, submitter, spec(3, 1));
    // Relay 0's record of the failure is lost: relay 1 still has the task open there.
    net.lose_records_of.borrow_mut().push(0);
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
    assert_eq!(net.relay(1).stats().tasks_resumed, 0);
    net.check();
}

#[test]
fn a_task_id_recorded_for_another_submitter_is_refused() {
    let (mut net, _) = task_on_a_dying_relay();
    net.advance(BORROWED_TTL_MS + 500);
    let thief = net.join(1, 44, false);
    net.submit(1, thief, spec(1, 2));
    assert_eq!(failure_code(net.done(1, thief)), "EN-210");
    assert_eq!(net.relay(1).stats().tasks_resumed, 0);
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
        let now = net.now;
        net.relay(1)
            .handle(now, Input::TaskRecord(signed))
            .map(drop)
            .unwrap();
    }
    assert_eq!(net.relay(1).task_records(), MAX_TASK_RECORDS);
    // The newest is kept and resumes; the first, forgotten, is taken as a new task.
    let at_b = net.join(1, 9, false);
    net.join(1, 2, true);
    let mut newest = spec(0, 1);
    newest.id = TaskId(u128::try_from(total - 1).unwrap().to_le_bytes());
    net.submit(1, at_b, newest);
    assert_eq!(net.relay(1).stats().tasks_resumed, 1);
    let mut oldest = spec(0, 1);
    oldest.id = TaskId(0u128.to_le_bytes());
    net.submit(1, at_b, oldest);
    assert_eq!(net.relay(1).stats().tasks_resumed, 1);
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
        let now = net.now;
        net.relay(1)
            .handle(now, Input::TaskRecord(signed))
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
    let now = net.now;
    let err = net
        .relay(1)
        .handle(now, Input::TaskRecord(signed))
        .map(drop)
        .unwrap_err();
    assert_eq!(err.code(), "EN-209");
    assert_eq!(net.relay(1).task_records(), 0);
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
