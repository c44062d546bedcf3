//! The in-memory network itself: links delay and lose what they should, a connection keeps its
//! order, relays lose what NATS would, and the same seed gives the same trace.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

use edgenet_core::SecretKey;
use edgenet_core::task::{TaskId, TaskKind};
use edgenet_proto::client::ClientSession;
use edgenet_proto::hub::{ConnId, Hub, HubConfig};
use edgenet_proto::message::{Capabilities, ClientMsg, RelayMsg, Role, TaskSpec};
use edgenet_sim::{Addr, Context, Link, Network, Peer};

/// A node that completes its handshake and keeps what it is sent, with an alarm of its own.
struct Client {
    session: ClientSession,
    inbox: Vec<(u64, RelayMsg)>,
    /// When its timer is set for.
    alarm: Option<u64>,
    /// When its timer fired.
    rang: Vec<u64>,
}

impl Peer for Client {
    fn receive(&mut self, frame: &[u8], cx: &mut Context<'_>) {
        self.session.handle_frame(frame).unwrap();
        while let Some(m) = self.session.poll_event() {
            self.inbox.push((cx.now, m));
        }
    }

    fn poll_transmit(&mut self, _cx: &mut Context<'_>) -> Option<Vec<u8>> {
        self.session.poll_outgoing()
    }

    fn poll_timeout(&self) -> Option<u64> {
        self.alarm
    }

    fn handle_timeout(&mut self, cx: &mut Context<'_>) {
        self.rang.push(cx.now);
        self.alarm = None;
    }
}

fn caps() -> Capabilities {
    Capabilities {
        cores: 1,
        memory_mib: 64,
        gpu: None,
        kernels: vec![TaskKind::VECTOR_SEARCH],
        backends: vec![],
    }
}

fn relay(seed: u8, config: HubConfig) -> Hub {
    Hub::new(SecretKey::from_seed(&[seed; 32]), config)
}

fn join(net: &mut Network<Client>, relay: usize, seed: u8) -> Addr {
    let session = ClientSession::new(
        SecretKey::from_seed(&[seed; 32]),
        Role::Native,
        caps(),
        Some(net.hub(relay).node_id()),
    );
    let conn: ConnId = net.fresh_conn();
    let client = Client {
        session,
        inbox: Vec::new(),
        alarm: None,
        rang: Vec::new(),
    };
    net.connect(relay, conn, client, [seed; 32])
}

/// `addr` submits a search for one worker as task `id` (sent at the next step).
fn submit(net: &mut Network<Client>, addr: Addr, id: TaskId) {
    let spec = TaskSpec {
        id,
        kind: TaskKind::VECTOR_SEARCH,
        redundancy: 1,
        max_credits: 0,
        priority: 0,
        timeout_ms: 60_000,
    };
    let client = net.peer_mut(addr).unwrap();
    client.session.send(&ClientMsg::Submit(spec)).unwrap();
}

fn quiet() -> HubConfig {
    HubConfig {
        work_bits: 0,
        canary_reward: 0,
        uptime_bonus: 0,
        ..HubConfig::default()
    }
}

#[test]
fn a_link_delays_each_way_and_the_handshake_takes_its_round_trips() {
    let mut net = Network::new(1);
    net.add_relay(relay(0xee, quiet()));
    net.set_default_link(Link::delay(50));
    let start = net.now;
    let a = join(&mut net, 0, 1);
    // The challenge is on its way: nobody has joined yet.
    assert_eq!(net.hub(0).stats().peers, 0);
    // Challenge down (50 ms), hello up (50 ms): the relay has the peer at 100 ms, not before.
    net.advance(99);
    assert_eq!(net.hub(0).stats().peers, 0);
    net.advance(1);
    assert_eq!(net.hub(0).stats().peers, 1);
    // The welcome comes down 50 ms later.
    net.advance(100);
    let welcomed = net
        .peer(a)
        .unwrap()
        .inbox
        .iter()
        .find_map(|(at, m)| matches!(m, RelayMsg::Welcome { .. }).then_some(*at));
    assert_eq!(welcomed, Some(start + 150));
}

