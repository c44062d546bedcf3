//! Endpoints (what the browser's coordinator drives) around the real hub, in memory with a clock.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use std::collections::BTreeMap;

use edgenet_core::kinds::encryption::Encryption;
use edgenet_core::task::{TaskId, TaskKind};
use edgenet_core::{ErrorCode, NodeId, SecretKey};
use edgenet_proto::endpoint::{Endpoint, Event};
use edgenet_proto::hub::{ConnId, Hub, HubConfig};
use edgenet_proto::message::{Capabilities, Role, TaskSpec};
use edgenet_sim::{Addr, Network};
use rand_chacha::rand_core::SeedableRng;
use support::peers::{Behaviour, EndpointPeer};

mod support;

type Rng = rand_chacha::ChaCha20Rng;

fn caps() -> Capabilities {
    Capabilities {
        cores: 1,
        memory_mib: 256,
        gpu: None,
        kernels: vec![TaskKind::ENCRYPTION],
        backends: vec!["wasm-simd128".into()],
    }
}

/// One relay and its endpoints on the in-memory network.
struct Net {
    net: Network<EndpointPeer>,
}

support::wraps_network!(Net, EndpointPeer);

impl Net {
    fn new() -> Self {
        Self::with(HubConfig::default())
    }

    fn with(config: HubConfig) -> Self {
        // Real proofs of work, cheap ones (a few Argon2id digests).
        let config = HubConfig {
            work_bits: config.work_bits.min(2),
            ..config
        };
        let mut net = Network::with_rng(Rng::from_seed([9; 32]));
        net.add_relay(Hub::new(SecretKey::from_seed(&[0xee; 32]), config));
        Self { net }
    }

    fn hub(&mut self) -> &mut Hub {
        self.net.hub_mut(0)
    }

    fn join(&mut self, seed: u8, run: Behaviour, contributing: bool) -> ConnId {
        let conn = ConnId::from(seed);
        let endpoint = Endpoint::new(
            SecretKey::from_seed(&[seed; 32]),
            Role::Browser,
            caps(),
            2,
            contributing,
            self.net.now,
        );
        self.net
            .connect(0, conn, EndpointPeer::new(endpoint, run), [seed; 32]);
        conn
    }

    /// The endpoint on `conn`, to look at.
    fn endpoint(&self, conn: ConnId) -> &Endpoint {
        &self.net.peer(Addr::new(0, conn)).unwrap().endpoint
    }

    /// The endpoint on `conn`, to act on: what it queues goes out at the next step.
    fn endpoint_mut(&mut self, conn: ConnId) -> &mut Endpoint {
        &mut self.net.peer_mut(Addr::new(0, conn)).unwrap().endpoint
    }

    fn tick(&mut self, ms: u64) {
        self.net.jump(ms);
    }

    /// Moves frames both ways until quiet; contributing endpoints run what they are given.
    fn pump(&mut self) {
        self.net.settle();
    }

    fn submit(&mut self, conn: ConnId, redundancy: u8) -> (TaskId, Encryption) {
        self.submit_paid(conn, redundancy, 0)
    }

    fn submit_paid(
        &mut self,
        conn: ConnId,
        redundancy: u8,
        max_credits: u64,
    ) -> (TaskId, Encryption) {
        let job = Encryption {
            key: [3; 32],
            nonce: [4; 12],
            aad: b"endpoint test".to_vec(),
            plaintext: (0..=255u8).collect(),
        };
        let spec = TaskSpec {
            id: TaskId::random(&mut self.net.rng),
            kind: TaskKind::ENCRYPTION,
            redundancy,
            max_credits,
            priority: 1,
            timeout_ms: 60_000,
        };
        let now = self.net.now;
        let id = self
            .endpoint_mut(conn)
            .submit(spec, job.encode().unwrap(), now)
            .unwrap();
        self.pump();
        (id, job)
    }

    fn events(&self, conn: ConnId) -> &[Event] {
        &self.net.peer(Addr::new(0, conn)).unwrap().events
    }

    fn node(&self, conn: ConnId) -> NodeId {
        self.endpoint(conn).node_id()
    }
}

