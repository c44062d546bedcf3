//! The relay's state machine driven in memory: clients, the hub and a clock, no sockets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use std::collections::BTreeMap;

use edgenet_core::kinds::vector_search::KnnResult;
use edgenet_core::task::{TaskId, TaskKind};
use edgenet_core::{ErrorCode, NodeId, SecretKey};
use edgenet_proto::hub::{ConnId, Hub, HubConfig, Input, NetGroup, Output, TRUSTED_REPUTATION};
use edgenet_proto::message::{
    Capabilities, ClientMsg, HelloBody, PeerInfo, RelayMsg, Role, TaskSpec,
};
use edgenet_proto::submit::{Progress, Submission};
use edgenet_sim::{Addr, Network};
use rand_chacha::rand_core::SeedableRng;
use support::peers::{Behaviour, SessionPeer};
use support::{caps, reference_knn, search};

mod support;

type Rng = rand_chacha::ChaCha20Rng;

/// One relay and its nodes on the in-memory network.
struct Net {
    net: Network<SessionPeer>,
}

support::wraps_network!(Net, SessionPeer);

/// Proof of work the test relays ask (real proofs, cheap ones: a few Argon2id digests).
const TEST_WORK_BITS: u8 = 2;

impl Net {
    fn new(config: HubConfig) -> Self {
        let config = HubConfig {
            work_bits: config.work_bits.min(TEST_WORK_BITS),
            ..config
        };
        let mut net = Network::with_rng(Rng::from_seed([5; 32]));
        net.add_relay(Hub::new(SecretKey::from_seed(&[0xee; 32]), config));
        Self { net }
    }

    fn hub(&mut self) -> &mut Hub {
        self.net.hub_mut(0)
    }

    /// The hub's view of its tasks now.
    fn tasks(&self) -> Vec<edgenet_proto::hub::TaskSummary> {
        self.net.hub(0).tasks(self.net.now)
    }

    /// The nodes by connection (those that left too: their inboxes stay readable).
    fn nodes(&self) -> BTreeMap<ConnId, &SessionPeer> {
        self.net.peers().map(|(a, p)| (a.conn, p)).collect()
    }

    fn join(&mut self, seed: u8, behaviour: Behaviour) -> ConnId {
        self.join_with(&[seed; 32], behaviour, vec![TaskKind::VECTOR_SEARCH])
    }

    /// A node with its own key seed, running `kernels`.
    fn join_with(
        &mut self,
        seed: &[u8; 32],
        behaviour: Behaviour,
        kernels: Vec<TaskKind>,
    ) -> ConnId {
        let conn = self.net.fresh_conn();
        let relay = self.hub().node_id();
        let caps = Capabilities { kernels, ..caps() };
        let peer = SessionPeer::new(SecretKey::from_seed(seed), caps, relay).behaving(behaviour);
        self.net.connect(0, conn, peer, *seed);
        conn
    }

    /// [`Net::join_with`] from the address `ip` (the relay keeps one network's workers apart).
    fn join_from(
        &mut self,
        seed: u8,
        behaviour: Behaviour,
        kernels: Vec<TaskKind>,
        ip: &str,
    ) -> ConnId {
        let conn = self.net.fresh_conn();
        let relay = self.hub().node_id();
        let caps = Capabilities { kernels, ..caps() };
        let key = SecretKey::from_seed(&[seed; 32]);
        let peer = SessionPeer::new(key, caps, relay).behaving(behaviour);
        let network = NetGroup::of(ip.parse().unwrap());
        self.net.connect_from(0, conn, peer, [seed; 32], network);
        conn
    }

    fn leave(&mut self, conn: ConnId) {
        self.net.disconnect(Addr::new(0, conn));
    }

    fn tick(&mut self, ms: u64) {
        self.net.jump(ms);
    }

    fn send(&mut self, conn: ConnId, msg: &ClientMsg) {
        let peer = self.net.peer_mut(Addr::new(0, conn)).unwrap();
        peer.session.send(msg).unwrap();
        self.net.settle();
    }

    /// `conn` submits `sub` and drives it itself as messages arrive.
    fn submit_driven(&mut self, conn: ConnId, sub: Submission) {
        self.net.peer_mut(Addr::new(0, conn)).unwrap().submit(sub);
        self.net.settle();
    }

    fn raw(&mut self, conn: ConnId, frame: &[u8]) -> Result<(), edgenet_proto::ProtoError> {
        self.net.inject(Addr::new(0, conn), frame).map(drop)
    }
}

fn spec(id: u8, redundancy: u8, timeout_ms: u32) -> TaskSpec {
    TaskSpec {
        id: TaskId([id; 16]),
        kind: TaskKind::VECTOR_SEARCH,
        redundancy,
        max_credits: 0, // unpaid; the paid flow has its own test
        priority: 0,
        timeout_ms,
    }
}

/// Submits from `conn` and drives the network, deadline by deadline, until the task finishes or
/// `max_steps` deadlines pass.
fn run_task(net: &mut Net, conn: ConnId, spec: TaskSpec, max_steps: u32) -> Progress {
    let key = net.nodes()[&conn].session.key().clone();
    let mut sub = Submission::new(spec, search().encode().unwrap());
    // Only what arrives from now on is about this submission (an earlier one may share its id).
    let mut seen = net.nodes()[&conn].inbox.len();
    net.send(conn, &sub.submit_message());
    for _ in 0..max_steps {
        if let Some(progress) = answer(net, conn, &mut sub, &key, &mut seen) {
            return progress;
        }
        if !net.drive() {
            break;
        }
    }
    panic!("task did not finish");
}

/// Feeds the submitter's new messages to `sub` until nothing new arrives; returns how it ended.
fn answer(
    net: &mut Net,
    conn: ConnId,
    sub: &mut Submission,
    key: &SecretKey,
    seen: &mut usize,
) -> Option<Progress> {
    loop {
        let inbox: Vec<RelayMsg> = net.nodes()[&conn].inbox[*seen..].to_vec();
        if inbox.is_empty() {
            return None;
        }
        *seen += inbox.len();
        for m in inbox {
            let (progress, replies) = sub.handle(&m, key, &mut net.rng).unwrap();
            // As a native node does: a verdict that outvotes comes with its evidence.
            for r in sub.with_evidence(replies) {
                net.send(conn, &r);
            }
            if matches!(progress, Progress::Done(_) | Progress::Failed(_)) {
                return Some(progress);
            }
        }
    }
}

/// The node `seed` on `conn` locks `amount` for `task` in its chain, as `submit --pay` does.
fn escrow(net: &mut Net, conn: ConnId, seed: u8, task: TaskId, amount: u64) {
    own_entry(
        net,
        conn,
        seed,
        edgenet_core::ledger::EntryKind::Escrow { task, amount },
    );
}

/// Credits for `to`, minted by the relay (as an uptime bonus would be).
fn mint(net: &mut Net, to: edgenet_core::ledger::Account, amount: u64) {
    support::mint(net.hub(), to, amount);
}

/// `seed`'s next entry of its own chain, sent to the relay from `conn`.
fn own_entry(net: &mut Net, conn: ConnId, seed: u8, kind: edgenet_core::ledger::EntryKind) {
    let msg = support::own_entry(net.hub(), seed, kind);
    net.send(conn, &msg);
}

/// An honest task from `submitter` runs to its verdict (what every attack test checks last).
fn honest_task_completes(net: &mut Net, submitter: ConnId) {
    let Progress::Done(_) = run_task(net, submitter, spec(4, 1, 60_000), 10) else {
        panic!("the honest task did not finish")
    };
}

/// The ledger acknowledgements `conn` received from its `from`th message on: (held, rejected,
/// first code).
fn acks(net: &Net, conn: ConnId, from: usize) -> Vec<(u32, u32, Option<String>)> {
    net.nodes()[&conn].inbox[from..]
        .iter()
        .filter_map(|m| match m {
            RelayMsg::LedgerAck {
                held,
                rejected,
                code,
                ..
            } => Some((*held, *rejected, code.clone())),
            _ => None,
        })
        .collect()
}

fn id(seed: u8) -> NodeId {
    SecretKey::from_seed(&[seed; 32]).node_id()
}

#[test]
fn handshake_and_discovery() {
    let mut net = Net::new(HubConfig::default());
    let a = net.join(1, Behaviour::Honest);
    let b = net.join(2, Behaviour::Honest);
    assert!(matches!(&net.nodes()[&a].inbox[0], RelayMsg::Welcome { peers } if peers.is_empty()));
    assert!(
        matches!(&net.nodes()[&b].inbox[0], RelayMsg::Welcome { peers } if peers.len() == 1 && peers[0].node == *id(1).as_bytes())
    );
    assert!(
        net.nodes()[&a]
            .inbox
            .iter()
            .any(|m| matches!(m, RelayMsg::PeerJoined(p) if p.node == *id(2).as_bytes()))
    );
    net.leave(b);
    assert!(
        net.nodes()[&a]
            .inbox
            .iter()
            .any(|m| matches!(m, RelayMsg::PeerLeft { node } if *node == *id(2).as_bytes()))
    );
    assert_eq!(net.hub().stats().peers, 1);
}

#[test]
fn three_honest_workers_agree_with_the_reference() {
    let mut net = Net::new(HubConfig::default());
    for s in 1..=3 {
        net.join(s, Behaviour::Honest);
    }
    let submitter = net.join(9, Behaviour::Honest);
    let Progress::Done(outcome) = run_task(&mut net, submitter, spec(1, 3, 60_000), 5) else {
        panic!()
    };
    assert_eq!(
        KnnResult::decode(&outcome.result).unwrap(),
        reference_knn(&search())
    );
    assert_eq!(outcome.agreeing.len(), 3);
    assert!(outcome.outvoted.is_empty());
    let tasks = net.tasks();
    assert_eq!(tasks[0].status, "verified");
    for s in 1..=3 {
        let conn = net
            .nodes()
            .iter()
            .find(|(_, n)| n.session.key().node_id() == id(s))
            .map(|(c, _)| *c)
            .unwrap();
        assert!(
            net.nodes()[&conn]
                .inbox
                .iter()
                .any(|m| matches!(m, RelayMsg::Verdict { .. })),
            "worker {s} got the verdict"
        );
    }
}

