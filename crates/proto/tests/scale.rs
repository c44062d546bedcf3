//! The hub's network-sized operations cost the same with 100,000 peers as with 1,000: choosing
//! whom to offer a task, sending a verdict's entries, and a peer's departure are counted in work
//! (`Hub::effort`), not time, and compared between the two networks.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use edgenet_core::task::TaskKind;
use edgenet_proto::hub::{Effort, HubConfig};
use edgenet_proto::submit::Progress;
use support::net::Network;
use support::search;

mod support;

/// Workers that stay active; every other peer joins, then only stays connected.
const ACTIVE: u32 = 8;

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
    let mut net = Network::new(config, 7);
    let submitter = net.join(u32::MAX, Vec::new());
    let mut workers = Vec::new();
    for i in 0..peers {
        net.now += 1;
        let conn = net.join(i, vec![TaskKind::VECTOR_SEARCH]);
        // Offers go to the peers online longest first: the first joined are the active ones.
        if i < ACTIVE {
            workers.push(conn);
        } else {
            net.mute(conn);
        }
    }
    assert_eq!(net.hub.stats().peers, peers as usize + 1);

    let before = net.hub.effort();
    net.submit(submitter, 1, &search(), 3);
    let offered = net.hub.effort();
    for _ in 0..20 {
        if net.clients[&submitter].ended.is_some() || !net.drive() {
            break;
        }
    }
    let Some(Progress::Done(outcome)) = net.clients[&submitter].ended.clone() else {
        panic!(
            "the task did not finish: {:?}",
            net.clients[&submitter].ended
        )
    };
    assert_eq!(outcome.agreeing.len(), 3);
    let verdict = net.hub.effort();
    net.leave(workers[0]);
    let left = net.hub.effort();
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