#[test]
fn submits_and_contributes_over_one_connection() {
    let mut net = Net::new();
    let page = net.join(1, Behaviour::Honest, false);
    let workers: Vec<ConnId> = (2..=4)
        .map(|s| net.join(s, Behaviour::Honest, true))
        .collect();
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
    assert_eq!(net.endpoint(page).open_submissions(), 0);
}

#[test]
fn a_liar_is_outvoted_and_told() {
    let mut net = Net::new();
    let page = net.join(1, Behaviour::Honest, false);
    net.join(2, Behaviour::Honest, true);
    net.join(3, Behaviour::Honest, true);
    let liar = net.join(4, Behaviour::Liar, true);
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
    let page = net.join(1, Behaviour::Honest, false);
    let paused = net.join(2, Behaviour::Honest, false);
    let (task, _) = net.submit(page, 1);
    net.tick(2_000);
    assert!(
        !net.events(paused)
            .iter()
            .any(|e| matches!(e, Event::Execute { .. }))
    );
    net.endpoint_mut(paused).set_contributing(true);
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
    let page = net.join(1, Behaviour::Honest, false);
    let (task, _) = net.submit(page, 2); // nobody to run it
    let endpoint = &mut net.endpoint_mut(page);
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
    let page = net.join(1, Behaviour::Honest, true);
    let (peer, rng) = net.peer_and_rng(Addr::new(0, page)).unwrap();
    let err = peer
        .endpoint
        .finish(&TaskId([7; 16]), b"x", rng)
        .unwrap_err();
    assert_eq!(err.code(), "EN-208");
}

#[test]
fn a_new_worker_gets_a_canary_once_it_contributes_and_is_credited_or_marked_down() {
    use edgenet_core::ledger::{Account, EntryKind, MintReason};
    let mut net = Net::new();
    let paused = net.join(1, Behaviour::Honest, false);
    let liar = net.join(2, Behaviour::Liar, true);
    net.tick(2_000);
    // Paused: the canary is offered but never claimed, so nothing runs.
    assert!(
        !net.events(paused)
            .iter()
            .any(|e| matches!(e, Event::Execute { .. }))
    );
    net.endpoint_mut(paused).set_contributing(true);
    // An unclaimed canary is offered again every 5 s (`CANARY_ROUNDS` offer rounds).
    net.tick(5_000);
    let honest = Account::of(&net.node(paused));
    // The reward times the early-adopter multiplier (10x at the start), paid with a proof of
    // work the endpoint solved when the relay asked.
    let reward = 1_000_000 + edgenet_core::ledger::curve::bonus(1_000_000, 0);
    assert_eq!(net.hub().ledger().account(&honest).balance, reward);
    let credited = net.events(paused).iter().any(|e| match e {
        Event::Ledger { entries } => entries.iter().any(|en| {
            matches!(en.body.kind, EntryKind::Mint { to, amount, reason: MintReason::Canary { .. } } if to == honest && amount == reward)
        }),
        _ => false,
    });
    assert!(credited, "the worker was sent its canary credit");
    // The liar's wrong ciphertext: no credit, reputation down, and it is told it was outvoted.
    let liar_account = Account::of(&net.node(liar));
    let cheat = net.hub().ledger().account(&liar_account);
    assert_eq!((cheat.balance, cheat.reputation), (0, Some(3_000)));
    assert!(
        net.events(liar)
            .iter()
            .any(|e| matches!(e, Event::Verdict { agreed: false, .. }))
    );
    // Nothing else is pending: no second canary for either.
    let verified_before = net.hub().stats().tasks_verified;
    net.tick(5_000);
    assert_eq!(net.hub().stats().tasks_verified, verified_before);
}