#[test]
fn a_lossy_jittery_connection_delivers_everything_in_order() {
    let mut net = Network::new(2);
    net.add_relay(relay(0xee, quiet()));
    let lossy = Link {
        latency_ms: 20,
        jitter_ms: 80,
        loss_ppm: 300_000,
    };
    net.set_default_link(lossy);
    let a = join(&mut net, 0, 1);
    net.advance(2_000);
    // Thirty submissions, each answered; their answers come back in the order sent (a
    // reordered stream would answer them out of order) and none is lost, however late.
    let ids: Vec<TaskId> = (0..30u8).map(|i| TaskId([i + 1; 16])).collect();
    for id in &ids {
        submit(&mut net, a, *id);
        net.settle();
    }
    net.advance(5_000);
    let accepted: Vec<TaskId> = net
        .peer(a)
        .unwrap()
        .inbox
        .iter()
        .filter_map(|(_, m)| match m {
            RelayMsg::Accepted { task } => Some(*task),
            _ => None,
        })
        .collect();
    assert_eq!(accepted, ids);
    let times: Vec<u64> = net.peer(a).unwrap().inbox.iter().map(|(t, _)| *t).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(net.lost(), 0, "a connection loses nothing");
}

#[test]
fn records_between_relays_are_lost_on_a_lossy_cluster_link_and_counted() {
    let config = HubConfig {
        task_records: true,
        ..quiet()
    };
    let run = |loss_ppm: u32| {
        let mut net: Network<Client> = Network::new(3);
        net.add_relay(relay(0xa0, config.clone()));
        net.add_relay(relay(0xa1, config.clone()));
        net.set_cluster_link(Link {
            latency_ms: 5,
            jitter_ms: 0,
            loss_ppm,
        });
        let a = join(&mut net, 0, 1);
        for i in 0..10u8 {
            submit(&mut net, a, TaskId([i + 1; 16]));
            net.advance(10);
        }
        (net.stream().count(), net.lost())
    };
    assert_eq!(run(0), (10, 0), "every record reached the stream");
    assert_eq!(
        run(1_000_000),
        (0, 10),
        "every record was lost, and counted"
    );
}

/// Twenty peers join over jittery, lossy links; returns the trace.
fn jittery_run(seed: u64) -> u64 {
    let mut net = Network::new(seed);
    net.add_relay(relay(0xee, quiet()));
    net.set_default_link(Link {
        latency_ms: 10,
        jitter_ms: 40,
        loss_ppm: 100_000,
    });
    for s in 1..=20 {
        join(&mut net, 0, s);
        net.advance(7);
    }
    net.advance(1_000);
    assert_eq!(net.hub(0).stats().peers, 20);
    net.trace()
}

#[test]
fn the_same_seed_gives_the_same_trace_and_another_seed_another() {
    assert_eq!(jittery_run(11), jittery_run(11));
    assert_ne!(jittery_run(11), jittery_run(12));
}

#[test]
fn a_peers_own_timer_is_due_like_any_deadline() {
    let mut net = Network::new(4);
    net.add_relay(relay(0xee, quiet()));
    let a = join(&mut net, 0, 1);
    let b = join(&mut net, 0, 2);
    let start = net.now;
    net.peer_mut(a).unwrap().alarm = Some(start + 700);
    net.peer_mut(b).unwrap().alarm = Some(start + 300);
    // Each at its own time, in order; nothing of the relay's comes first.
    net.advance(1_000);
    assert_eq!(net.peer(b).unwrap().rang, [start + 300]);
    assert_eq!(net.peer(a).unwrap().rang, [start + 700]);
    // `drive` leaps to a peer's deadline too; a peer that left has none.
    net.peer_mut(a).unwrap().alarm = Some(net.now + 5_000);
    net.peer_mut(b).unwrap().alarm = Some(net.now + 50);
    net.disconnect(b);
    assert!(net.drive());
    assert_eq!(net.now, start + 1_000 + 5_000);
    assert_eq!(net.peer(a).unwrap().rang.len(), 2);
    assert_eq!(
        net.peer(b).unwrap().rang.len(),
        1,
        "a closed peer's timer never fires"
    );
}
