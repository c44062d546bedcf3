//! The network: relays, peers, one clock, one queue.

use std::collections::{BTreeMap, BTreeSet};

use edgenet_core::task::TaskId;
use edgenet_proto::hub::{ConnId, Handled, Hub, Input, NetGroup, Output};
use edgenet_proto::{Millis, ProtoError};
use rand_chacha::rand_core::SeedableRng;

use crate::link::{Fate, Link, Links, Way};
use crate::packet::{Addr, Packet};
use crate::peer::{Context, Peer};
use crate::rng::SimRng;
use crate::trace::Trace;

/// A test's fault: packets it returns true for are lost (counted in [`Network::lost`]).
pub type Fault = Box<dyn FnMut(&Packet) -> bool>;

/// A relay: its hub, and whether it is running.
pub(crate) struct Relay {
    pub(crate) hub: Hub,
    pub(crate) up: bool,
}

/// Relays, their peers, a virtual clock and the queue of packets between them.
pub struct Network<P> {
    /// The virtual clock, in milliseconds.
    pub now: Millis,
    /// The run's one seeded stream: peers draw from it, links draw from it.
    pub rng: SimRng,
    pub(crate) relays: Vec<Relay>,
    peers: BTreeMap<Addr, P>,
    /// Connections whose relay closed them or that left: nothing more reaches them.
    closed: BTreeSet<Addr>,
    next_conn: ConnId,
    /// Packets on their way, by (arrival, sequence): the same time keeps the sending order.
    queue: BTreeMap<(Millis, u64), Packet>,
    sent: u64,
    links: Links,
    /// Peers a test touched or that received something: their frames go out at the next step.
    dirty: BTreeSet<Addr>,
    /// Each open peer's next deadline ([`Peer::poll_timeout`]), read again after every call into
    /// it, so that finding what is due never reads every peer.
    peer_timers: BTreeSet<(Millis, Addr)>,
    timer_of: BTreeMap<Addr, Millis>,
    trace: Trace,
    fault: Option<Fault>,
    lost: u64,
    /// The cluster's task stream: the latest record of each task.
    pub(crate) stream: BTreeMap<TaskId, Vec<u8>>,
    /// What receiving relays refused of what other relays sent: (relay, EN code).
    pub(crate) refused: Vec<(usize, String)>,
}

impl<P: Peer> Network<P> {
    /// An empty network at time 1,000 ms, its randomness from `seed`.
    pub fn new(seed: u64) -> Self {
        Self::with_rng(SimRng::seed_from_u64(seed))
    }

    /// An empty network drawing from `rng`.
    pub fn with_rng(rng: SimRng) -> Self {
        Self {
            now: 1_000,
            rng,
            relays: Vec::new(),
            peers: BTreeMap::new(),
            closed: BTreeSet::new(),
            next_conn: 1,
            queue: BTreeMap::new(),
            sent: 0,
            links: Links::default(),
            dirty: BTreeSet::new(),
            peer_timers: BTreeSet::new(),
            timer_of: BTreeMap::new(),
            trace: Trace::default(),
            fault: None,
            lost: 0,
            stream: BTreeMap::new(),
            refused: Vec::new(),
        }
    }

    /// Adds a running relay; returns its index.
    pub fn add_relay(&mut self, hub: Hub) -> usize {
        self.relays.push(Relay { hub, up: true });
        self.relays.len() - 1
    }

    /// How many relays there are (running or not).
    pub fn relay_count(&self) -> usize {
        self.relays.len()
    }

    /// Relay `relay`'s hub.
    ///
    /// # Panics
    /// When there is no such relay (a test's mistake).
    #[allow(clippy::panic)] // a test harness names its mistakes loudly
    pub fn hub(&self, relay: usize) -> &Hub {
        match self.relays.get(relay) {
            Some(r) => &r.hub,
            None => panic!("no relay {relay}"),
        }
    }

    /// Relay `relay`'s hub, to act on it directly; what it outputs goes out at the next step.
    ///
    /// # Panics
    /// When there is no such relay.
    #[allow(clippy::panic)]
    pub fn hub_mut(&mut self, relay: usize) -> &mut Hub {
        match self.relays.get_mut(relay) {
            Some(r) => &mut r.hub,
            None => panic!("no relay {relay}"),
        }
    }