#[test]
fn a_canary_is_paid_only_with_a_proof_of_work_and_a_wrong_proof_pays_nothing() {
    use edgenet_core::ledger::Account;
    let mut net = Net::with(HubConfig {
        work_bits: 2,
        ..HubConfig::default()
    });
    let farm = net.join(1, Behaviour::Unproven, true);
    net.tick(2_000);
    let account = Account::of(&net.node(farm));
    // The canary ran and passed (the worker was told it agreed), but no proof: no credits.
    assert!(
        net.events(farm)
            .iter()
            .any(|e| matches!(e, Event::Verdict { agreed: true, .. }))
    );
    assert_eq!(net.hub().ledger().account(&account).balance, 0);
    let asked = net.events(farm).iter().find_map(|e| match e {
        Event::WorkWanted { challenge, bits } => Some((*challenge, *bits)),
        _ => None,
    });
    let (challenge, bits) = asked.expect("the relay asked for a proof");
    // A nonce that does not prove the work: refused (EN-222), still nothing, and a new challenge
    // once the wrong proof's wait is over.
    let wrong = (0..)
        .find(|n| !edgenet_core::work::verify(&challenge, bits, *n))
        .unwrap();
    let endpoint = &mut net.endpoint_mut(farm);
    endpoint.prove(challenge, wrong).unwrap();
    net.pump();
    assert!(
        net.events(farm)
            .iter()
            .any(|e| matches!(e, Event::RelayError { code, .. } if code == "EN-222"))
    );
    assert_eq!(net.hub().ledger().account(&account).balance, 0);
    // The same challenge again, now rightly: it was spent on the wrong answer.
    let right = edgenet_core::work::solve(challenge, bits);
    net.endpoint_mut(farm).prove(challenge, right).unwrap();
    net.pump();
    assert_eq!(net.hub().ledger().account(&account).balance, 0);
    net.tick(edgenet_proto::hub::WRONG_PROOF_BACKOFF_MS);
    // The fresh challenge, proved: the canary's reward (times the early-adopter bonus).
    let fresh = net.events(farm).iter().rev().find_map(|e| match e {
        Event::WorkWanted { challenge, bits } => Some((*challenge, *bits)),
        _ => None,
    });
    let (fresh, bits) = fresh.unwrap();
    assert_ne!(fresh, challenge);
    let nonce = edgenet_core::work::solve(fresh, bits);
    net.endpoint_mut(farm).prove(fresh, nonce).unwrap();
    net.pump();
    let reward = 1_000_000 + edgenet_core::ledger::curve::bonus(1_000_000, 0);
    assert_eq!(net.hub().ledger().account(&account).balance, reward);
}

// --- paid submissions: the endpoint writes its own escrow -----------------------------------------

fn no_canaries() -> HubConfig {
    HubConfig {
        canary_reward: 0,
        ..HubConfig::default()
    }
}

fn mint(net: &mut Net, conn: ConnId, amount: u64) {
    use edgenet_core::ledger::{Account, EntryKind, MintReason};
    let to = Account::of(&net.node(conn));
    net.hub()
        .write_ledger(EntryKind::Mint {
            to,
            amount,
            reason: MintReason::Uptime { seconds: 3600 },
        })
        .unwrap();
}

fn account(net: &mut Net, conn: ConnId) -> edgenet_core::ledger::AccountState {
    let of = edgenet_core::ledger::Account::of(&net.node(conn));
    net.hub().ledger().account(&of)
}

/// The entries of `conn`'s own chain it was given to keep (each once, as a store keyed by hash
/// keeps them), by seq.
fn own_entries(net: &Net, conn: ConnId) -> Vec<edgenet_core::ledger::Entry> {
    let me = edgenet_core::ledger::Account::of(&net.node(conn));
    let mut kept: BTreeMap<[u8; 32], edgenet_core::ledger::Entry> = BTreeMap::new();
    for event in net.events(conn) {
        if let Event::Ledger { entries } = event {
            for e in entries.iter().filter(|e| e.body.author == me) {
                kept.insert(e.hash().0, e.clone());
            }
        }
    }
    let mut entries: Vec<_> = kept.into_values().collect();
    entries.sort_by_key(|e| e.body.seq);
    entries
}