#[test]
fn offers_go_out_in_bounded_rounds() {
    let mut net = Net::new(HubConfig::default());
    for s in 1..=40 {
        net.join(s, Behaviour::Honest);
    }
    let submitter = net.join(99, Behaviour::Honest);
    let Progress::Done(outcome) = run_task(&mut net, submitter, spec(9, 3, 60_000), 5) else {
        panic!()
    };
    assert_eq!(outcome.agreeing.len(), 3);
    let offered = net
        .nodes()
        .values()
        .filter(|n| n.inbox.iter().any(|m| matches!(m, RelayMsg::Offer { .. })))
        .count();
    assert_eq!(
        offered,
        HubConfig::default().offers_per_round,
        "one round reached 16 of 40 capable peers"
    );
}

#[test]
fn a_liar_is_outvoted_and_named() {
    let mut net = Net::new(HubConfig::default());
    net.join(1, Behaviour::Honest);
    net.join(2, Behaviour::Liar);
    net.join(3, Behaviour::Honest);
    let submitter = net.join(9, Behaviour::Honest);
    let Progress::Done(outcome) = run_task(&mut net, submitter, spec(2, 3, 60_000), 5) else {
        panic!()
    };
    assert_eq!(outcome.outvoted, vec![id(2)]);
    assert_eq!(
        KnnResult::decode(&outcome.result).unwrap(),
        reference_knn(&search())
    );
    assert_eq!(net.tasks()[0].outvoted, vec![id(2).to_string()]);
}

#[test]
fn a_vanished_worker_is_replaced() {
    let mut net = Net::new(HubConfig::default());
    net.join(1, Behaviour::Honest);
    let silent = net.join(2, Behaviour::Silent);
    net.join(3, Behaviour::Honest);
    let submitter = net.join(9, Behaviour::Honest);
    let key = net.nodes()[&submitter].session.key().clone();
    let mut sub = Submission::new(spec(3, 3, 60_000), search().encode().unwrap());
    net.send(submitter, &sub.submit_message());
    let mut seen = 0;
    assert!(answer(&mut net, submitter, &mut sub, &key, &mut seen).is_none());
    assert_eq!(net.tasks()[0].work.len(), 3);
    net.leave(silent);
    net.join(4, Behaviour::Honest);
    let done = match answer(&mut net, submitter, &mut sub, &key, &mut seen) {
        Some(Progress::Done(o)) => Some(o),
        _ => None,
    };
    let outcome = done.expect("finished after reassignment");
    assert!(outcome.agreeing.contains(&id(4)) && !outcome.agreeing.contains(&id(2)));
    // Claim order follows the hub's peer table, so only the outcome is checked, not the order.
    let work = &net.tasks()[0].work;
    let lost: Vec<&str> = work
        .iter()
        .filter(|w| w.state == "lost")
        .map(|w| w.worker.as_str())
        .collect();
    assert_eq!(lost, vec![id(2).to_string().as_str()]);
    assert_eq!(work.iter().filter(|w| w.state == "returned").count(), 3);
    assert_eq!(net.hub().stats().reassignments, 1);
}

#[test]
fn a_missed_deadline_reassigns_and_an_unfinished_task_expires() {
    let config = HubConfig {
        assignment_timeout_ms: 5_000,
        ..HubConfig::default()
    };
    let mut net = Net::new(config);
    net.join(1, Behaviour::Honest);
    net.join(2, Behaviour::Silent);
    let submitter = net.join(9, Behaviour::Honest);
    // Two workers for redundancy 2, one silent: after its deadline the task is offered again, but
    // nobody new is there, so at the task's timeout it fails with EN-212.
    let progress = run_task(&mut net, submitter, spec(4, 2, 20_000), 40);
    let Progress::Failed(err) = progress else {
        panic!("{progress:?}")
    };
    assert!(
        matches!(&err, edgenet_proto::ProtoError::Remote { code, .. } if code == "EN-212"),
        "{err:?}"
    );
    assert!(net.hub().stats().reassignments >= 1);
    assert_eq!(net.tasks()[0].status, "failed");
}

#[test]
fn bad_input_gets_its_code_and_the_hub_keeps_serving() {
    let mut net = Net::new(HubConfig {
        max_messages_per_minute: 20,
        ..HubConfig::default()
    });
    let good = net.join(1, Behaviour::Honest);

    let raw = |net: &mut Net, frame: &[u8]| -> String {
        let conn = 100 + net.fresh_conn();
        let now = net.now;
        let _ = net.hub().handle(
            now,
            Input::Connect {
                conn,
                nonce: [7; 32],
                network: None,
            },
        );
        let err = net.raw(conn, frame).unwrap_err();
        err.code().to_owned()
    };
    let garbage = [&[edgenet_proto::PROTOCOL_VERSION][..], b"garbage\xff\xff"].concat();
    assert_eq!(raw(&mut net, &garbage), "EN-203");
    assert_eq!(
        raw(&mut net, &vec![1u8; edgenet_proto::MAX_FRAME_LEN + 10]),
        "EN-201"
    );
    assert_eq!(raw(&mut net, &[9, 0, 0]), "EN-202");
    assert_eq!(
        raw(
            &mut net,
            &ClientMsg::Claim {
                task: TaskId([1; 16])
            }
            .encode()
            .unwrap()
        ),
        "EN-205"
    );

    // A hello signed over another connection's challenge (a replay) is refused.
    let key = SecretKey::from_seed(&[3; 32]);
    let body = HelloBody {
        version: edgenet_proto::PROTOCOL_VERSION,
        peer: PeerInfo {
            node: *key.node_id().as_bytes(),
            exchange_key: edgenet_core::SignedExchangeKey::for_identity(&key)
                .encode()
                .to_vec(),
            role: Role::Native,
            capabilities: caps(),
        },
    };
    let transcript = edgenet_proto::handshake::hello_transcript(
        &[42; 32],
        net.hub().node_id().as_bytes(),
        &body,
    )
    .unwrap();
    let replayed = ClientMsg::Hello {
        body: body.clone(),
        signature: key.sign(&transcript).to_bytes().to_vec(),
    };
    assert_eq!(raw(&mut net, &replayed.encode().unwrap()), "EN-206");
    let forged = ClientMsg::Hello {
        body,
        signature: vec![0; 64],
    };
    assert_eq!(raw(&mut net, &forged.encode().unwrap()), "EN-206");

    // Rate limit: the 21st message in a minute closes the connection.
    let flood = net.join(5, Behaviour::Honest);
    let claim = ClientMsg::Claim {
        task: TaskId([9; 16]),
    };
    let mut codes = vec![];
    for _ in 0..25 {
        let now = net.now;
        if let Err(e) = net
            .hub()
            .handle(
                now,
                Input::Frame {
                    conn: flood,
                    bytes: &claim.encode().unwrap(),
                },
            )
            .map(drop)
        {
            codes.push(e.code());
        }
    }
    assert_eq!(codes.first(), Some(&"EN-207"));

    // Handshake timeout.
    let now = net.now;
    let _ = net.hub().handle(
        now,
        Input::Connect {
            conn: 999,
            nonce: [8; 32],
            network: None,
        },
    );
    while net.hub().stats().connections > 1 && net.drive() {}
    assert_eq!(
        net.hub().stats().connections,
        1,
        "only the good client is left"
    );
    let _ = good;

    // Invalid task parameters are per-task errors: the connection stays open.
    let s = net.join(6, Behaviour::Honest);
    net.send(s, &ClientMsg::Submit(spec(7, 0, 1000)));
    net.send(s, &ClientMsg::Submit(spec(7, 3, 1000)));
    net.send(s, &ClientMsg::Submit(spec(7, 3, 1000)));
    let codes: Vec<String> = net.nodes()[&s]
        .inbox
        .iter()
        .filter_map(|m| {
            if let RelayMsg::TaskFailed { code, .. } = m {
                Some(code.clone())
            } else {
                None
            }
        })
        .collect();
    // Refusals are the refused task's failure, so a node knows which submission it was.
    assert_eq!(codes, vec!["EN-211", "EN-210"]);
    assert!(!net.nodes()[&s].closed);
}

