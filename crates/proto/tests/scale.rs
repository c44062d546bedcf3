//! The hub's network-sized operations cost the same with 100,000 peers as with 1,000: choosing
//! whom to offer a task, sending a verdict's entries, and a peer's departure are counted in work
//! (`Hub::effort`), not time, and compared between the two networks.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use edgenet_core::SecretKey;
use edgenet_core::task::{TaskId, TaskKind};
use edgenet_proto::hub::{Effort, Hub, HubConfig};
use edgenet_proto::message::{Capabilities, TaskSpec};
use edgenet_proto::submit::{Progress, Submission};
use edgenet_sim::{Addr, Network};
use rand_chacha::rand_core::Rng;
use support::peers::SessionPeer;
use support::{caps, search};

mod support;

/// Workers that stay active; every other peer joins, then only stays connected.
const ACTIVE: u32 = 8;

/// A client's identity for `i`: distinct seeds for up to 2³² clients.
fn key_of(i: u32) -> SecretKey {
    let mut seed = [0x5a; 32];
    seed[..4].copy_from_slice(&i.to_le_bytes());
    SecretKey::from_seed(&seed)
}

/// Client `i` joins running `kernels` (a worker when it lists any) and completes its handshake.
fn join(net: &mut Network<SessionPeer>, i: u32, kernels: Vec<TaskKind>) -> Addr {
    let relay = net.hub(0).node_id();
    let mut peer = SessionPeer::new(key_of(i), Capabilities { kernels, ..caps() }, relay);
    // A hundred thousand inboxes would only cost memory; none is read here.
    peer.keeps_inbox = false;
    peer.solves_work = false;
    let conn = net.fresh_conn();
    let mut nonce = [0u8; 32];
    net.rng.fill_bytes(&mut nonce);
    net.connect(0, conn, peer, nonce)
}

/// How `submitter`'s submission ended, if it did.
fn ended(net: &Network<SessionPeer>, submitter: Addr) -> Option<Progress> {
    net.peer(submitter).and_then(|p| p.ended.clone())
}

/// What one task's offer, verdict and one worker's departure cost on a network of `peers`.
fn costs(peers: u32) -> (Effort, Effort, Effort, u64) {
    let config = HubConfig {
        // Only the work measured here: no canaries or uptime periods for the joining peers,
        // and short welcome lists (their cost is bounded by this, not by the network).
        canary_reward: 0,
        uptime_bonus: 0,
        max_peers_announced: 4,
        work_bits: 1,
        ..HubConfig::default()
    };
    let mut net = Network::new(7);
    net.add_relay(Hub::new(SecretKey::from_seed(&[0xee; 32]), config));
    let submitter = join(&mut net, u32::MAX, Vec::new());
    let mut workers = Vec::new();
    for i in 0..peers {
        net.now += 1;
        // The active workers run the measured kind. Every other peer runs another kind, so
        // it sits in the same offer index without being picked: offers choose at random among
        // equals, and a silent peer among them would only slow the task down.
        let active = i < ACTIVE;
        let kind = if active {
            TaskKind::VECTOR_SEARCH
        } else {
            TaskKind::ENCRYPTION
        };
        let addr = join(&mut net, i, vec![kind]);
        if active {
            workers.push(addr);
        } else {
            net.mute(addr);
        }
    }
    assert_eq!(net.hub(0).stats().peers, peers as usize + 1);

    let before = net.hub(0).effort();
    let spec = TaskSpec {
        id: TaskId([1; 16]),
        kind: TaskKind::VECTOR_SEARCH,
        redundancy: 3,
        max_credits: 0,
        priority: 0,
        timeout_ms: 60_000,
    };
    let sub = Submission::new(spec, search().encode().unwrap());
    net.peer_mut(submitter).unwrap().submit(sub);
    net.settle();
    let offered = net.hub(0).effort();
    for _ in 0..20 {
        if ended(&net, submitter).is_some() || !net.drive() {
            break;
        }
    }
    let Some(Progress::Done(outcome)) = ended(&net, submitter) else {
        panic!("the task did not finish: {:?}", ended(&net, submitter))
    };
    assert_eq!(outcome.agreeing.len(), 3);
    let verdict = net.hub(0).effort();
    net.remove(workers[0]);
    let left = net.hub(0).effort();
    (
        diff(offered, before),
        diff(verdict, offered),
        diff(left, verdict),
        net.trace(),
    )
}

fn diff(a: Effort, b: Effort) -> Effort {
    Effort {
        offer_entries: a.offer_entries - b.offer_entries,
        verdict_accounts: a.verdict_accounts - b.verdict_accounts,
        leave_tasks: a.leave_tasks - b.leave_tasks,
    }
}

#[test]
fn offer_verdict_and_leave_cost_the_same_at_100_000_peers_as_at_1_000() {
    let (offer_small, verdict_small, leave_small, _) = costs(1_000);
    let (offer_large, verdict_large, leave_large, _) = costs(100_000);
    // A round of offers reads as many index entries as it offers (offers_per_round), whatever
    // the number of capable peers.
    assert!(offer_small.offer_entries > 0);
    assert_eq!(offer_large.offer_entries, offer_small.offer_entries);
    // A verdict's entries go to the accounts they name: its workers, not every peer.
    assert!(verdict_small.verdict_accounts <= 3, "{verdict_small:?}");
    assert_eq!(
        verdict_large.verdict_accounts,
        verdict_small.verdict_accounts
    );
    // A worker that leaves touches the tasks it was part of, not every open task.
    assert_eq!(leave_large.leave_tasks, leave_small.leave_tasks);
    assert!(leave_small.leave_tasks <= 1, "{leave_small:?}");
}

#[test]
fn the_same_seed_gives_the_same_trace() {
    let a = costs(200).3;
    let b = costs(200).3;
    assert_eq!(a, b);
}