#[test]
fn a_paid_submission_escrows_from_the_page_then_pays_the_workers() {
    use edgenet_core::ledger::EntryKind;
    let mut net = Net::with(no_canaries());
    let page = net.join(1, Behaviour::Honest, false);
    for s in 2..=4 {
        net.join(s, Behaviour::Honest, true);
    }
    mint(&mut net, page, 5_000_000);
    let (task, job) = net.submit_paid(page, 3, 3_000_000);
    let done = net.events(page).iter().find_map(|e| match e {
        Event::Done {
            task: t, outcome, ..
        } if *t == task => Some(outcome.clone()),
        _ => None,
    });
    assert_eq!(done.expect("the paid task finished").result, job.run());
    // The escrow is the first entry of the page's chain, kept by the page as well as the relay.
    let mine = own_entries(&net, page);
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].body.seq, 0);
    assert!(
        matches!(mine[0].body.kind, EntryKind::Escrow { task: t, amount: 3_000_000 } if t == task)
    );
    let page_account = account(&mut net, page);
    assert_eq!(
        (
            page_account.balance,
            page_account.escrowed,
            page_account.spent
        ),
        (2_000_000, 0, 3_000_000)
    );
    for s in 2..=4 {
        let worker = account(&mut net, s);
        assert!(worker.balance >= 1_000_000, "worker {s} was paid");
    }
}

#[test]
fn escrows_of_several_paid_submissions_are_written_one_after_another() {
    let mut net = Net::with(no_canaries());
    let page = net.join(1, Behaviour::Honest, false);
    net.join(2, Behaviour::Honest, true);
    mint(&mut net, page, 10_000_000);
    // Submitted together, before any answer: the writer must not give two escrows one seq.
    let now = net.now;
    let endpoint = &mut net.endpoint_mut(page);
    let spec = |i: u8| TaskSpec {
        id: TaskId([i; 16]),
        kind: TaskKind::ENCRYPTION,
        redundancy: 1,
        max_credits: 1_000_000,
        priority: 1,
        timeout_ms: 60_000,
    };
    let payload = Encryption {
        key: [1; 32],
        nonce: [2; 12],
        aad: vec![],
        plaintext: vec![5; 64],
    }
    .encode()
    .unwrap();
    for i in 1..=4 {
        endpoint.submit(spec(i), payload.clone(), now).unwrap();
    }
    net.pump();
    let done = net
        .events(page)
        .iter()
        .filter(|e| matches!(e, Event::Done { .. }))
        .count();
    assert_eq!(done, 4);
    let mine = own_entries(&net, page);
    let seqs: Vec<u64> = mine.iter().map(|e| e.body.seq).collect();
    assert_eq!(seqs, vec![0, 1, 2, 3]);
    let account = account(&mut net, page);
    assert!(!account.frozen);
    assert_eq!((account.balance, account.spent), (6_000_000, 4_000_000));
}

#[test]
fn a_paid_submission_beyond_the_balance_fails_with_en220_and_costs_nothing() {
    let mut net = Net::with(no_canaries());
    let page = net.join(1, Behaviour::Honest, false);
    net.join(2, Behaviour::Honest, true);
    mint(&mut net, page, 500_000);
    let (task, _) = net.submit_paid(page, 1, 2_000_000);
    let failed = net.events(page).iter().find_map(|e| match e {
        Event::Failed { task: t, error } if *t == task => Some(error.clone()),
        _ => None,
    });
    let error = failed.expect("the submission failed");
    // The relay stores only escrows the balance covers: this one is refused at the escrow.
    assert_eq!(error.reported_code(), "EN-220");
    assert!(error.to_string().contains("2000000"), "{error}");
    assert_eq!(net.endpoint(page).open_submissions(), 0);
    let account = account(&mut net, page);
    assert_eq!((account.balance, account.escrowed), (500_000, 0));
    // Nothing ran.
    assert!(
        !net.events(2)
            .iter()
            .any(|e| matches!(e, Event::Execute { .. }))
    );
}

