//! Cross-relay work (`hub/cluster/remote.rs`), driven in memory: several hubs of one cluster, their
//! clients, and the frames they forward to each other, with no sockets and no NATS.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use std::collections::{BTreeMap, HashSet};

use edgenet_core::kinds::vector_search::KnnResult;
use edgenet_core::ledger::{Account, LedgerConfig};
use edgenet_core::task::{TaskId, TaskKind};
use edgenet_core::{ErrorCode, NodeId, SecretKey};
use edgenet_proto::hub::{
    Announcement, BORROWED_TTL_MS, ConnId, Direction, Hub, HubConfig, Input, MAX_ANNOUNCED_BUSY,
    MAX_ANNOUNCED_SUBMITTERS, MAX_ANNOUNCED_WORKERS, MAX_BORROWED, MAX_LENT, MAX_LENT_PER_WORKER,
    OFFER_ROUTE_MS,
};
use edgenet_proto::message::{PeerInfo, RelayMsg, Role, TaskSpec};
use edgenet_proto::submit::{Progress, Submission};
use edgenet_sim::{Addr, Network};
use rand_chacha::rand_core::SeedableRng;
use support::peers::SessionPeer;
use support::{caps, reference_knn, search};

mod support;

type Rng = rand_chacha::ChaCha20Rng;

fn relay_key(i: usize) -> SecretKey {
    SecretKey::from_seed(&[0xa0 + u8::try_from(i).unwrap(); 32])
}

fn id(seed: u8) -> NodeId {
    SecretKey::from_seed(&[seed; 32]).node_id()
}

/// `n` relays of one cluster (each a validator), their nodes and one clock, on the in-memory
/// network.
struct Cluster {
    net: Network<SessionPeer>,
}

support::wraps_network!(Cluster, SessionPeer);

impl Cluster {
    fn new(n: usize) -> Self {
        Self::with_validators(n, n)
    }

    /// `n` relays running, of `validators` configured.
    fn with_validators(n: usize, validators: usize) -> Self {
        Self::configured(n, validators, HubConfig::default())
    }

    fn configured(n: usize, validators: usize, base: HubConfig) -> Self {
        let accounts = (0..validators)
            .map(|i| Account::of(&relay_key(i).node_id()))
            .collect();
        let config = LedgerConfig::new(accounts, 1).unwrap();
        let hub_config = HubConfig {
            work_bits: 0,
            uptime_period_ms: 0,
            canary_reward: 0,
            ..base
        };
        let mut net = Network::with_rng(Rng::from_seed([5; 32]));
        for i in 0..n {
            let hub = Hub::new(relay_key(i), hub_config.clone())
                .with_validators(config.clone())
                .unwrap();
            net.add_relay(hub);
        }
        Self { net }
    }

    /// Relay `i`'s hub.
    fn relay(&mut self, i: usize) -> &mut Hub {
        self.net.hub_mut(i)
    }

    /// The nodes by (relay, connection), those that left too.
    fn nodes(&self) -> BTreeMap<(usize, ConnId), &SessionPeer> {
        self.net
            .peers()
            .map(|(a, p)| ((a.relay, a.conn), p))
            .collect()
    }

    fn join(&mut self, relay: usize, seed: u8) -> ConnId {
        let conn = self.net.fresh_conn();
        let id = self.net.hub(relay).node_id();
        let peer = SessionPeer::new(SecretKey::from_seed(&[seed; 32]), caps(), id);
        self.net.connect(relay, conn, peer, [seed; 32]);
        conn
    }

    fn leave(&mut self, relay: usize, conn: ConnId) {
        self.net.disconnect(Addr::new(relay, conn));
    }

    fn pump(&mut self) {
        self.net.settle();
    }

    fn advance(&mut self, ms: u64) {
        self.net.jump(ms);
    }

    fn check(&mut self) {
        for i in 0..self.net.relay_count() {
            self.net
                .hub_mut(i)
                .check_invariants()
                .unwrap_or_else(|e| panic!("relay {i}: {e}"));
        }
    }

