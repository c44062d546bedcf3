//! Endpoints (what the browser's coordinator drives) around the real hub, in memory with a clock.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use std::collections::BTreeMap;

use edgenet_core::task::{Encryption, TaskId, TaskKind};
use edgenet_core::{ErrorCode, NodeId, SecretKey};
use edgenet_proto::endpoint::{Endpoint, Event};
use edgenet_proto::hub::{ConnId, Hub, HubConfig, Output};
use edgenet_proto::message::{Capabilities, Role, TaskSpec};
use rand_chacha::rand_core::SeedableRng;

type Rng = rand_chacha::ChaCha20Rng;

fn caps() -> Capabilities {
    Capabilities {
        cores: 1,
        memory_mib: 256,
        gpu: None,
        kernels: vec![TaskKind::Encryption],
        backends: vec!["wasm-simd128".into()],
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Run {
    Honest,
    Liar,
}

struct Net {
    hub: Hub,
    peers: BTreeMap<ConnId, (Endpoint, Run, Vec<Event>)>,
    now: u64,
    rng: Rng,
}

impl Net {
    fn new() -> Self {
        Self {
            hub: Hub::new(SecretKey::from_seed(&[0xee; 32]), HubConfig::default()),
            peers: BTreeMap::new(),
            now: 1_000,
            rng: Rng::from_seed([9; 32]),
        }
    }

    fn join(&mut self, seed: u8, run: Run, contributing: bool) -> ConnId {
        let conn = ConnId::from(seed);
        let endpoint = Endpoint::new(
            SecretKey::from_seed(&[seed; 32]),
            Role::Browser,
            caps(),
            2,
            contributing,
        );
        self.peers.insert(conn, (endpoint, run, vec![]));
        self.hub.handle_connect(conn, self.now, [seed; 32]);
        self.pump();
        conn
    }

    fn tick(&mut self, ms: u64) {
        self.now += ms;
        self.hub.handle_timeout(self.now);
        self.pump();
    }

    /// Moves frames both ways until quiet; contributing endpoints run what they are given.
    fn pump(&mut self) {
        loop {
            let mut moved = false;
            while let Some(out) = self.hub.poll_output() {
                moved = true;
                if let Output::Send(conn, frame) = out {
                    if let Some((endpoint, ..)) = self.peers.get_mut(&conn) {
                        endpoint.handle_frame(&frame, &mut self.rng).unwrap();
                    }
                }
            }
            for (&conn, (endpoint, run, events)) in &mut self.peers {
                while let Some(event) = endpoint.poll_event() {
                    if let Event::Execute { task, payload, .. } = &event {
                        let mut result = Encryption::decode(payload).unwrap().run();
                        if *run == Run::Liar {
                            result[0] ^= 1;
                        }
                        endpoint.finish(task, &result, &mut self.rng).unwrap();
                    }
                    events.push(event);
                }
                while let Some(frame) = endpoint.poll_outgoing() {
                    moved = true;
                    let _ = self.hub.handle_frame(conn, &frame, self.now);
                }
            }
            if !moved {
                return;
            }
        }
    }

    fn submit(&mut self, conn: ConnId, redundancy: u8) -> (TaskId, Encryption) {
        let job = Encryption {
            key: [3; 32],
            nonce: [4; 12],
            aad: b"endpoint test".to_vec(),
            plaintext: (0..=255u8).collect(),
        };
        let spec = TaskSpec {
            id: TaskId::random(&mut self.rng),
            kind: TaskKind::Encryption,
            redundancy,
            max_credits: 0,
            priority: 1,
            timeout_ms: 60_000,
        };
        let endpoint = &mut self.peers.get_mut(&conn).unwrap().0;
        let id = endpoint.submit(spec, job.encode().unwrap()).unwrap();
        self.pump();
        (id, job)
    }

    fn events(&self, conn: ConnId) -> &[Event] {
        &self.peers[&conn].2
    }

    fn node(&self, conn: ConnId) -> NodeId {
        self.peers[&conn].0.node_id()
    }
}

#[test]
fn submits_and_contributes_over_one_connection() {
    let mut net = Net::new();
    let page = net.join(1, Run::Honest, false);
    let workers: Vec<ConnId> = (2..=4).map(|s| net.join(s, Run::Honest, true)).collect();
    assert!(matches!(net.events(page)[0], Event::Connected { .. }));
    let (task, job) = net.submit(page, 3);
    let done = net
        .events(page)
        .iter()
        .find_map(|e| match e {
            Event::Done {
                task: t, outcome, ..
            } if *t == task => Some(outcome.clone()),
            _ => None,
        })
        .expect("verified result");
    assert_eq!(done.result, job.run());
    assert_eq!(done.agreeing.len(), 3);
    for w in workers {
        assert!(done.agreeing.contains(&net.node(w)));
        assert!(
            net.events(w)
                .contains(&Event::Verdict { task, agreed: true })
        );
    }
    assert_eq!(net.peers[&page].0.open_submissions(), 0);
}

#[test]
fn a_liar_is_outvoted_and_told() {
    let mut net = Net::new();
    let page = net.join(1, Run::Honest, false);
    net.join(2, Run::Honest, true);
    net.join(3, Run::Honest, true);
    let liar = net.join(4, Run::Liar, true);
    let (task, _) = net.submit(page, 3);
    let outcome = net
        .events(page)
        .iter()
        .find_map(|e| match e {
            Event::Done { outcome, .. } => Some(outcome.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(outcome.outvoted, vec![net.node(liar)]);
    assert!(net.events(liar).contains(&Event::Verdict {
        task,
        agreed: false
    }));
}

#[test]
fn a_paused_endpoint_claims_nothing_until_resumed() {
    let mut net = Net::new();
    let page = net.join(1, Run::Honest, false);
    let paused = net.join(2, Run::Honest, false);
    let (task, _) = net.submit(page, 1);
    net.tick(2_000);
    assert!(
        !net.events(paused)
            .iter()
            .any(|e| matches!(e, Event::Execute { .. }))
    );
    net.peers.get_mut(&paused).unwrap().0.set_contributing(true);
    net.tick(1_000); // the next round of offers
    assert!(
        net.events(page)
            .iter()
            .any(|e| matches!(e, Event::Done { task: t, .. } if *t == task))
    );
}

#[test]
fn a_dropped_connection_fails_open_submissions() {
    let mut net = Net::new();
    let page = net.join(1, Run::Honest, false);
    let (task, _) = net.submit(page, 2); // nobody to run it
    let endpoint = &mut net.peers.get_mut(&page).unwrap().0;
    endpoint.handle_disconnect();
    match endpoint.poll_event() {
        Some(Event::Failed { task: t, error }) => {
            assert_eq!(t, task);
            assert_eq!(error.code(), "EN-218");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(endpoint.open_submissions(), 0);
}

#[test]
fn finishing_an_unknown_job_is_refused() {
    let mut net = Net::new();
    let page = net.join(1, Run::Honest, true);
    let endpoint = &mut net.peers.get_mut(&page).unwrap().0;
    let err = endpoint
        .finish(&TaskId([7; 16]), b"x", &mut net.rng)
        .unwrap_err();
    assert_eq!(err.code(), "EN-208");
}

#[test]
fn a_new_worker_gets_a_canary_once_it_contributes_and_is_credited_or_marked_down() {
    use edgenet_core::ledger::{Account, EntryKind, MintReason};
    let mut net = Net::new();
    let paused = net.join(1, Run::Honest, false);
    let liar = net.join(2, Run::Liar, true);
    net.tick(2_000);
    // Paused: the canary is offered but never claimed, so nothing runs.
    assert!(
        !net.events(paused)
            .iter()
            .any(|e| matches!(e, Event::Execute { .. }))
    );
    net.peers.get_mut(&paused).unwrap().0.set_contributing(true);
    net.tick(1_000);
    let honest = Account::of(&net.node(paused));
    assert_eq!(net.hub.ledger().account(&honest).balance, 1_000_000);
    let credited = net.events(paused).iter().any(|e| match e {
        Event::Ledger { entries } => entries.iter().any(|en| {
            matches!(en.body.kind, EntryKind::Mint { to, amount: 1_000_000, reason: MintReason::Canary { .. } } if to == honest)
        }),
        _ => false,
    });
    assert!(credited, "the worker was sent its canary credit");
    // The liar's wrong ciphertext: no credit, reputation down, and it is told it was outvoted.
    let liar_account = Account::of(&net.node(liar));
    let cheat = net.hub.ledger().account(&liar_account);
    assert_eq!((cheat.balance, cheat.reputation), (0, Some(3_000)));
    assert!(
        net.events(liar)
            .iter()
            .any(|e| matches!(e, Event::Verdict { agreed: false, .. }))
    );
    // Nothing else is pending: no second canary for either.
    let verified_before = net.hub.stats().tasks_verified;
    net.tick(5_000);
    assert_eq!(net.hub.stats().tasks_verified, verified_before);
}