#[test]
fn a_fresh_endpoint_of_the_same_identity_continues_the_chain_instead_of_forking_it() {
    let mut net = Net::with(no_canaries());
    let first = net.join(1, Behaviour::Honest, false);
    net.join(2, Behaviour::Honest, true);
    mint(&mut net, first, 5_000_000);
    net.submit_paid(first, 1, 1_000_000);
    // Another tab (or the same page after a reload, its store lost): a new endpoint with the same
    // key knows nothing of the chain; it must ask the relay, not start again at seq 0.
    let second = ConnId::from(101u8);
    let endpoint = Endpoint::new(
        SecretKey::from_seed(&[1; 32]),
        Role::Browser,
        caps(),
        2,
        false,
        net.now,
    );
    net.connect(
        0,
        second,
        EndpointPeer::new(endpoint, Behaviour::Honest),
        [101; 32],
    );
    let (task, _) = net.submit_paid(second, 1, 1_000_000);
    assert!(
        net.events(second)
            .iter()
            .any(|e| matches!(e, Event::Done { task: t, .. } if *t == task))
    );
    let seqs: Vec<u64> = own_entries(&net, second)
        .iter()
        .map(|e| e.body.seq)
        .collect();
    assert_eq!(
        seqs,
        vec![0, 1],
        "the relay sent seq 0, then the new escrow was seq 1"
    );
    let account = account(&mut net, first);
    assert!(!account.frozen);
    assert_eq!(account.chain_len, 2);
}

#[test]
fn a_relay_that_lost_the_chain_is_sent_it_again_with_the_next_escrow() {
    let mut net = Net::with(no_canaries());
    let page = net.join(1, Behaviour::Honest, false);
    net.join(2, Behaviour::Honest, true);
    mint(&mut net, page, 5_000_000);
    net.submit_paid(page, 1, 1_000_000);
    let kept = own_entries(&net, page);
    assert_eq!(kept.len(), 1);

    // A relay with no memory of it (run without a data folder, restarted): the page comes back
    // with its kept chain and credits minted there, and escrows again.
    let mut net = Net::with(no_canaries());
    let page = ConnId::from(1u8);
    let mut endpoint = Endpoint::new(
        SecretKey::from_seed(&[1; 32]),
        Role::Browser,
        caps(),
        2,
        false,
        net.now,
    );
    endpoint.know_entries(kept);
    net.connect(
        0,
        page,
        EndpointPeer::new(endpoint, Behaviour::Honest),
        [1; 32],
    );
    net.join(2, Behaviour::Honest, true);
    mint(&mut net, page, 5_000_000);
    // The same generator as the first relay's: skip the first task's id (a second escrow for one
    // task would be refused as a duplicate, EN-182).
    let _ = TaskId::random(&mut net.rng);
    let (task, _) = net.submit_paid(page, 1, 1_000_000);
    assert!(
        net.events(page)
            .iter()
            .any(|e| matches!(e, Event::Done { task: t, .. } if *t == task)),
        "{:?}",
        net.events(page)
    );
    let account = account(&mut net, page);
    assert_eq!(
        account.chain_len, 2,
        "seq 0 came back, seq 1 is the new escrow"
    );
    assert!(!account.frozen);
}

#[test]
fn a_connection_lost_during_an_escrow_fails_the_submission_once() {
    let mut net = Net::with(no_canaries());
    let page = net.join(1, Behaviour::Honest, false);
    mint(&mut net, page, 5_000_000);
    let now = net.now;
    let endpoint = &mut net.endpoint_mut(page);
    let spec = TaskSpec {
        id: TaskId([8; 16]),
        kind: TaskKind::ENCRYPTION,
        redundancy: 1,
        max_credits: 1_000_000,
        priority: 1,
        timeout_ms: 60_000,
    };
    endpoint.submit(spec, vec![0; 8], now).unwrap();
    // The Wants is queued, not yet answered.
    endpoint.handle_disconnect();
    let failures: Vec<String> = std::iter::from_fn(|| endpoint.poll_event())
        .filter_map(|e| match e {
            Event::Failed { error, .. } => Some(error.code().to_owned()),
            _ => None,
        })
        .collect();
    assert_eq!(failures, vec!["EN-218"]);
}

// --- property: one identity's escrows across dropped connections and fresh tabs -----------------