    /// Whether relay `relay` is running.
    pub fn is_up(&self, relay: usize) -> bool {
        self.relays.get(relay).is_some_and(|r| r.up)
    }

    /// The links: every connection's unless it has its own.
    pub fn set_default_link(&mut self, link: Link) {
        self.links.default = link;
    }

    /// The link of one connection.
    pub fn set_link(&mut self, addr: Addr, link: Link) {
        self.links.per_conn.insert(addr, link);
    }

    /// The link between every two relays.
    pub fn set_cluster_link(&mut self, link: Link) {
        self.links.cluster = link;
    }

    /// A test's fault: every packet it returns true for is lost, from now on.
    pub fn set_fault(&mut self, fault: impl FnMut(&Packet) -> bool + 'static) {
        self.fault = Some(Box::new(fault));
    }

    /// Packets lost so far (to links between relays and to the test's fault).
    pub fn lost(&self) -> u64 {
        self.lost
    }

    /// The hash of every packet delivered so far.
    pub fn trace(&self) -> u64 {
        self.trace.value()
    }

    /// A connection id not used before at any relay.
    pub fn fresh_conn(&mut self) -> ConnId {
        let conn = self.next_conn;
        self.next_conn += 1;
        conn
    }

    /// `peer` connects to `relay` as `conn` (the relay challenges it with `nonce`); runs until
    /// nothing more moves, so a peer that answers the challenge is in when this returns.
    pub fn connect(&mut self, relay: usize, conn: ConnId, peer: P, nonce: [u8; 32]) -> Addr {
        self.connect_from(relay, conn, peer, nonce, None)
    }

    /// [`Network::connect`] from the address block `network` (the relay keeps workers of one
    /// block off the same task).
    pub fn connect_from(
        &mut self,
        relay: usize,
        conn: ConnId,
        peer: P,
        nonce: [u8; 32],
        network: Option<NetGroup>,
    ) -> Addr {
        let addr = Addr::new(relay, conn);
        self.next_conn = self.next_conn.max(conn + 1);
        self.closed.remove(&addr);
        self.links.forget(addr);
        self.peers.insert(addr, peer);
        self.reread_timer(addr);
        let _ = self.input(
            relay,
            Input::Connect {
                conn,
                nonce,
                network,
            },
        );
        self.settle();
        addr
    }

    /// The peer at `addr`, to look at.
    pub fn peer(&self, addr: Addr) -> Option<&P> {
        self.peers.get(&addr)
    }

    /// The peer at `addr`, to act on: whatever it queues goes out at the next step.
    pub fn peer_mut(&mut self, addr: Addr) -> Option<&mut P> {
        self.dirty.insert(addr);
        self.peers.get_mut(&addr)
    }

    /// The peer at `addr` and the run's randomness, to act on both at once (a peer's call
    /// that draws randomness); what it queues goes out at the next step.
    pub fn peer_and_rng(&mut self, addr: Addr) -> Option<(&mut P, &mut SimRng)> {
        self.dirty.insert(addr);
        let peer = self.peers.get_mut(&addr)?;
        Some((peer, &mut self.rng))
    }

    /// Every peer, by address.
    pub fn peers(&self) -> impl Iterator<Item = (Addr, &P)> {
        self.peers.iter().map(|(a, p)| (*a, p))
    }

    /// Whether `addr`'s connection was closed (by its relay, or by leaving).
    pub fn is_closed(&self, addr: Addr) -> bool {
        self.closed.contains(&addr)
    }

    /// The peer at `addr` leaves: its socket closes; the peer stays for the test to look at.
    pub fn disconnect(&mut self, addr: Addr) {
        self.closed.insert(addr);
        self.reread_timer(addr);
        let _ = self.input(addr.relay, Input::Disconnect(addr.conn));
        self.settle();
    }

    /// Forgets the peer at `addr` while its connection stays open at the relay: frames for it
    /// are dropped (what a test does with the thousands of peers it only needs present).
    pub fn mute(&mut self, addr: Addr) -> Option<P> {
        self.dirty.remove(&addr);
        let peer = self.peers.remove(&addr);
        self.reread_timer(addr);
        peer
    }