#[test]
fn a_kind_this_release_does_not_know_is_refused_alone() {
    let mut net = Net::new(HubConfig::default());
    for seed in 1..=3 {
        net.join(seed, Behaviour::Honest);
    }
    let s = net.join(6, Behaviour::Honest);
    // A newer peer's kind: the frame decodes, the task is refused with its own code.
    let unknown = TaskSpec {
        kind: TaskKind::from_wire(4_000),
        ..spec(7, 1, 1000)
    };
    net.send(s, &ClientMsg::Submit(unknown));
    let refused: Vec<(String, String)> = net.nodes()[&s]
        .inbox
        .iter()
        .filter_map(|m| match m {
            RelayMsg::TaskFailed { code, message, .. } => Some((code.clone(), message.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].0, "EN-144");
    assert!(refused[0].1.contains("4000"), "{}", refused[0].1);
    assert!(!net.nodes()[&s].closed, "the connection stays open");
    // The same submitter's known task still runs.
    honest_task_completes(&mut net, s);
}

#[test]
fn workers_online_for_a_period_get_the_uptime_bonus_minted_and_sent() {
    use edgenet_core::ledger::sync::SyncMessage;
    use edgenet_core::ledger::{Account, EntryKind, MintReason, curve};
    let mut net = Net::new(HubConfig {
        uptime_period_ms: 1_000,
        uptime_bonus: 100_000,
        ..HubConfig::default()
    });
    let a = net.join(1, Behaviour::Honest);
    // A worker that never answers the relay's proof-of-work challenges is never paid.
    let idle = net.join(2, Behaviour::Idle);
    assert!(
        net.nodes()[&idle]
            .inbox
            .iter()
            .any(|m| matches!(m, RelayMsg::WorkWanted { .. }))
    );
    assert_eq!(net.hub().poll_timeout(), Some(net.now + 1_000));
    net.tick(999);
    let account = Account::of(&id(1));
    assert_eq!(
        net.hub().ledger().account(&account).balance,
        0,
        "not a whole period yet"
    );
    net.tick(1_600); // 2.599 s online: two whole periods, each proved (two proofs banked)
    let a_state = net.hub().ledger().account(&account);
    // Times the early-adopter multiplier (10x at the start of the curve).
    let first = 200_000 + curve::bonus(200_000, 0);
    assert_eq!(first, 2_000_000);
    assert_eq!((a_state.balance, a_state.earned), (first, first));
    let minted: Vec<_> = net.nodes()[&a]
        .inbox
        .iter()
        .filter_map(|m| match m {
            RelayMsg::Ledger(SyncMessage::Entries(es)) => Some(es.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(minted.len(), 1, "one mint for both periods");
    assert!(matches!(
        minted[0].body.kind,
        EntryKind::Mint {
            amount: 2_000_000,
            reason: MintReason::Uptime { seconds: 2 },
            ..
        }
    ));
    // A third period completes; the half period left when it disconnects is not paid.
    net.tick(900);
    // The curve moved on by the two proven seconds.
    let total = first + 100_000 + curve::bonus(100_000, 2);
    assert_eq!(net.hub().ledger().account(&account).balance, total);
    net.tick(500);
    net.leave(a);
    net.leave(idle);
    net.tick(60_000); // past the rate windows the proofs opened, too
    assert_eq!(net.hub().ledger().account(&account).balance, total);
    assert_eq!(net.hub().ledger().account(&Account::of(&id(2))).balance, 0);
    assert_eq!(net.hub().poll_timeout(), None);
}

#[test]
fn a_paid_task_pays_the_agreeing_workers_refunds_the_rest_and_marks_down_the_liar() {
    use edgenet_core::ledger::Account;
    use edgenet_core::ledger::sync::SyncMessage;
    let mut net = Net::new(HubConfig::default());
    net.join(1, Behaviour::Honest);
    net.join(2, Behaviour::Liar);
    net.join(3, Behaviour::Honest);
    let submitter = net.join(9, Behaviour::Honest);
    let payer = Account::of(&id(9));
    mint(&mut net, payer, 10_000_000);
    let paid = TaskSpec {
        max_credits: 3_000_000,
        ..spec(7, 3, 60_000)
    };
    // Without an escrow, a paid task is refused with EN-220 and its balance.
    net.send(submitter, &ClientMsg::Submit(paid.clone()));
    let refused = net.nodes()[&submitter]
        .inbox
        .iter()
        .rev()
        .find_map(|m| match m {
            RelayMsg::TaskFailed {
                task,
                code,
                message,
            } if *task == paid.id => Some((code.clone(), message.clone())),
            _ => None,
        });
    let (code, message) = refused.unwrap();
    assert_eq!(code, "EN-220");
    assert!(message.contains("balance 10000000"), "{message}");

    // Escrow, then submit: two honest workers are paid a third each (no bonus is minted on a
    // payment: a submitter paying its own second identity would mint itself 9x); the liar is
    // not paid and loses reputation; the liar's third comes back to the submitter.
    escrow(&mut net, submitter, 9, paid.id, 3_000_000);
    assert_eq!(net.hub().ledger().account(&payer).escrowed, 3_000_000);
    let Progress::Done(outcome) = run_task(&mut net, submitter, paid, 5) else {
        panic!()
    };
    assert_eq!(outcome.outvoted, vec![id(2)]);
    for honest in [1, 3] {
        let a = net.hub().ledger().account(&Account::of(&id(honest)));
        assert_eq!(a.balance, 1_000_000, "worker {honest}");
        assert_eq!(a.earned, a.balance);
    }
    let liar = net.hub().ledger().account(&Account::of(&id(2)));
    assert_eq!((liar.balance, liar.reputation), (0, Some(4_000)));
    let p = net.hub().ledger().account(&payer);
    assert_eq!((p.balance, p.escrowed, p.spent), (8_000_000, 0, 2_000_000));
    // Each worker was sent the entries that name it.
    let got = |conn: ConnId| {
        net.nodes()[&conn]
            .inbox
            .iter()
            .filter(|m| matches!(m, RelayMsg::Ledger(SyncMessage::Entries(_))))
            .count()
    };
    assert!(got(1) >= 1 && got(2) >= 1 && got(3) >= 1 && got(submitter) >= 1);
}

#[test]
fn a_failed_paid_task_is_refunded_and_paid_only_refuses_unpaid_tasks() {
    use edgenet_core::ledger::Account;
    let mut net = Net::new(HubConfig {
        paid_only: true,
        ..HubConfig::default()
    });
    let submitter = net.join(9, Behaviour::Honest);
    net.send(submitter, &ClientMsg::Submit(spec(1, 1, 60_000)));
    assert!(
        net.nodes()[&submitter]
            .inbox
            .iter()
            .any(|m| matches!(m, RelayMsg::TaskFailed { code, .. } if code == "EN-221"))
    );
    let payer = Account::of(&id(9));
    mint(&mut net, payer, 5_000_000);
    let paid = TaskSpec {
        max_credits: 2_000_000,
        ..spec(2, 1, 3_000)
    };
    escrow(&mut net, submitter, 9, paid.id, 2_000_000);
    // No worker is online: the task expires and the escrow comes back whole.
    let Progress::Failed(_) = run_task(&mut net, submitter, paid, 10) else {
        panic!()
    };
    let p = net.hub().ledger().account(&payer);
    assert_eq!((p.balance, p.escrowed, p.spent), (5_000_000, 0, 0));
}

/// `payer`'s figures, and whether it was sent a refund of `task`.
fn refunded(net: &mut Net, conn: ConnId, seed: u8, task: TaskId) -> (u64, u64, bool) {
    use edgenet_core::ledger::sync::SyncMessage;
    use edgenet_core::ledger::{Account, EntryKind};
    let a = net.hub().ledger().account(&Account::of(&id(seed)));
    let told = net.nodes()[&conn].inbox.iter().any(|m| match m {
        RelayMsg::Ledger(SyncMessage::Entries(entries)) => entries
            .iter()
            .any(|e| matches!(e.body.kind, EntryKind::Refund { task: t, .. } if t == task)),
        _ => false,
    });
    (a.balance, a.escrowed, told)
}

#[test]
fn an_escrow_whose_task_never_comes_is_refunded_after_the_grace() {
    use edgenet_core::ledger::{Account, EntryKind};
    let mut net = Net::new(HubConfig {
        escrow_grace_ms: 10_000,
        canary_reward: 0,
        ..HubConfig::default()
    });
    let submitter = net.join(9, Behaviour::Honest);
    mint(&mut net, Account::of(&id(9)), 5_000_000);
    // Three escrows: one never followed by its task, one whose task is refused (redundancy 0),
    // one whose task is submitted and still open (no worker online) when the grace ends.
    let (lost, refused, running) = (spec(1, 1, 60_000), spec(2, 0, 60_000), spec(3, 1, 60_000));
    for t in [&lost, &refused, &running] {
        escrow(&mut net, submitter, 9, t.id, 1_000_000);
    }
    net.send(
        submitter,
        &ClientMsg::Submit(TaskSpec {
            max_credits: 1_000_000,
            ..refused.clone()
        }),
    );
    net.send(
        submitter,
        &ClientMsg::Submit(TaskSpec {
            max_credits: 1_000_000,
            ..running.clone()
        }),
    );
    assert_eq!(
        refunded(&mut net, submitter, 9, lost.id),
        (2_000_000, 3_000_000, false)
    );

    net.tick(9_000);
    assert_eq!(
        refunded(&mut net, submitter, 9, lost.id).1,
        3_000_000,
        "not before the grace"
    );
    net.tick(2_000);
    let (balance, escrowed, told) = refunded(&mut net, submitter, 9, lost.id);
    assert_eq!(
        (balance, escrowed),
        (4_000_000, 1_000_000),
        "two refunded, the open task's kept"
    );
    assert!(told, "the submitter was sent its refund");
    assert!(refunded(&mut net, submitter, 9, refused.id).2);
    assert!(!refunded(&mut net, submitter, 9, running.id).2);
    // The open task expires later and is refunded by its own lifecycle, once.
    net.tick(60_000);
    assert_eq!(
        refunded(&mut net, submitter, 9, running.id),
        (5_000_000, 0, true)
    );
    let refunds = net
        .hub()
        .ledger()
        .entries()
        .filter(|e| matches!(e.body.kind, EntryKind::Refund { .. }))
        .count();
    assert_eq!(refunds, 3);
}

#[test]
fn escrows_open_when_the_relay_starts_are_refunded_at_its_first_timer() {
    use edgenet_core::ledger::{Account, Entry};
    let mut net = Net::new(HubConfig {
        canary_reward: 0,
        ..HubConfig::default()
    });
    let submitter = net.join(9, Behaviour::Honest);
    mint(&mut net, Account::of(&id(9)), 5_000_000);
    let paid = TaskSpec {
        max_credits: 2_000_000,
        ..spec(1, 1, 600_000)
    };
    escrow(&mut net, submitter, 9, paid.id, 2_000_000);
    net.send(submitter, &ClientMsg::Submit(paid.clone()));
    // The relay restarts: its tasks are gone, its ledger is reloaded from the store.
    let kept: Vec<Entry> = net.hub().ledger().entries().cloned().collect();
    let mut restarted = Hub::new(SecretKey::from_seed(&[0xee; 32]), HubConfig::default())
        .with_store(Box::new(edgenet_proto::hub::MemoryStore), kept)
        .unwrap();
    let payer = Account::of(&id(9));
    assert_eq!(restarted.ledger().account(&payer).escrowed, 2_000_000);
    assert_eq!(restarted.poll_timeout(), Some(0), "due at once");
    let _ = restarted.handle(5, Input::Timeout);
    let a = restarted.ledger().account(&payer);
    assert_eq!((a.balance, a.escrowed), (5_000_000, 0));
    assert_eq!(restarted.poll_timeout(), None);
}

/// Workers 1 (honest), 2 (liar) and 3 (honest), each with `stake` staked, and a submitter (9)
/// with 10 credits.
fn staked_network(stake: u64) -> (Net, ConnId) {
    use edgenet_core::ledger::{Account, EntryKind};
    let mut net = Net::new(HubConfig {
        canary_reward: 0,
        ..HubConfig::default()
    });
    for (seed, behaviour) in [
        (1, Behaviour::Honest),
        (2, Behaviour::Liar),
        (3, Behaviour::Honest),
    ] {
        let conn = net.join(seed, behaviour);
        mint(&mut net, Account::of(&id(seed)), stake);
        own_entry(&mut net, conn, seed, EntryKind::Stake { amount: stake });
    }
    let submitter = net.join(9, Behaviour::Honest);
    mint(&mut net, Account::of(&id(9)), 10_000_000);
    (net, submitter)
}

#[test]
fn an_outvoted_worker_with_stake_is_slashed_a_share_with_its_commitment_as_evidence() {
    use edgenet_core::ledger::{Account, EntryKind, Evidence};
    let (mut net, submitter) = staked_network(2_000_000);
    let paid = TaskSpec {
        max_credits: 3_000_000,
        ..spec(7, 3, 60_000)
    };
    escrow(&mut net, submitter, 9, paid.id, 3_000_000);
    let Progress::Done(outcome) = run_task(&mut net, submitter, paid.clone(), 5) else {
        panic!()
    };
    assert_eq!(outcome.outvoted, vec![id(2)]);
    let liar = net.hub().ledger().account(&Account::of(&id(2)));
    assert_eq!(
        (liar.stake, liar.reputation),
        (1_000_000, Some(4_000)),
        "a share (1 credit) slashed"
    );
    for honest in [1, 3] {
        assert_eq!(
            net.hub().ledger().account(&Account::of(&id(honest))).stake,
            2_000_000
        );
    }
    assert_eq!(net.hub().ledger().state().burned, 1_000_000);
    // The slash carries the liar's own signed commitment (the ledger verified it on insert), and
    // the liar was sent it.
    let slash = net
        .hub()
        .ledger()
        .entries()
        .find_map(|e| match &e.body.kind {
            EntryKind::Slash {
                evidence: Evidence::Outvoted { task, .. },
                ..
            } => Some(*task),
            _ => None,
        });
    assert_eq!(slash, Some(paid.id));
    let told = net.nodes()[&2].inbox.iter().any(|m| matches!(m, RelayMsg::Ledger(edgenet_core::ledger::sync::SyncMessage::Entries(es)) if es.iter().any(|e| matches!(e.body.kind, EntryKind::Slash { .. }))));
    assert!(told);
}

#[test]
fn a_verdict_that_outvotes_a_result_equal_to_an_agreeing_one_costs_that_worker_nothing() {
    use edgenet_core::ledger::Account;
    let (mut net, submitter) = staked_network(2_000_000);
    let paid = TaskSpec {
        max_credits: 2_000_000,
        ..spec(8, 2, 60_000)
    };
    // Only the honest workers are online, so both results are the same bytes.
    net.leave(2);
    escrow(&mut net, submitter, 9, paid.id, 2_000_000);
    let key = SecretKey::from_seed(&[9; 32]);
    let mut sub = Submission::new(paid.clone(), search().encode().unwrap());
    let mut seen = net.nodes()[&submitter].inbox.len();
    net.send(submitter, &sub.submit_message());
    for _ in 0..5 {
        let inbox: Vec<RelayMsg> = net.nodes()[&submitter].inbox[seen..].to_vec();
        seen += inbox.len();
        for msg in inbox {
            let (_, replies) = sub.handle(&msg, &key, &mut net.rng).unwrap();
            // The submitter's own (honest) verdict is replaced by a false one below.
            for r in replies
                .into_iter()
                .filter(|r| !matches!(r, ClientMsg::Verdict { .. }))
            {
                net.send(submitter, &r);
            }
        }
        if sub.is_finished() {
            break;
        }
        net.tick(1_000);
    }
    assert!(sub.is_finished());
    net.send(
        submitter,
        &ClientMsg::Verdict {
            task: paid.id,
            agreeing: vec![*id(1).as_bytes()],
            outvoted: vec![*id(3).as_bytes()],
        },
    );
    let framed = net.hub().ledger().account(&Account::of(&id(3)));
    assert_eq!(
        (framed.stake, framed.reputation),
        (2_000_000, None),
        "no slash, no mark-down"
    );
    assert_eq!(net.hub().ledger().state().burned, 0);
}

/// The submitter's messages for `sub` until it would send its verdict; the verdict is returned
/// unsent (so a test can send another first).
fn until_verdict(net: &mut Net, conn: ConnId, sub: &mut Submission, seen: &mut usize) -> ClientMsg {
    let key = net.nodes()[&conn].session.key().clone();
    for _ in 0..100 {
        let inbox: Vec<RelayMsg> = net.nodes()[&conn].inbox[*seen..].to_vec();
        *seen += inbox.len();
        if inbox.is_empty() {
            net.drive();
        }
        for m in inbox {
            let (_, replies) = sub.handle(&m, &key, &mut net.rng).unwrap();
            for r in replies {
                if matches!(r, ClientMsg::Verdict { .. }) {
                    return r;
                }
                net.send(conn, &r);
            }
        }
    }
    panic!("no verdict");
}

fn last_error(net: &Net, conn: ConnId) -> Option<String> {
    net.nodes()[&conn].inbox.iter().rev().find_map(|m| match m {
        RelayMsg::Error { code, .. } => Some(code.clone()),
        _ => None,
    })
}

#[test]
fn a_verdict_naming_a_worker_twice_is_refused_and_pays_once_when_honest() {
    use edgenet_core::ledger::Account;
    let mut net = Net::new(HubConfig::default());
    net.join(1, Behaviour::Honest);
    let submitter = net.join(9, Behaviour::Honest);
    let payer = Account::of(&id(9));
    mint(&mut net, payer, 1_000_000);
    let paid = TaskSpec {
        max_credits: 1_000_000,
        ..spec(7, 1, 60_000)
    };
    escrow(&mut net, submitter, 9, paid.id, 1_000_000);
    let mut sub = Submission::new(paid.clone(), search().encode().unwrap());
    let mut seen = net.nodes()[&submitter].inbox.len();
    net.send(submitter, &sub.submit_message());
    let honest = until_verdict(&mut net, submitter, &mut sub, &mut seen);
    let worker = *id(1).as_bytes();
    let balance = |net: &mut Net| net.hub().ledger().account(&Account::of(&id(1))).balance;

    // The same worker 255 times, and the same worker in both lists: refused, nothing paid.
    for (agreeing, outvoted) in [(vec![worker; 255], vec![]), (vec![worker], vec![worker])] {
        let forged = ClientMsg::Verdict {
            task: paid.id,
            agreeing,
            outvoted,
        };
        net.send(submitter, &forged);
        assert_eq!(last_error(&net, submitter).as_deref(), Some("EN-209"));
        assert_eq!(balance(&mut net), 0);
        assert_eq!(net.hub().ledger().account(&payer).escrowed, 1_000_000);
    }

    // The honest verdict still settles, once.
    net.send(submitter, &honest);
    assert_eq!(balance(&mut net), 1_000_000);
    assert_eq!(net.hub().ledger().account(&payer).spent, 1_000_000);
}

#[test]
fn only_a_peer_offered_the_task_and_running_its_kind_may_claim_it() {
    let mut net = Net::new(HubConfig::default());
    net.join(1, Behaviour::Honest);
    // Offers no kinds, so it is never offered work; it reads the task id elsewhere and claims.
    let intruder = net.join_with(&[50; 32], Behaviour::Idle, vec![]);
    let submitter = net.join(9, Behaviour::Honest);
    let task = spec(8, 2, 60_000);
    let key = net.nodes()[&submitter].session.key().clone();
    let mut sub = Submission::new(task.clone(), search().encode().unwrap());
    let mut seen = 0;
    net.send(submitter, &sub.submit_message());
    assert!(answer(&mut net, submitter, &mut sub, &key, &mut seen).is_none());
    net.send(intruder, &ClientMsg::Claim { task: task.id });
    let intruder_id = SecretKey::from_seed(&[50; 32]).node_id().to_string();
    let work = &net.tasks()[0].work;
    assert!(
        work.iter().all(|w| w.worker != intruder_id),
        "the intruder was assigned"
    );
    assert!(
        net.nodes()[&intruder]
            .inbox
            .iter()
            .any(|m| matches!(m, RelayMsg::TaskFailed { task: t, code, .. } if *t == task.id && code == "EN-209")),
        "the intruder is told its claim was not taken"
    );
    // An honest worker that joins is offered the task and completes it with the first.
    net.join(2, Behaviour::Honest);
    let done = answer(&mut net, submitter, &mut sub, &key, &mut seen);
    let Some(Progress::Done(outcome)) = done else {
        panic!("{done:?}")
    };
    assert_eq!(outcome.agreeing.len(), 2);
}

#[test]
fn identities_that_never_claim_do_not_keep_honest_workers_out_of_the_offers() {
    let mut net = Net::new(HubConfig::default());
    // 200 idle identities join first, then three honest workers.
    for i in 0..200u16 {
        let mut seed = [0xA0; 32];
        seed[..2].copy_from_slice(&i.to_le_bytes());
        net.join_with(&seed, Behaviour::Idle, vec![TaskKind::VECTOR_SEARCH]);
    }
    for seed in 1..=3 {
        net.join(seed, Behaviour::Honest);
    }
    let submitter = net.join(9, Behaviour::Honest);
    // The first task finds the honest workers among everyone.
    let Progress::Done(first) = run_task(&mut net, submitter, spec(1, 3, 120_000), 200) else {
        panic!("the first task did not finish")
    };
    assert_eq!(first.agreeing.len(), 3);
    // From then on the workers that claim are offered first: the next task is fully assigned in
    // its first round of offers, with no round waited for.
    let task = spec(2, 3, 120_000);
    net.send(submitter, &ClientMsg::Submit(task.clone()));
    let summary = net.tasks();
    let next = summary
        .iter()
        .find(|t| t.id == task.id.to_string())
        .unwrap();
    assert_eq!(
        next.work.len(),
        3,
        "all three honest workers in the first round"
    );
}

#[test]
fn two_thousand_idle_identities_do_not_delay_the_first_honest_task() {
    let mut net = Net::new(HubConfig::default());
    let kinds = vec![TaskKind::VECTOR_SEARCH, TaskKind::ENCRYPTION];
    // 2,100 identities join first, advertise the kinds and claim nothing (not their canaries
    // either); then three honest workers, who claim and pass theirs.
    for i in 0..2_100u16 {
        let mut seed = [0xA0; 32];
        seed[..2].copy_from_slice(&i.to_le_bytes());
        net.join_with(&seed, Behaviour::Idle, kinds.clone());
    }
    for seed in 1..=3 {
        net.join_with(&[seed; 32], Behaviour::Honest, kinds.clone());
    }
    for _ in 0..10 {
        net.drive();
    }
    // Their unclaimed canaries are offered again, but not every round: about one frame per
    // identity per 5 s.
    let before = net.hub().stats().frames_out;
    net.net.advance(10_000);
    let sent = net.hub().stats().frames_out - before;
    assert!(sent <= 2 * 2_100 + 100, "{sent} frames in 10 s");
    let submitter = net.join_with(&[9; 32], Behaviour::Honest, vec![]);
    // The very first task is fully assigned in its first round of offers.
    let task = spec(1, 3, 120_000);
    net.send(submitter, &ClientMsg::Submit(task.clone()));
    let summary = net.tasks();
    let first = summary
        .iter()
        .find(|t| t.id == task.id.to_string())
        .unwrap();
    assert_eq!(first.work.len(), 3, "the honest workers in the first round");
}

#[test]
fn the_rate_limit_follows_the_identity_across_connections_and_counts_items() {
    use edgenet_core::ledger::Account;
    use edgenet_core::ledger::sync::{SyncMessage, Want};
    let mut net = Net::new(HubConfig {
        max_messages_per_minute: 20,
        ..HubConfig::default()
    });
    net.join(1, Behaviour::Honest);
    let submitter = net.join(9, Behaviour::Honest);
    let claim = ClientMsg::Claim {
        task: TaskId([9; 16]),
    }
    .encode()
    .unwrap();
    // What the hub answers a frame with (the connection closes on a refusal like EN-207).
    let send = |net: &mut Net, conn: ConnId, frame: &[u8]| {
        let answer = net.raw(conn, frame);
        answer.err().map(|e| e.code())
    };
    // Fifteen messages, then a fresh connection of the same identity: its window carries on, and
    // the sixth message there is the 21st of the minute.
    let first = net.join(5, Behaviour::Idle);
    for _ in 0..15 {
        assert_eq!(send(&mut net, first, &claim), None);
    }
    let again = net.join(5, Behaviour::Idle);
    for _ in 0..5 {
        assert_eq!(send(&mut net, again, &claim), None);
    }
    assert_eq!(send(&mut net, again, &claim), Some("EN-207"));
    // One message of 30 wants counts 30.
    let bulk = net.join(6, Behaviour::Idle);
    let wants = vec![
        Want {
            account: Account::of(&id(1)),
            from: 0,
        };
        30
    ];
    let wants = ClientMsg::Ledger(SyncMessage::Wants(wants))
        .encode()
        .unwrap();
    assert_eq!(send(&mut net, bulk, &wants), Some("EN-207"));
    // Honest work goes on meanwhile.
    let Progress::Done(outcome) = run_task(&mut net, submitter, spec(3, 1, 60_000), 10) else {
        panic!("the honest task did not finish")
    };
    assert_eq!(outcome.agreeing, vec![id(1)]);
    // A minute later the identity has a fresh window.
    net.tick(60_000);
    let later = net.join(5, Behaviour::Idle);
    for _ in 0..20 {
        assert_eq!(send(&mut net, later, &claim), None);
    }
}

#[test]
fn ledger_sync_replies_are_pages_however_they_are_asked() {
    use edgenet_core::ledger::sync::{SyncMessage, Want};
    use edgenet_core::ledger::{Account, EntryKind, MintReason};
    use edgenet_proto::message::SYNC_PAGE;
    // A window wide enough for the pages asked here (the default's refusal is checked below).
    let mut net = Net::new(HubConfig {
        max_messages_per_minute: 100_000,
        ..HubConfig::default()
    });
    let worker = net.join(1, Behaviour::Honest);
    let submitter = net.join(9, Behaviour::Honest);
    // The relay's own chain grows past a page (one mint per entry).
    let relay = Account::of(&net.hub().node_id());
    for _ in 0..SYNC_PAGE + 500 {
        let mint = EntryKind::Mint {
            to: Account::of(&id(2)),
            amount: 1,
            reason: MintReason::Uptime { seconds: 1 },
        };
        net.hub().write_ledger(mint).unwrap();
    }
    let asker = net.join(6, Behaviour::Idle);
    let received = |net: &Net| -> usize {
        net.nodes()[&asker]
            .inbox
            .iter()
            .map(|m| match m {
                RelayMsg::Ledger(SyncMessage::Entries(e)) => e.len(),
                _ => 0,
            })
            .sum()
    };
    // That chain asked for three times over in one message: one page, not three chains.
    let wants = vec![
        Want {
            account: relay,
            from: 0
        };
        3
    ];
    net.send(asker, &ClientMsg::Ledger(SyncMessage::Wants(wants)));
    assert_eq!(received(&net), SYNC_PAGE);
    // An empty heads list (the whole ledger, unbounded): one page too.
    net.send(asker, &ClientMsg::Ledger(SyncMessage::Heads(vec![])));
    assert_eq!(received(&net), 2 * SYNC_PAGE);
    // The next page is there for the asking.
    let rest = vec![Want {
        account: relay,
        from: SYNC_PAGE as u64,
    }];
    net.send(asker, &ClientMsg::Ledger(SyncMessage::Wants(rest)));
    assert_eq!(received(&net), 2 * SYNC_PAGE + 500);
    // Replies count against the asker's window by their entries: with the default window
    // (6,000 a minute) the second page asked within a minute is refused, not sent.
    let mut strict = Net::new(HubConfig::default());
    for _ in 0..SYNC_PAGE {
        let mint = EntryKind::Mint {
            to: Account::of(&id(2)),
            amount: 1,
            reason: MintReason::Uptime { seconds: 1 },
        };
        strict.hub().write_ledger(mint).unwrap();
    }
    let relay = Account::of(&strict.hub().node_id());
    let greedy = strict.join(6, Behaviour::Idle);
    let want = ClientMsg::Ledger(SyncMessage::Wants(vec![Want {
        account: relay,
        from: 0,
    }]))
    .encode()
    .unwrap();
    assert!(strict.raw(greedy, &want).is_ok());
    let refused = strict.raw(greedy, &want).err().map(|e| e.code());
    assert_eq!(refused, Some("EN-207"));
    // A page leaves the hub as shared entries, not frames: the relay encodes it in the
    // connection's writer, after the lock around the hub is released.
    let again = ClientMsg::Ledger(SyncMessage::Wants(vec![Want {
        account: relay,
        from: 0,
    }]))
    .encode()
    .unwrap();
    let now = net.now;
    net.hub()
        .handle(
            now,
            Input::Frame {
                conn: asker,
                bytes: &again,
            },
        )
        .map(drop)
        .unwrap();
    let out: Vec<Output> = std::iter::from_fn(|| net.hub().poll_output()).collect();
    assert!(
        matches!(&out[0], Output::SendEntries(c, page) if *c == asker && page.len() == SYNC_PAGE),
        "{out:?}"
    );
    assert!(
        matches!(&out[1], Output::Send(c, _) if *c == asker),
        "the ack, after the page"
    );
    // Honest work goes on.
    let _ = worker;
    honest_task_completes(&mut net, submitter);
}

#[test]
fn malformed_ledger_entries_are_refused_in_the_acknowledgement_and_the_rest_kept() {
    use edgenet_core::ledger::sync::SyncMessage;
    use edgenet_core::ledger::{Account, Entry, EntryKind};
    let mut net = Net::new(HubConfig::default());
    let _worker = net.join(1, Behaviour::Honest);
    let submitter = net.join(9, Behaviour::Honest);
    let key = SecretKey::from_seed(&[9; 32]);
    let account = Account::of(&id(9));
    let stake = |amount| EntryKind::Stake { amount };
    // A zero amount (EN-177), then an entry whose signature is not 64 bytes (EN-170), and
    // beside them one well-formed entry of another author, which must be kept.
    let mut body = net.hub().ledger().next_body(account, stake(1)).unwrap();
    body.kind = stake(0);
    let zero = Entry::sign(body.clone(), &key);
    body.kind = stake(5);
    let mut short = Entry::sign(body, &key);
    short.signature.truncate(10);
    mint(&mut net, Account::of(&id(3)), 10);
    let other = net
        .hub()
        .ledger()
        .next_body(Account::of(&id(3)), stake(1))
        .unwrap();
    let good = Entry::sign(other, &SecretKey::from_seed(&[3; 32]));
    let before = net.nodes()[&submitter].inbox.len();
    let sync = SyncMessage::Entries(vec![zero, short, good.clone()]);
    net.send(submitter, &ClientMsg::Ledger(sync));
    assert_eq!(
        acks(&net, submitter, before),
        vec![(1, 2, Some("EN-177".to_owned()))]
    );
    assert!(!net.nodes()[&submitter].closed, "the connection was closed");
    let kept = net
        .hub()
        .ledger()
        .chain_from(&Account::of(&id(3)), 0)
        .count();
    assert_eq!(kept, 1, "the good entry was not kept");
    honest_task_completes(&mut net, submitter);
}

#[test]
fn accounts_with_nothing_to_spend_cannot_make_the_relay_store_entries() {
    use edgenet_core::ledger::sync::SyncMessage;
    use edgenet_core::ledger::{EntryKind, Ledger};
    let mut net = Net::new(HubConfig::default());
    let _worker = net.join(1, Behaviour::Honest);
    let submitter = net.join(9, Behaviour::Honest);
    let stored = net.hub().ledger().len();
    // 20 zero-balance identities, each with a well-linked chain of 1,000 stakes it cannot pay
    // (signed in a replica of its own, which keeps void entries as the set semantics do).
    for seed in 100..120u8 {
        let conn = net.join(seed, Behaviour::Idle);
        let key = SecretKey::from_seed(&[seed; 32]);
        let mut own = Ledger::single_validator(&key);
        let chain: Vec<_> = (0..1_000)
            .map(|_| own.append(&key, EntryKind::Stake { amount: 1 }).unwrap())
            .collect();
        net.send(conn, &ClientMsg::Ledger(SyncMessage::Entries(chain)));
        let acks = acks(&net, conn, 0);
        assert_eq!(acks.last(), Some(&(0, 1_000, Some("EN-180".to_owned()))));
    }
    assert_eq!(net.hub().ledger().len(), stored, "void entries were stored");
    honest_task_completes(&mut net, submitter);
}

#[test]
fn a_task_that_too_few_capable_peers_could_run_fails_at_the_staffing_bound() {
    let mut net = Net::new(HubConfig::default());
    net.join(1, Behaviour::Honest);
    let submitter = net.join(9, Behaviour::Honest);
    // Redundancy 3 with one worker online: offered, one result, then EN-223 at 15 s, not at the
    // task's own 60 s.
    let sub = Submission::new(spec(5, 3, 60_000), search().encode().unwrap());
    let started = net.now;
    // The submitter's own session drives the submission (it sends each worker its payload).
    net.submit_driven(submitter, sub);
    let mut failed = None;
    while failed.is_none() && net.now < started + 60_000 {
        net.drive();
        let inbox = &net.nodes()[&submitter].inbox;
        failed = inbox.iter().find_map(|m| match m {
            RelayMsg::TaskFailed { code, message, .. } => Some((code.clone(), message.clone())),
            _ => None,
        });
    }
    let (code, message) = failed.expect("the task failed");
    assert_eq!(code, "EN-223", "{message}");
    assert!(message.contains("1 of the 3"), "{message}");
    let waited = net.now - started;
    assert!(
        (15_000..16_000).contains(&waited),
        "failed after {waited} ms"
    );

    // Enough capable peers online, only busy or slow: no early failure; the task's own timeout
    // decides (EN-212).
    let mut net = Net::new(HubConfig::default());
    net.join(1, Behaviour::Honest);
    net.join(2, Behaviour::Silent);
    net.join(3, Behaviour::Silent);
    let submitter = net.join(9, Behaviour::Honest);
    let sub = Submission::new(spec(6, 3, 30_000), search().encode().unwrap());
    let started = net.now;
    // The submitter's own session drives the submission (it sends each worker its payload).
    net.submit_driven(submitter, sub);
    let mut code = None;
    while code.is_none() && net.drive() {
        code = net.nodes()[&submitter].inbox.iter().find_map(|m| match m {
            RelayMsg::TaskFailed { code, .. } => Some(code.clone()),
            _ => None,
        });
    }
    assert_eq!(code.as_deref(), Some("EN-212"));
    assert!(net.now - started >= 30_000);
}

#[test]
fn a_store_that_refuses_a_write_marks_the_hub_not_ready_until_one_succeeds() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    /// A disk that fills up, then is freed.
    struct Disk(Arc<AtomicBool>);
    impl edgenet_proto::hub::EntryStore for Disk {
        fn persist(&mut self, _: &[edgenet_core::ledger::Entry]) -> Result<(), String> {
            if self.0.load(Ordering::Relaxed) {
                Err("no space left on device".into())
            } else {
                Ok(())
            }
        }
    }
    let full = Arc::new(AtomicBool::new(true));
    let config = HubConfig {
        uptime_period_ms: 1_000,
        uptime_bonus: 100_000,
        work_bits: TEST_WORK_BITS,
        ..HubConfig::default()
    };
    let mut net = Net::new(config.clone());
    *net.hub() = Hub::new(SecretKey::from_seed(&[0xee; 32]), config)
        .with_store(Box::new(Disk(full.clone())), Vec::new())
        .unwrap();
    assert!(net.hub().metrics().store_ok, "nothing has failed yet");
    net.join(1, Behaviour::Honest);
    net.tick(1_500); // a period online: the mint is written, and refused
    assert!(!net.hub().metrics().store_ok);
    assert_eq!(
        net.hub().metrics().micro_credits_minted,
        0,
        "a refused write mints nothing"
    );
    full.store(false, Ordering::Relaxed);
    net.tick(1_000); // the next period's mint reaches the store
    assert!(net.hub().metrics().store_ok);
    assert!(net.hub().metrics().micro_credits_minted > 0);
}

#[test]
fn events_nobody_drains_are_capped_oldest_first_and_the_hub_keeps_working() {
    use edgenet_proto::hub::{HubEvent, MAX_PENDING_EVENTS};
    // No canaries: a new identity's known-answer task would make each join slow.
    let mut net = Net::new(HubConfig {
        canary_reward: 0,
        ..HubConfig::default()
    });
    // Each join and leave is an event: well past the cap, with nothing draining.
    let rounds = MAX_PENDING_EVENTS / 2 + 100;
    for _ in 0..rounds {
        let c = net.join(1, Behaviour::Honest);
        net.leave(c);
    }
    let mut kept = Vec::new();
    while let Some(e) = net.hub().poll_event() {
        kept.push(e);
    }
    assert_eq!(kept.len(), MAX_PENDING_EVENTS, "at most the cap");
    assert!(
        matches!(kept.last(), Some(HubEvent::PeerLeft { .. })),
        "the newest kept"
    );
    // And the hub still serves: a new peer joins and is announced as an event.
    net.join(2, Behaviour::Honest);
    assert!(matches!(
        net.hub().poll_event(),
        Some(HubEvent::PeerJoined { .. })
    ));
}

/// The challenges `conn` was sent, oldest first.
fn challenges(net: &Net, conn: ConnId) -> Vec<[u8; 32]> {
    net.nodes()[&conn]
        .inbox
        .iter()
        .filter_map(|m| match m {
            RelayMsg::WorkWanted { challenge, .. } => Some(*challenge),
            _ => None,
        })
        .collect()
}

/// A nonce that does not prove `bits` of work for `challenge`.
fn wrong_nonce(challenge: &[u8; 32], bits: u8) -> u64 {
    (0..)
        .find(|n| !edgenet_core::work::verify(challenge, bits, *n))
        .unwrap()
}

#[test]
fn wrong_proofs_of_work_cost_their_sender_a_doubling_wait_then_the_connection() {
    use edgenet_proto::hub::{MAX_WRONG_PROOFS, WRONG_PROOF_BACKOFF_MS};
    let mut net = Net::new(HubConfig::default());
    let worker = net.join(1, Behaviour::Honest);
    let submitter = net.join(9, Behaviour::Honest);
    let farm = net.join(7, Behaviour::Unproven);
    let mut wait = WRONG_PROOF_BACKOFF_MS;
    for wrong in 1..=MAX_WRONG_PROOFS {
        let asked = challenges(&net, farm);
        let challenge = *asked.last().expect("the relay asked for a proof");
        let nonce = wrong_nonce(&challenge, TEST_WORK_BITS);
        net.send(farm, &ClientMsg::WorkProof { challenge, nonce });
        if wrong == MAX_WRONG_PROOFS {
            assert_eq!(last_error(&net, farm).as_deref(), Some("EN-234"));
            assert!(
                net.nodes()[&farm].closed,
                "refused after {wrong} wrong proofs"
            );
            break;
        }
        assert_eq!(last_error(&net, farm).as_deref(), Some("EN-222"));
        // No challenge until the wait is over, then one.
        net.tick(wait - 1);
        assert_eq!(
            challenges(&net, farm).len(),
            asked.len(),
            "asked again too soon"
        );
        net.tick(1);
        assert_eq!(challenges(&net, farm).len(), asked.len() + 1);
        wait *= 2;
    }
    // The honest worker proved its own work and runs tasks meanwhile.
    assert!(!net.nodes()[&worker].closed);
    honest_task_completes(&mut net, submitter);
}

#[test]
fn a_proof_costs_a_digest_only_for_a_challenge_this_relay_made_and_only_once() {
    let mut net = Net::new(HubConfig::default());
    let farm = net.join(7, Behaviour::Unproven);
    let challenge = *challenges(&net, farm).last().unwrap();
    let proof = |challenge: [u8; 32], nonce: u64| {
        ClientMsg::WorkProof { challenge, nonce }.encode().unwrap()
    };
    let mut decoder = net.hub().decoder();
    for i in 0..50u8 {
        let _ = decoder.decode(&proof([i; 32], 1));
    }
    assert_eq!(
        decoder.digests(),
        0,
        "made-up challenges cost one SHA-256 each, no digest"
    );
    let _ = decoder.decode(&proof(challenge, wrong_nonce(&challenge, TEST_WORK_BITS)));
    let _ = decoder.decode(&proof(challenge, 1));
    assert_eq!(
        decoder.digests(),
        1,
        "a challenge is checked once per connection"
    );
}

#[test]
fn made_up_proofs_spend_the_senders_message_rate() {
    use edgenet_proto::hub::WRONG_PROOF_COST;
    let limit = 40;
    let mut net = Net::new(HubConfig {
        max_messages_per_minute: limit,
        ..HubConfig::default()
    });
    let worker = net.join(1, Behaviour::Honest);
    let submitter = net.join(9, Behaviour::Honest);
    let farm = net.join(7, Behaviour::Unproven);
    let mut sent = 0u64;
    while !net.nodes()[&farm].closed && sent < u64::from(limit) {
        let made_up = ClientMsg::WorkProof {
            challenge: [sent as u8; 32],
            nonce: 1,
        };
        net.send(farm, &made_up);
        sent += 1;
    }
    // Each counted as WRONG_PROOF_COST messages: the rate closed the connection after a tenth
    // of the messages it allows.
    assert_eq!(last_error(&net, farm).as_deref(), Some("EN-207"));
    assert!(
        sent <= u64::from(limit) / WRONG_PROOF_COST + 1,
        "{sent} sent"
    );
    assert!(!net.nodes()[&worker].closed);
    honest_task_completes(&mut net, submitter);
}

#[test]
fn a_withheld_payload_frees_the_worker_in_seconds_and_costs_the_submitter() {
    use edgenet_proto::hub::WITHHELD_PAYLOAD_COST;
    let limit = 1_000;
    let config = HubConfig {
        max_messages_per_minute: limit,
        ..HubConfig::default()
    };
    let wait = config.payload_wait_ms;
    let mut net = Net::new(config);
    let worker = net.join(1, Behaviour::Honest);
    let withholder = net.join(8, Behaviour::Honest);
    let submitter = net.join(9, Behaviour::Honest);
    let failure = |net: &Net, task: TaskId| {
        net.nodes()[&withholder].inbox.iter().find_map(|m| match m {
            RelayMsg::TaskFailed { task: t, code, .. } if *t == task => Some(code.clone()),
            _ => None,
        })
    };
    // Submitted, never given a payload (the submit message alone, nothing answers `Assigned`).
    for id in [7u8, 8] {
        let sub = Submission::new(spec(id, 1, 60_000), search().encode().unwrap());
        let started = net.now;
        net.send(withholder, &sub.submit_message());
        while failure(&net, TaskId([id; 16])).is_none() && net.drive() {}
        assert_eq!(failure(&net, TaskId([id; 16])).as_deref(), Some("EN-235"));
        let waited = net.now - started;
        assert!(
            (wait..wait + 1_000).contains(&waited),
            "failed after {waited} ms"
        );
        // The worker was told, and its slot is free.
        assert!(
            net.nodes()[&worker].inbox.iter().any(
                |m| matches!(m, RelayMsg::TaskFailed { task, .. } if *task == TaskId([id; 16]))
            )
        );
    }
    // Two withheld payloads spent more than the minute's window: the next message closes it.
    assert!(2 * WITHHELD_PAYLOAD_COST > u64::from(limit));
    let heads = edgenet_core::ledger::sync::SyncMessage::Heads(Vec::new());
    net.send(withholder, &ClientMsg::Ledger(heads));
    assert!(
        net.nodes()[&withholder].closed,
        "the withholder is over its rate"
    );
    assert!(!net.nodes()[&worker].closed);
    honest_task_completes(&mut net, submitter);
}

#[test]
fn a_canary_comes_from_a_submitter_like_the_last_real_one_never_the_relay() {
    use edgenet_core::ledger::Account;
    let mut net = Net::new(HubConfig::default());
    net.join(1, Behaviour::Honest);
    // A real submission: a node with its own look (it offers no kinds while it submits).
    let page = net.join_with(&[9; 32], Behaviour::Honest, vec![]);
    honest_task_completes(&mut net, page);
    let page_caps = Capabilities {
        kernels: vec![],
        ..caps()
    };
    let relay = *net.hub().node_id().as_bytes();
    let mut submitters = Vec::new();
    for seed in [5u8, 6] {
        let worker = net.join_with(&[seed; 32], Behaviour::Honest, vec![TaskKind::ENCRYPTION]);
        for _ in 0..10 {
            net.drive();
        }
        let inbox = &net.nodes()[&worker].inbox;
        let offered = inbox.iter().find_map(|m| match m {
            RelayMsg::Offer { submitter, .. } => Some(*submitter),
            _ => None,
        });
        let assigned = inbox.iter().find_map(|m| match m {
            RelayMsg::Assignment { submitter, .. } => Some(submitter.clone()),
            _ => None,
        });
        let (offered, assigned) = (
            offered.expect("a canary offer"),
            assigned.expect("assigned"),
        );
        assert_ne!(offered, relay, "the relay's own id gives a canary away");
        assert_eq!(assigned.node, offered);
        assert_eq!(
            (assigned.role, assigned.capabilities),
            (Role::Native, page_caps.clone()),
            "the last real submitter's look"
        );
        // Its result was opened with the masked submitter's key and checked: passed, paid.
        let me = *id_of(&[seed; 32]).as_bytes();
        assert!(
            inbox
                .iter()
                .any(|m| matches!(m, RelayMsg::Verdict { agreeing, .. } if agreeing.contains(&me))),
            "the canary's verdict"
        );
        let account = Account::of(&id_of(&[seed; 32]));
        assert!(
            net.hub().ledger().account(&account).balance > 0,
            "the canary was paid"
        );
        submitters.push(offered);
    }
    assert_ne!(
        submitters[0], submitters[1],
        "each canary has a submitter of its own"
    );
}

fn id_of(seed: &[u8; 32]) -> NodeId {
    SecretKey::from_seed(seed).node_id()
}

/// Three honest encryption workers (a kind whose results agree exactly when their bytes do) and
/// a paying submitter with `credits` escrowed for task 30; returns the network, the submitter
/// and the task's submission, not yet sent.
fn exact_paid_task(credits: u64) -> (Net, ConnId, Submission) {
    use edgenet_core::kinds::encryption::Encryption;
    use edgenet_core::ledger::Account;
    let mut net = Net::new(HubConfig {
        canary_reward: 0,
        ..HubConfig::default()
    });
    for seed in 1..=3 {
        net.join_with(&[seed; 32], Behaviour::Honest, vec![TaskKind::ENCRYPTION]);
    }
    let submitter = net.join(9, Behaviour::Honest);
    mint(&mut net, Account::of(&id(9)), credits);
    let spec = TaskSpec {
        kind: TaskKind::ENCRYPTION,
        max_credits: credits,
        ..spec(30, 3, 60_000)
    };
    escrow(&mut net, submitter, 9, spec.id, credits);
    let job = Encryption {
        key: [1; 32],
        nonce: [2; 12],
        aad: vec![],
        plaintext: vec![7; 100],
    };
    let sub = Submission::new(spec, job.encode().unwrap());
    (net, submitter, sub)
}

#[test]
fn a_verdict_the_result_commitments_contradict_is_overruled_and_the_workers_are_paid() {
    use edgenet_core::ledger::Account;
    let credits = 3_000_000;
    let (mut net, submitter, mut sub) = exact_paid_task(credits);
    let mut seen = net.nodes()[&submitter].inbox.len();
    net.send(submitter, &sub.submit_message());
    let ClientMsg::Verdict { task, agreeing, .. } =
        until_verdict(&mut net, submitter, &mut sub, &mut seen)
    else {
        unreachable!()
    };
    assert_eq!(agreeing.len(), 3, "the honest verdict: all three agree");
    // The submitter calls every result wrong, to keep its credits and mark the workers down.
    net.send(
        submitter,
        &ClientMsg::Verdict {
            task,
            agreeing: vec![],
            outvoted: agreeing.clone(),
        },
    );
    assert_eq!(last_error(&net, submitter).as_deref(), Some("EN-236"));
    for seed in 1..=3u8 {
        let worker = net.hub().ledger().account(&Account::of(&id(seed)));
        assert_eq!(
            (worker.balance, worker.reputation),
            (credits / 3, None),
            "worker {seed}: paid its share, not marked down"
        );
    }
    let payer = net.hub().ledger().account(&Account::of(&id(9)));
    assert_eq!((payer.spent, payer.escrowed), (credits, 0));
}

#[test]
fn a_submitter_that_never_gives_its_verdict_pays_for_exact_results_at_the_deadline() {
    use edgenet_core::ledger::Account;
    let credits = 3_000_000;
    let (mut net, submitter, mut sub) = exact_paid_task(credits);
    let mut seen = net.nodes()[&submitter].inbox.len();
    net.send(submitter, &sub.submit_message());
    // Every result in; the verdict is never sent.
    let _ = until_verdict(&mut net, submitter, &mut sub, &mut seen);
    let failed = |net: &Net| {
        net.nodes()[&submitter].inbox.iter().find_map(|m| match m {
            RelayMsg::TaskFailed { code, .. } => Some(code.clone()),
            _ => None,
        })
    };
    while failed(&net).is_none() && net.drive() {}
    // Told its task expired, as a submitter still waiting for a replica would be.
    assert_eq!(failed(&net).as_deref(), Some("EN-212"));
    for seed in 1..=3u8 {
        let worker = net.hub().ledger().account(&Account::of(&id(seed)));
        assert_eq!(
            worker.balance,
            credits / 3,
            "worker {seed} paid at the deadline"
        );
    }
    let payer = net.hub().ledger().account(&Account::of(&id(9)));
    assert_eq!((payer.spent, payer.escrowed), (credits, 0));
}

/// The workers that agreed on each of `count` redundancy-`redundancy` tasks `submitter` runs
/// (ids from 100 on).
fn agreeing_on_tasks(
    net: &mut Net,
    submitter: ConnId,
    count: u8,
    redundancy: u8,
) -> Vec<Vec<NodeId>> {
    (0..count)
        .map(
            |i| match run_task(net, submitter, spec(100 + i, redundancy, 60_000), 40) {
                Progress::Done(outcome) => outcome.agreeing,
                other => panic!("task {i} ended {other:?}"),
            },
        )
        .collect()
}

#[test]
fn offers_go_to_workers_at_random_not_to_the_longest_online() {
    let mut net = Net::new(HubConfig {
        canary_reward: 0,
        ..HubConfig::default()
    });
    for seed in 1..=6 {
        net.join(seed, Behaviour::Honest);
    }
    let submitter = net.join_with(&[9; 32], Behaviour::Honest, vec![]);
    let workers: std::collections::BTreeSet<NodeId> = agreeing_on_tasks(&mut net, submitter, 24, 1)
        .into_iter()
        .flatten()
        .collect();
    // By age, the first to join took every task.
    assert!(
        workers.len() >= 4,
        "24 tasks went to only {} of 6 workers",
        workers.len()
    );
}

#[test]
fn claims_in_the_window_are_drawn_at_random_so_the_fastest_claimer_does_not_win_every_task() {
    for (window, fastest_takes_all) in [(0, true), (50, false)] {
        let mut net = Net::new(HubConfig {
            canary_reward: 0,
            claim_window_ms: window,
            ..HubConfig::default()
        });
        let fast = net.join(1, Behaviour::Honest);
        for seed in 2..=4 {
            let slow = net.join(seed, Behaviour::Honest);
            net.net
                .set_link(Addr::new(0, slow), edgenet_sim::Link::delay(20));
        }
        let submitter = net.join_with(&[9; 32], Behaviour::Honest, vec![]);
        let fast_id = net.nodes()[&fast].session.key().node_id();
        // Two workers a task (the window is for votes): the nearest is one of them, or not.
        let won = agreeing_on_tasks(&mut net, submitter, 12, 2)
            .iter()
            .filter(|a| a.contains(&fast_id))
            .count();
        if fastest_takes_all {
            assert_eq!(won, 12, "without a window the nearest claimer wins");
        } else {
            assert!(
                won < 10,
                "with a {window} ms window the nearest won {won} of 12"
            );
        }
    }
}

#[test]
fn liars_that_fail_their_canary_are_offered_work_only_when_no_trusted_worker_can_take_it() {
    let mut net = Net::new(HubConfig::default());
    let kinds = vec![TaskKind::VECTOR_SEARCH, TaskKind::ENCRYPTION];
    // Two colluding liars join first and lie on everything, their canaries included.
    let liars: Vec<NodeId> = [1u8, 2]
        .iter()
        .map(|&seed| {
            net.join_with(&[seed; 32], Behaviour::Liar, kinds.clone());
            id(seed)
        })
        .collect();
    for _ in 0..20 {
        net.drive();
    }
    assert_eq!(net.net.hub(0).metrics().canaries_failed, 2);
    for liar in &liars {
        let score = net
            .hub()
            .ledger()
            .account(&edgenet_core::ledger::Account::of(liar))
            .reputation;
        assert!(score.is_some_and(|s| s < TRUSTED_REPUTATION), "{score:?}");
    }
    for seed in 3..=5 {
        net.join_with(&[seed; 32], Behaviour::Honest, kinds.clone());
    }
    let submitter = net.join_with(&[9; 32], Behaviour::Honest, vec![]);
    for agreeing in agreeing_on_tasks(&mut net, submitter, 10, 3) {
        assert_eq!(agreeing.len(), 3, "three honest workers agreed");
        assert!(agreeing.iter().all(|w| !liars.contains(w)));
    }
    // With only one trusted worker left, the distrusted still do the work (and are outvoted
    // or agree as their results decide): a network of them is slow, not stopped.
    let honest: Vec<ConnId> = net
        .nodes()
        .iter()
        .filter(|(_, p)| p.behaviour == Behaviour::Honest && p.worker.is_some())
        .map(|(c, _)| *c)
        .collect();
    for conn in &honest[1..] {
        net.leave(*conn);
    }
    let Progress::Done(outcome) = run_task(&mut net, submitter, spec(200, 3, 60_000), 40) else {
        panic!("the task did not end")
    };
    assert_eq!(outcome.agreeing.len() + outcome.outvoted.len(), 3);
}

#[test]
fn spot_checks_catch_a_worker_that_lies_once_it_has_earned() {
    for one_in in [0, 1] {
        let mut net = Net::new(HubConfig {
            spot_check_one_in: one_in,
            ..HubConfig::default()
        });
        let kinds = vec![TaskKind::VECTOR_SEARCH, TaskKind::ENCRYPTION];
        // Honest on its first result (its first canary, which it passes), wrong after.
        net.join_with(&[1; 32], Behaviour::LiesAfter(1), kinds);
        for _ in 0..20 {
            net.drive();
        }
        assert_eq!(net.net.hub(0).metrics().canaries_passed, 1);
        let submitter = net.join_with(&[9; 32], Behaviour::Honest, vec![]);
        // Alone, at redundancy 1, its wrong results go through; the spot check that follows
        // one of them does not.
        for i in 0..3 {
            run_task(&mut net, submitter, spec(50 + i, 1, 60_000), 40);
        }
        for _ in 0..20 {
            net.drive();
        }
        let score = net
            .hub()
            .ledger()
            .account(&edgenet_core::ledger::Account::of(&id(1)))
            .reputation;
        let metrics = net.net.hub(0).metrics();
        if one_in == 0 {
            assert_eq!(metrics.canaries_failed, 0, "no spot checks, nothing caught");
            assert_eq!(score, None);
        } else {
            assert!(metrics.spot_checks >= 1);
            assert!(metrics.canaries_failed >= 1, "the spot check caught it");
            assert!(score.is_some_and(|s| s < TRUSTED_REPUTATION), "{score:?}");
        }
    }
}

#[test]
fn no_two_workers_of_one_task_come_from_one_network() {
    let mut net = Net::new(HubConfig {
        canary_reward: 0,
        ..HubConfig::default()
    });
    let kinds = vec![TaskKind::VECTOR_SEARCH];
    // Two identities of one operator's /24, and one elsewhere.
    net.join_from(1, Behaviour::Honest, kinds.clone(), "203.0.113.7");
    net.join_from(2, Behaviour::Honest, kinds.clone(), "203.0.113.99");
    net.join_from(3, Behaviour::Honest, kinds, "198.51.100.4");
    let submitter = net.join_with(&[9; 32], Behaviour::Honest, vec![]);
    for i in 0..8 {
        let Progress::Done(outcome) = run_task(&mut net, submitter, spec(60 + i, 2, 60_000), 40)
        else {
            panic!("task {i} did not finish")
        };
        // Two colluders of one network never make a pair (nor a majority of one task).
        let workers: Vec<NodeId> = outcome
            .agreeing
            .iter()
            .chain(&outcome.outvoted)
            .copied()
            .collect();
        assert!(workers.contains(&id(3)), "task {i}: {workers:?}");
        assert!(!(workers.contains(&id(1)) && workers.contains(&id(2))));
    }
}

/// A paid redundancy-3 vector search by `submitter` over workers 1–3 (worker 2 lies), its
/// results opened but no verdict sent yet: the network, the submission and its verdict.
fn paid_search_awaiting_verdict(seed: u8) -> (Net, ConnId, Submission, Vec<ClientMsg>) {
    use edgenet_core::ledger::Account;
    let mut net = Net::new(HubConfig {
        canary_reward: 0,
        ..HubConfig::default()
    });
    net.join(1, Behaviour::Honest);
    net.join(2, Behaviour::Liar);
    net.join(3, Behaviour::Honest);
    let submitter = net.join_with(&[seed; 32], Behaviour::Honest, vec![]);
    mint(&mut net, Account::of(&id(seed)), 10_000_000);
    let spec = TaskSpec {
        max_credits: 3_000_000,
        ..spec(40, 3, 60_000)
    };
    escrow(&mut net, submitter, seed, spec.id, 3_000_000);
    let key = net.nodes()[&submitter].session.key().clone();
    let mut sub = Submission::new(spec, search().encode().unwrap());
    let mut seen = net.nodes()[&submitter].inbox.len();
    net.send(submitter, &sub.submit_message());
    for _ in 0..20 {
        let inbox: Vec<RelayMsg> = net.nodes()[&submitter].inbox[seen..].to_vec();
        seen += inbox.len();
        if inbox.is_empty() {
            net.drive();
        }
        for m in inbox {
            let (progress, replies) = sub.handle(&m, &key, &mut net.rng).unwrap();
            if let Progress::Done(outcome) = progress {
                assert_eq!(outcome.outvoted, vec![id(2)], "the submitter saw the liar");
                return (net, submitter, sub, replies);
            }
            for r in replies {
                net.send(submitter, &r);
            }
        }
    }
    panic!("the results did not come")
}

#[test]
fn a_submitter_that_calls_every_result_wrong_pays_the_workers_all_the_same() {
    use edgenet_core::ledger::Account;
    let (mut net, submitter, _, _) = paid_search_awaiting_verdict(9);
    // It calls every worker wrong, with no evidence (a page's verdict, or a cheat's).
    let all: Vec<[u8; 32]> = (1..=3).map(|s| *id(s).as_bytes()).collect();
    net.send(
        submitter,
        &ClientMsg::Verdict {
            task: TaskId([40; 16]),
            agreeing: vec![],
            outvoted: all,
        },
    );
    for worker in 1..=3 {
        let a = net.hub().ledger().account(&Account::of(&id(worker)));
        assert_eq!(a.balance, 1_000_000, "worker {worker} paid");
        assert_eq!(a.reputation, None, "worker {worker} not marked down");
    }
    let p = net.hub().ledger().account(&Account::of(&id(9)));
    assert_eq!((p.escrowed, p.spent), (0, 3_000_000), "no escrow came back");
}

#[test]
fn a_revealed_verdict_is_checked_by_the_relay_and_made_up_results_prove_nothing() {
    use edgenet_core::ledger::Account;
    use edgenet_proto::message::Reveal;
    // The honest submitter reveals: the relay compares the results itself and agrees.
    let (mut net, submitter, sub, replies) = paid_search_awaiting_verdict(9);
    for r in sub.with_evidence(replies) {
        assert!(matches!(r, ClientMsg::Reveal(_)), "{r:?}");
        net.send(submitter, &r);
    }
    assert_eq!(net.tasks()[0].outvoted, vec![id(2).to_string()]);
    let liar = net.hub().ledger().account(&Account::of(&id(2)));
    assert_eq!((liar.balance, liar.reputation), (0, Some(4_000)));
    let p = net.hub().ledger().account(&Account::of(&id(9)));
    assert_eq!(p.spent, 2_000_000, "the liar's third came back");

    // A cheat reveals results it made up for the honest workers: they match no commitment,
    // so nothing shows those workers wrong and they are paid.
    let (mut net, submitter, _, _) = paid_search_awaiting_verdict(8);
    let junk = Reveal {
        task: TaskId([40; 16]),
        results: (1..=3).map(|s| (*id(s).as_bytes(), vec![s; 40])).collect(),
    };
    net.send(submitter, &junk.to_msg());
    for worker in [1, 3] {
        let a = net.hub().ledger().account(&Account::of(&id(worker)));
        assert_eq!(
            (a.balance, a.reputation),
            (1_000_000, None),
            "worker {worker}"
        );
    }
}