#[derive(Debug, Clone)]
enum Step {
    /// A paid submission of this many credits, with at most `frames` frames moved before the
    /// connection drops (`None`: it runs to the end).
    Pay { credits: u64, frames: Option<usize> },
    /// A new tab (or reload) of the same identity, with or without the kept entries.
    NewTab { keeps_store: bool },
    /// Time passes.
    Wait { ms: u64 },
}

fn step() -> impl proptest::strategy::Strategy<Value = Step> {
    use proptest::prelude::*;
    prop_oneof![
        (1u64..=3, proptest::option::of(0usize..12))
            .prop_map(|(credits, frames)| Step::Pay { credits, frames }),
        any::<bool>().prop_map(|keeps_store| Step::NewTab { keeps_store }),
        (1u64..20_000).prop_map(|ms| Step::Wait { ms }),
    ]
}

impl Net {
    /// Moves at most `max` packets; workers run what they are given. Returns the packets moved.
    fn pump_limited(&mut self, max: usize) -> usize {
        self.net.step(max)
    }

    /// Drops the page's connection `old` (with whatever was in flight) and opens a new tab of the
    /// same identity, given the kept entries if `keeps_store`; returns its connection.
    fn new_tab(
        &mut self,
        old: ConnId,
        tabs: &mut u8,
        kept: &mut Vec<edgenet_core::ledger::Entry>,
        keeps_store: bool,
    ) -> ConnId {
        let EndpointPeer {
            mut endpoint,
            events,
            ..
        } = self.net.remove(Addr::new(0, old)).unwrap();
        endpoint.handle_disconnect();
        keep(kept, &events);
        *tabs += 1;
        let conn = ConnId::from(100 + *tabs);
        let mut fresh = Endpoint::new(
            SecretKey::from_seed(&[1; 32]),
            Role::Browser,
            caps(),
            2,
            false,
            self.net.now,
        );
        if keeps_store {
            fresh.know_entries(kept.clone());
        } else {
            kept.clear();
        }
        let peer = EndpointPeer::new(fresh, Behaviour::Honest);
        self.net.connect(0, conn, peer, [100 + *tabs; 32]);
        conn
    }
}

fn keep(kept: &mut Vec<edgenet_core::ledger::Entry>, events: &[Event]) {
    for e in events {
        if let Event::Ledger { entries } = e {
            kept.extend(
                entries
                    .iter()
                    .filter(|e| !kept.contains(e))
                    .cloned()
                    .collect::<Vec<_>>(),
            );
        }
    }
}

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config::with_cases(48))]

    /// Whatever the drops and tabs, an identity that writes its escrows only through endpoints
    /// taking turns never forks its chain, and every credit it had is spent on finished tasks,
    /// back in its balance, or (never, at the end) stuck in an escrow.
    #[test]
    fn escrows_across_drops_and_tabs_never_fork_the_chain_or_lose_credits(
        steps in proptest::collection::vec(step(), 1..14)
    ) {
        let mut net = Net::with(HubConfig {
            escrow_grace_ms: 5_000,
            ..no_canaries()
        });
        let mut page = net.join(1, Behaviour::Honest, false);
        net.join(2, Behaviour::Honest, true);
        mint(&mut net, page, 20_000_000);
        let mut kept: Vec<edgenet_core::ledger::Entry> = Vec::new();
        let mut tabs = 0u8;
        let mut task_seed = 0u8;
        for step in steps {
            match step {
                Step::Pay { credits, frames } => {
                    task_seed += 1;
                    let spec = TaskSpec {
                        id: TaskId([task_seed; 16]),
                        kind: TaskKind::ENCRYPTION,
                        redundancy: 1,
                        max_credits: credits * 1_000_000,
                        priority: 1,
                        timeout_ms: 10_000,
                    };
                    let payload = Encryption { key: [1; 32], nonce: [2; 12], aad: vec![], plaintext: vec![task_seed; 32] };
                    let now = net.now;
                    let endpoint = &mut net.endpoint_mut(page);
                    endpoint.submit(spec, payload.encode().unwrap(), now).unwrap();
                    match frames {
                        None => net.pump(),
                        Some(n) => {
                            net.pump_limited(n);
                            page = net.new_tab(page, &mut tabs, &mut kept, true);
                        }
                    }
                }
                Step::NewTab { keeps_store } => {
                    page = net.new_tab(page, &mut tabs, &mut kept, keeps_store);
                }
                Step::Wait { ms } => net.tick(ms),
            }
            // Entries the current tab is given are kept as they come (as the coordinator does).
            keep(&mut kept, net.events(page));
        }
        // Long enough for every task to end and every stray escrow's grace to pass.
        net.tick(20_000);
        net.tick(20_000);
        let a = account(&mut net, page);
        proptest::prop_assert!(!a.frozen, "the chain forked");
        proptest::prop_assert_eq!(a.escrowed, 0, "credits stuck in an escrow");
        proptest::prop_assert_eq!(a.balance + a.spent, 20_000_000);
        let me = edgenet_core::ledger::Account::of(&net.node(page));
        let held = net.hub().ledger().chain_from(&me, 0).count() as u64;
        proptest::prop_assert_eq!(held, a.chain_len, "no gap, no second entry at a seq");
    }
}