    /// The peer at `addr` leaves for good: its socket closes, and the peer is handed back.
    pub fn remove(&mut self, addr: Addr) -> Option<P> {
        let peer = self.mute(addr);
        self.disconnect(addr);
        peer
    }

    /// Hands `bytes` to the relay as a frame from `addr` now, past its link, and returns what
    /// the relay said; then runs until nothing more moves.
    pub fn inject(&mut self, addr: Addr, bytes: &[u8]) -> Result<Handled, ProtoError> {
        let result = self.input(
            addr.relay,
            Input::Frame {
                conn: addr.conn,
                bytes,
            },
        );
        self.settle();
        result
    }

    /// Hands `input` to relay `relay` now and queues what it outputs; `EN-` errors come back.
    /// A relay that is down takes nothing.
    pub fn input(&mut self, relay: usize, input: Input<'_>) -> Result<Handled, ProtoError> {
        let now = self.now;
        let Some(r) = self.relays.get_mut(relay).filter(|r| r.up) else {
            return Ok(Handled::Done);
        };
        let handled = r.hub.handle(now, input);
        self.collect(relay);
        handled
    }

    /// Delivers everything due by now, and whatever that causes, until nothing more is due.
    pub fn settle(&mut self) {
        self.step(usize::MAX);
    }

    /// Delivers at most `max` of the packets due by now, and returns how many it delivered
    /// (what a test that cuts a connection with frames in flight needs).
    pub fn step(&mut self, max: usize) -> usize {
        let mut delivered = 0;
        while delivered < max {
            for relay in 0..self.relays.len() {
                self.collect(relay);
            }
            while let Some(addr) = self.dirty.pop_first() {
                self.transmit(addr);
            }
            let Some(entry) = self.queue.first_entry() else {
                break;
            };
            if entry.key().0 > self.now {
                break;
            }
            let packet = entry.remove();
            self.deliver(packet);
            delivered += 1;
        }
        delivered
    }

    /// The earliest time anything is due: a packet's arrival, a relay's or a peer's deadline.
    pub fn next_due(&self) -> Option<Millis> {
        let packet = self.queue.keys().next().map(|k| k.0);
        let relays = self
            .relays
            .iter()
            .filter(|r| r.up)
            .filter_map(|r| r.hub.poll_timeout());
        let peers = self.peer_timers.first().map(|(at, _)| *at);
        packet.into_iter().chain(relays).chain(peers).min()
    }

    /// Runs `ms` of virtual time: every delivery and deadline in between at its own time.
    pub fn advance(&mut self, ms: Millis) {
        let end = self.now + ms;
        self.settle();
        while let Some(at) = self.next_due().filter(|&at| at <= end) {
            self.now = self.now.max(at);
            self.fire_timeouts();
            self.settle();
        }
        self.now = end;
        self.fire_timeouts();
        self.settle();
    }

    /// Leaps `ms` ahead: each running relay handles one timeout at the new time (what a relay
    /// whose timer was late does), then everything due is delivered.
    pub fn jump(&mut self, ms: Millis) {
        self.now += ms;
        for relay in 0..self.relays.len() {
            let _ = self.input(relay, Input::Timeout);
        }
        self.settle();
    }

    /// Leaps to the earliest thing due and handles it (quinn's `Pair::drive`); false when
    /// nothing is due at all.
    pub fn drive(&mut self) -> bool {
        self.settle();
        let Some(at) = self.next_due() else {
            return false;
        };
        self.now = self.now.max(at);
        self.fire_timeouts();
        self.settle();
        true
    }

    /// Every relay and peer whose deadline has come handles it.
    fn fire_timeouts(&mut self) {
        for relay in 0..self.relays.len() {
            let due = self.relays[relay].up
                && self.relays[relay]
                    .hub
                    .poll_timeout()
                    .is_some_and(|t| t <= self.now);
            if due {
                let _ = self.input(relay, Input::Timeout);
            }
        }
        let due: Vec<Addr> = self
            .peer_timers
            .iter()
            .take_while(|(at, _)| *at <= self.now)
            .map(|(_, a)| *a)
            .collect();
        for addr in due {
            let Some(peer) = self.peers.get_mut(&addr) else {
                continue;
            };
            let mut cx = Context {
                now: self.now,
                rng: &mut self.rng,
            };
            peer.handle_timeout(&mut cx);
            self.dirty.insert(addr);
            self.reread_timer(addr);
        }
    }