    /// Submits from `conn` at `relay` and drives the cluster (announcing each step, as the
    /// adapter does every second) until the task finishes.
    fn run_task(&mut self, relay: usize, conn: ConnId, spec: TaskSpec) -> Progress {
        let key = self.nodes()[&(relay, conn)].session.key().clone();
        let mut sub = Submission::new(spec, search().encode().unwrap());
        let mut seen = self.nodes()[&(relay, conn)].inbox.len();
        self.send(relay, conn, &sub.submit_message());
        for _ in 0..40 {
            loop {
                let inbox: Vec<RelayMsg> = self.nodes()[&(relay, conn)].inbox[seen..].to_vec();
                if inbox.is_empty() {
                    break;
                }
                seen += inbox.len();
                for m in inbox {
                    let (progress, replies) = sub.handle(&m, &key, &mut self.net.rng).unwrap();
                    for r in replies {
                        self.send(relay, conn, &r);
                    }
                    if matches!(progress, Progress::Done(_) | Progress::Failed(_)) {
                        return progress;
                    }
                }
            }
            self.announce();
            if !self.drive() {
                break;
            }
        }
        panic!("task did not finish");
    }

    fn send(&mut self, relay: usize, conn: ConnId, msg: &edgenet_proto::message::ClientMsg) {
        let peer = self.net.peer_mut(Addr::new(relay, conn)).unwrap();
        peer.session.send(msg).unwrap();
        self.net.settle();
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

fn workers_of(hub: &Hub, now: u64, task: u8) -> HashSet<String> {
    let id = TaskId([task; 16]).to_string();
    hub.tasks(now)
        .into_iter()
        .find(|t| t.id == id)
        .unwrap()
        .work
        .into_iter()
        .filter(|w| w.state == "returned")
        .map(|w| w.worker)
        .collect()
}

#[test]
fn a_task_at_one_relay_is_run_by_workers_of_two_others() {
    let mut c = Cluster::new(3);
    let submitter = c.join(0, 9);
    c.join(1, 1);
    c.join(2, 2);
    c.announce();
    assert_eq!(
        c.relay(0).remote_counts().0,
        2,
        "A borrows B's and C's workers"
    );
    // Borrowed workers are not A's peers to show or count.
    assert_eq!(c.relay(0).stats().peers, 1);
    assert_eq!(c.hub(0).peers(c.now).len(), 1);

    let Progress::Done(outcome) = c.run_task(0, submitter, spec(1, 2)) else {
        panic!("the task failed")
    };
    assert_eq!(
        KnnResult::decode(&outcome.result).unwrap(),
        reference_knn(&search())
    );
    assert_eq!(outcome.agreeing.len(), 2);
    let expected: HashSet<String> = [id(1).to_string(), id(2).to_string()].into();
    assert_eq!(workers_of(c.hub(0), c.now, 1), expected);
    // Each worker got the verdict through its own relay, which ended its route.
    for (relay, seed) in [(1, 1), (2, 2)] {
        let node = c
            .nodes()
            .into_iter()
            .find(|((r, _), n)| *r == relay && n.session.key().node_id() == id(seed))
            .unwrap()
            .1;
        assert!(
            node.inbox
                .iter()
                .any(|m| matches!(m, RelayMsg::Verdict { .. }))
        );
        assert_eq!(c.relay(relay).remote_counts().1, 0, "routes ended");
    }
    assert!(c.refused().is_empty(), "{:?}", c.refused());
    c.check();
}

#[test]
fn a_relays_own_workers_are_offered_work_before_borrowed_ones() {
    let mut c = Cluster::new(2);
    let submitter = c.join(0, 9);
    c.join(0, 1);
    c.join(1, 2);
    c.announce();
    let Progress::Done(_) = c.run_task(0, submitter, spec(1, 1)) else {
        panic!()
    };
    assert_eq!(workers_of(c.hub(0), c.now, 1), [id(1).to_string()].into());
    let Progress::Done(_) = c.run_task(0, submitter, spec(2, 2)) else {
        panic!()
    };
    let both: HashSet<String> = [id(1).to_string(), id(2).to_string()].into();
    assert_eq!(workers_of(c.hub(0), c.now, 2), both);
    c.check();
}

#[test]
fn a_lent_worker_that_leaves_or_a_lender_that_goes_quiet_is_dropped() {
    let mut c = Cluster::new(3);
    let submitter = c.join(0, 9);
    let leaver = c.join(1, 1);
    c.join(2, 2);
    c.announce();
    assert_eq!(c.relay(0).remote_counts().0, 2);
    // B's worker leaves: B's next announcement no longer lists it, and A stops offering it.
    c.leave(1, leaver);
    c.announce();
    assert_eq!(c.relay(0).remote_counts().0, 1);
    let Progress::Done(_) = c.run_task(0, submitter, spec(1, 1)) else {
        panic!()
    };
    assert_eq!(workers_of(c.hub(0), c.now, 1), [id(2).to_string()].into());
    // C goes quiet (it died, or lost NATS): its workers are dropped after the TTL.
    c.announce_except(&[2]);
    c.advance(BORROWED_TTL_MS + 1);
    assert_eq!(c.relay(0).remote_counts().0, 0);
    c.check();
}

#[test]
fn announcements_are_signed_bounded_and_taken_only_from_the_cluster() {
    let mut c = Cluster::with_validators(1, 7);
    let worker = |n: u16| {
        let mut seed = [0x77; 32];
        seed[..2].copy_from_slice(&n.to_le_bytes());
        PeerInfo {
            node: *SecretKey::from_seed(&seed).node_id().as_bytes(),
            exchange_key: vec![0; 128],
            role: Role::Native,
            capabilities: caps(),
        }
    };
    // A relay that is not a validator of this cluster lends nothing.
    let stranger = SecretKey::from_seed(&[0x55; 32]);
    let bytes = Announcement::encode(&stranger, vec![worker(1)], &[], &[]).unwrap();
    let now = c.now;
    let err = c
        .relay(0)
        .handle(
            now,
            Input::Announcement(Announcement::decode(&bytes).unwrap()),
        )
        .map(|h| h.count())
        .unwrap_err();
    assert_eq!(err.code(), "EN-209");
    // A changed byte breaks the signature.
    let mut bytes = Announcement::encode(&relay_key(1), vec![worker(1)], &[], &[]).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    assert!(Announcement::decode(&bytes).is_err());
    // More than the bound in one announcement is refused whole.
    let many: Vec<PeerInfo> = (0..=MAX_ANNOUNCED_WORKERS)
        .map(|i| worker(u16::try_from(i).unwrap()))
        .collect();
    let bytes = Announcement::encode(&relay_key(1), many, &[], &[]).unwrap();
    assert_eq!(Announcement::decode(&bytes).unwrap_err().code(), "EN-204");
    let crowd: Vec<([u8; 32], u16)> = (0..=MAX_ANNOUNCED_SUBMITTERS)
        .map(|i| (*id(u8::try_from(i % 256).unwrap()).as_bytes(), 1))
        .collect();
    let bytes = Announcement::encode(&relay_key(1), vec![], &crowd, &[]).unwrap();
    assert_eq!(Announcement::decode(&bytes).unwrap_err().code(), "EN-204");
    let counts: Vec<([u8; 32], u32)> = (0..=MAX_ANNOUNCED_BUSY)
        .map(|i| (*id(u8::try_from(i % 256).unwrap()).as_bytes(), 1))
        .collect();
    let bytes = Announcement::encode(&relay_key(1), vec![], &[], &counts).unwrap();
    assert_eq!(Announcement::decode(&bytes).unwrap_err().code(), "EN-204");
    // Cut short anywhere, it is refused, never read in part.
    let bytes = Announcement::encode(&relay_key(1), vec![worker(1)], &crowd[..3], &[]).unwrap();
    for cut in [0, 50, 99, 100, 140, bytes.len() - 1] {
        assert!(Announcement::decode(&bytes[..cut]).is_err(), "cut at {cut}");
    }
    // Six lenders of 64 workers each: the relay borrows at most MAX_BORROWED.
    let mut n = 0u16;
    for lender in 1..=6 {
        let workers: Vec<PeerInfo> = (0..MAX_ANNOUNCED_WORKERS)
            .map(|_| {
                n += 1;
                worker(n)
            })
            .collect();
        let bytes = Announcement::encode(&relay_key(lender), workers, &[], &[]).unwrap();
        let now = c.now;
        c.relay(0)
            .handle(
                now,
                Input::Announcement(Announcement::decode(&bytes).unwrap()),
            )
            .map(|h| h.count())
            .unwrap();
    }
    const { assert!(6 * MAX_ANNOUNCED_WORKERS > MAX_BORROWED) };
    assert_eq!(c.relay(0).remote_counts().0, MAX_BORROWED);
    // A lender announcing again keeps what it lends: the table is full, not refreshed away.
    let again: Vec<PeerInfo> = (1..=64).map(worker).collect();
    let bytes = Announcement::encode(&relay_key(1), again, &[], &[]).unwrap();
    let now = c.now;
    let lent = c
        .relay(0)
        .handle(
            now,
            Input::Announcement(Announcement::decode(&bytes).unwrap()),
        )
        .map(|h| h.count())
        .unwrap();
    assert_eq!(lent, MAX_ANNOUNCED_WORKERS);
    c.check();
}

#[test]
fn a_flood_of_offers_for_lent_workers_is_bounded_and_an_honest_task_still_runs() {
    let mut c = Cluster::new(2);
    let submitter = c.join(0, 9);
    let flooded = id(1);
    c.join(1, 1);
    c.join(1, 2);
    let a = c.relay(0).node_id();
    let offer = |task: u32| {
        let mut id = [0u8; 16];
        id[..4].copy_from_slice(&task.to_le_bytes());
        id[15] = 0xff;
        RelayMsg::Offer {
            task: TaskId(id),
            kind: TaskKind::VECTOR_SEARCH,
            submitter: *a.as_bytes(),
        }
        .encode()
        .unwrap()
    };
    let mut codes = Vec::new();
    for task in 0..100 {
        let now = c.now;
        let r = c
            .relay(1)
            .handle(
                now,
                Input::Forwarded {
                    relay: a,
                    worker: flooded,
                    direction: Direction::ToWorker,
                    frame: &offer(task),
                },
            )
            .map(drop);
        codes.push(r.err().map(|e| e.code().to_string()));
    }
    let taken = codes.iter().filter(|c| c.is_none()).count();
    assert_eq!(taken, MAX_LENT_PER_WORKER);
    assert!(
        codes[MAX_LENT_PER_WORKER..]
            .iter()
            .all(|c| c.as_deref() == Some("EN-204"))
    );
    c.pump();
    // The honest worker still takes A's task.
    c.announce();
    let Progress::Done(_) = c.run_task(0, submitter, spec(1, 1)) else {
        panic!()
    };
    c.check();
    // Unclaimed offers' routes end on their own.
    c.advance(OFFER_ROUTE_MS + 1);
    assert_eq!(c.relay(1).remote_counts().1, 0);
    c.check();
}

#[test]
fn the_lenders_route_table_is_bounded_in_all() {
    let mut c = Cluster::new(2);
    let per_worker = MAX_LENT_PER_WORKER;
    let workers = MAX_LENT / per_worker + 1;
    let seeds: Vec<u8> = (1..=u8::try_from(workers).unwrap()).collect();
    for &s in &seeds {
        c.join(1, s);
    }
    let a = c.relay(0).node_id();
    let mut refused = 0;
    for (w, &s) in seeds.iter().enumerate() {
        for t in 0..per_worker {
            let mut task = [0u8; 16];
            task[..8].copy_from_slice(&((w * per_worker + t) as u64).to_le_bytes());
            let frame = RelayMsg::Offer {
                task: TaskId(task),
                kind: TaskKind::VECTOR_SEARCH,
                submitter: *a.as_bytes(),
            }
            .encode()
            .unwrap();
            let now = c.now;
            if c.relay(1)
                .handle(
                    now,
                    Input::Forwarded {
                        relay: a,
                        worker: id(s),
                        direction: Direction::ToWorker,
                        frame: &frame,
                    },
                )
                .map(drop)
                .is_err()
            {
                refused += 1;
            }
        }
    }
    assert_eq!(c.relay(1).remote_counts().1, MAX_LENT);
    assert_eq!(refused, workers * per_worker - MAX_LENT);
    // Only task frames go to a lent worker, and only from another relay of the cluster.
    let welcome = RelayMsg::Welcome { peers: vec![] }.encode().unwrap();
    let now = c.now;
    let err = c
        .relay(1)
        .handle(
            now,
            Input::Forwarded {
                relay: a,
                worker: id(1),
                direction: Direction::ToWorker,
                frame: &welcome,
            },
        )
        .map(drop)
        .unwrap_err();
    assert_eq!(err.code(), "EN-209");
    let stranger = SecretKey::from_seed(&[0x55; 32]).node_id();
    let now = c.now;
    let err = c
        .relay(1)
        .handle(
            now,
            Input::Forwarded {
                relay: stranger,
                worker: id(1),
                direction: Direction::ToWorker,
                frame: &welcome,
            },
        )
        .map(drop)
        .unwrap_err();
    assert_eq!(err.code(), "EN-209");
    c.pump();
    c.check();
}

#[test]
fn a_submitters_open_tasks_count_against_its_bound_at_every_relay() {
    let config = HubConfig {
        max_open_tasks_per_submitter: 2,
        ..HubConfig::default()
    };
    let mut c = Cluster::configured(2, 2, config);
    // The same identity (seed 9) connected to both relays; no worker anywhere, so its tasks stay
    // open until they expire.
    let at_a = c.join(0, 9);
    let at_b = c.join(1, 9);
    let submit = |c: &mut Cluster, relay: usize, conn: ConnId, task: u8| {
        let before = c.nodes()[&(relay, conn)].inbox.len();
        let sub = Submission::new(spec(task, 1), search().encode().unwrap());
        c.send(relay, conn, &sub.submit_message());
        c.nodes()[&(relay, conn)].inbox[before..]
            .iter()
            .find_map(|m| match m {
                RelayMsg::Accepted { .. } => Some(Ok(())),
                RelayMsg::TaskFailed { code, .. } => Some(Err(code.clone())),
                _ => None,
            })
            .unwrap()
    };
    assert_eq!(submit(&mut c, 0, at_a, 1), Ok(()));
    assert_eq!(submit(&mut c, 0, at_a, 2), Ok(()));
    c.announce();
    // B knows of A's two: a third task at B is over the bound.
    assert_eq!(submit(&mut c, 1, at_b, 3), Err("EN-211".into()));
    // Once A's expire (and A says so), B takes it.
    c.advance(60_001);
    c.announce();
    assert_eq!(submit(&mut c, 1, at_b, 3), Ok(()));
    c.check();
}

#[test]
fn an_identity_connected_to_two_relays_has_one_message_rate_across_them() {
    let limit = 60;
    let base = HubConfig {
        max_messages_per_minute: limit,
        ..HubConfig::default()
    };
    let mut c = Cluster::configured(2, 2, base);
    // One identity on both relays at once, and an honest one on the second.
    let at_a = c.join(0, 7);
    let at_b = c.join(1, 7);
    let honest = c.join(1, 8);
    let chatty = |c: &mut Cluster, relay: usize, conn: ConnId, n: usize| {
        let heads = edgenet_proto::message::ClientMsg::Ledger(
            edgenet_core::ledger::sync::SyncMessage::Heads(Vec::new()),
        );
        for i in 0..n {
            if c.nodes()[&(relay, conn)].closed {
                return i;
            }
            c.send(relay, conn, &heads);
        }
        n
    };
    // Two thirds of the minute's messages at A, which B learns from A's announcement.
    assert_eq!(chatty(&mut c, 0, at_a, 40), 40);
    assert!(!c.nodes()[&(0, at_a)].closed);
    c.announce();
    // At B the identity has only the last third left: past it, EN-207 closes its connection
    // (alone, B would have let all 40 through).
    let sent = chatty(&mut c, 1, at_b, 40);
    assert!(c.nodes()[&(1, at_b)].closed, "the cluster-wide rate held");
    assert!(sent < 25, "{sent} messages at B");
    // The honest identity at B is not touched.
    assert_eq!(chatty(&mut c, 1, honest, 30), 30);
    assert!(!c.nodes()[&(1, honest)].closed);
    c.check();
}