#[test]
fn a_canary_leaves_with_its_worker_and_a_returning_worker_gets_a_fresh_one() {
    let mut net = Net::new();
    let paused = net.join(1, Behaviour::Honest, false);
    net.tick(1_000);
    assert_eq!(net.hub().stats().open_tasks, 1, "its canary waits for it");
    let mut endpoint = net.remove(Addr::new(0, paused)).unwrap().endpoint;
    endpoint.handle_disconnect();
    let stats = net.hub().stats();
    assert_eq!(
        (stats.open_tasks, stats.tasks_failed),
        (0, 0),
        "withdrawn, not failed"
    );
    let now = net.now;
    assert!(net.hub().tasks(now).is_empty());
    net.join(1, Behaviour::Honest, true);
    net.tick(1_000);
    assert_eq!(
        net.hub().stats().tasks_verified,
        1,
        "a new canary, run and checked"
    );
}

#[test]
fn a_relay_that_never_answers_the_handshake_ends_the_connection_at_the_deadline() {
    use edgenet_proto::endpoint::HANDSHAKE_TIMEOUT_MS;
    let mut endpoint = Endpoint::new(
        SecretKey::from_seed(&[1; 32]),
        Role::Native,
        caps(),
        1,
        true,
        500,
    );
    assert_eq!(endpoint.poll_timeout(), Some(500 + HANDSHAKE_TIMEOUT_MS));
    assert_eq!(
        endpoint.handle_timeout(500 + HANDSHAKE_TIMEOUT_MS - 1),
        Ok(())
    );
    let err = endpoint
        .handle_timeout(500 + HANDSHAKE_TIMEOUT_MS)
        .unwrap_err();
    assert_eq!(err.code(), "EN-213");
    assert!(err.is_retryable());
}

#[test]
fn a_submission_the_relay_never_answers_fails_after_its_timeout_and_the_backstop() {
    use edgenet_proto::endpoint::RESULT_BACKSTOP_MS;
    let mut net = Net::new();
    let page = net.join(1, Behaviour::Honest, false);
    assert_eq!(
        net.endpoint(page).poll_timeout(),
        None,
        "ready, nothing open"
    );
    let spec = TaskSpec {
        id: TaskId([5; 16]),
        kind: TaskKind::ENCRYPTION,
        redundancy: 1,
        max_credits: 0,
        priority: 1,
        timeout_ms: 2_000,
    };
    let now = net.now;
    let endpoint = &mut net.endpoint_mut(page);
    endpoint.submit(spec, vec![0; 8], now).unwrap();
    // The relay is silent: the submission's frame never leaves.
    while endpoint.poll_outgoing().is_some() {}
    let due = now + 2_000 + RESULT_BACKSTOP_MS;
    assert_eq!(endpoint.poll_timeout(), Some(due));
    endpoint.handle_timeout(due - 1).unwrap();
    assert!(endpoint.poll_event().is_none());
    endpoint.handle_timeout(due).unwrap();
    match endpoint.poll_event() {
        Some(Event::Failed { task, error }) => {
            assert_eq!(task, TaskId([5; 16]));
            assert_eq!(error.code(), "EN-212");
        }
        other => panic!("expected the submission to fail, got {other:?}"),
    }
    assert_eq!(endpoint.open_submissions(), 0);
    assert_eq!(endpoint.poll_timeout(), None);
}