    /// Reads `addr`'s deadline again after a call into it (none once it is closed or gone).
    fn reread_timer(&mut self, addr: Addr) {
        if let Some(old) = self.timer_of.remove(&addr) {
            self.peer_timers.remove(&(old, addr));
        }
        if self.closed.contains(&addr) {
            return;
        }
        if let Some(at) = self.peers.get(&addr).and_then(Peer::poll_timeout) {
            self.timer_of.insert(addr, at);
            self.peer_timers.insert((at, addr));
        }
    }

    /// Puts a packet on its link.
    pub(crate) fn send(&mut self, packet: Packet) {
        if self.fault.as_mut().is_some_and(|f| f(&packet)) {
            self.lost += 1;
            return;
        }
        let at = match (&packet, packet.addr()) {
            (Packet::ToRelay { .. }, Some(a)) => {
                self.links.on_conn(a, Way::Up, self.now, &mut self.rng)
            }
            (_, Some(a)) => self.links.on_conn(a, Way::Down, self.now, &mut self.rng),
            (_, None) => match self.links.between_relays(self.now, &mut self.rng) {
                Fate::Arrives(at) => at,
                Fate::Lost => {
                    self.lost += 1;
                    return;
                }
            },
        };
        self.sent += 1;
        self.queue.insert((at, self.sent), packet);
    }

    /// Queues what relay `relay` output.
    fn collect(&mut self, relay: usize) {
        loop {
            let Some(out) = self
                .relays
                .get_mut(relay)
                .filter(|r| r.up)
                .and_then(|r| r.hub.poll_output())
            else {
                return;
            };
            match out {
                Output::Send(conn, frame) => self.send(Packet::ToPeer {
                    to: Addr::new(relay, conn),
                    frame,
                }),
                Output::SendEntries(conn, page) => {
                    for frame in page.frames() {
                        self.send(Packet::ToPeer {
                            to: Addr::new(relay, conn),
                            frame,
                        });
                    }
                }
                Output::Close(conn) => self.send(Packet::Close(Addr::new(relay, conn))),
                other => self.collect_cluster(relay, other),
            }
        }
    }

    /// Sends what the peer at `addr` queued.
    fn transmit(&mut self, addr: Addr) {
        if self.closed.contains(&addr) {
            return;
        }
        let mut frames = Vec::new();
        if let Some(peer) = self.peers.get_mut(&addr) {
            let mut cx = Context {
                now: self.now,
                rng: &mut self.rng,
            };
            while let Some(frame) = peer.poll_transmit(&mut cx) {
                frames.push(frame);
            }
        }
        self.reread_timer(addr);
        for frame in frames {
            self.send(Packet::ToRelay { from: addr, frame });
        }
    }

    fn deliver(&mut self, packet: Packet) {
        let (tag, bytes) = packet.fingerprint();
        self.trace.mix(self.now, tag, &bytes);
        match packet {
            Packet::ToPeer { to, frame } => {
                if self.closed.contains(&to) {
                    return;
                }
                if let Some(peer) = self.peers.get_mut(&to) {
                    let mut cx = Context {
                        now: self.now,
                        rng: &mut self.rng,
                    };
                    peer.receive(&frame, &mut cx);
                    self.dirty.insert(to);
                    self.reread_timer(to);
                }
            }
            Packet::ToRelay { from, frame } => {
                if !self.closed.contains(&from) {
                    let _ = self.input(
                        from.relay,
                        Input::Frame {
                            conn: from.conn,
                            bytes: &frame,
                        },
                    );
                }
            }
            Packet::Close(addr) => {
                if !self.closed.insert(addr) {
                    return;
                }
                if let Some(peer) = self.peers.get_mut(&addr) {
                    let mut cx = Context {
                        now: self.now,
                        rng: &mut self.rng,
                    };
                    peer.closed(&mut cx);
                }
                self.reread_timer(addr);
                // The relay's socket task ends, and tells the hub, as the relay's does.
                let _ = self.input(addr.relay, Input::Disconnect(addr.conn));
            }
            other => self.deliver_cluster(other),
        }
    }
}