#[test]
fn only_a_version_mismatch_stops_reconnecting() {
    use edgenet_proto::ProtoError;
    use edgenet_proto::frame::FrameError;
    assert!(!ProtoError::IncompatibleRelay("v9".into()).is_retryable());
    assert!(!ProtoError::Frame(FrameError::UnsupportedVersion { got: 9 }).is_retryable());
    let refused = ProtoError::Remote {
        code: "EN-202".into(),
        message: "unknown protocol version".into(),
    };
    assert!(!refused.is_retryable());
    for retry in [
        ProtoError::ConnectionLost,
        ProtoError::HandshakeTimeout,
        ProtoError::RateLimited { limit: 1 },
        ProtoError::Remote {
            code: "EN-207".into(),
            message: "rate".into(),
        },
    ] {
        assert!(retry.is_retryable(), "{retry}");
    }
}

#[test]
fn claims_the_relay_did_not_take_are_released_so_workers_keep_taking_work() {
    let mut net = Net::new();
    let page = net.join(1, Behaviour::Honest, false);
    let workers: Vec<ConnId> = (2..=4)
        .map(|s| net.join(s, Behaviour::Honest, true))
        .collect();
    let done = |net: &Net, task: TaskId| {
        net.events(page).iter().find_map(|e| match e {
            Event::Done {
                task: t, outcome, ..
            } if *t == task => Some(outcome.clone()),
            _ => None,
        })
    };
    // Four tasks for one worker each: every task is offered to all three, claimed by all three
    // (each keeps two job slots) and taken by one; the other two claims are surplus.
    for _ in 0..4 {
        let (task, _) = net.submit(page, 1);
        assert!(done(&net, task).is_some());
    }
    // No worker is left holding slots for claims that went nowhere: all three take the next task.
    let (task, _) = net.submit(page, 3);
    let outcome = done(&net, task).expect("the task for three workers completes");
    assert_eq!(outcome.agreeing.len(), 3);
    for w in workers {
        assert_eq!(net.endpoint(w).jobs(), 0);
    }
}

#[test]
fn a_chain_longer_than_a_sync_page_is_read_page_by_page_before_the_next_escrow() {
    use edgenet_core::ledger::{Account, Entry, EntryKind, MintReason};
    use edgenet_proto::message::SYNC_PAGE;
    let mut net = Net::new();
    net.join(2, Behaviour::Honest, true);
    net.join(3, Behaviour::Honest, true);
    let key = SecretKey::from_seed(&[1; 32]);
    let me = Account::of(&key.node_id());
    // Credits, and a chain of more than a page already at the relay, written elsewhere.
    let mint = EntryKind::Mint {
        to: me,
        amount: 10_000_000,
        reason: MintReason::Uptime { seconds: 1 },
    };
    net.hub().write_ledger(mint).unwrap();
    let other = Account::of(&SecretKey::from_seed(&[7; 32]).node_id());
    for _ in 0..SYNC_PAGE + 5 {
        let transfer = EntryKind::Transfer {
            to: other,
            amount: 1,
        };
        let body = net.hub().ledger().next_body(me, transfer).unwrap();
        net.hub().ledger().insert(Entry::sign(body, &key)).unwrap();
    }
    // A page of that identity that kept nothing pays for a task: its escrow must come after the
    // whole chain (signing after the first page only would equivocate and freeze the account).
    let page = net.join(1, Behaviour::Honest, false);
    let (task, _) = net.submit_paid(page, 2, 1_000_000);
    assert!(
        net.events(page)
            .iter()
            .any(|e| matches!(e, Event::Done { task: t, .. } if *t == task)),
        "{:?}",
        net.events(page).last()
    );
    let account = net.hub().ledger().account(&me);
    assert_eq!(account.chain_len, SYNC_PAGE as u64 + 6);
    assert!(!account.frozen);
}
